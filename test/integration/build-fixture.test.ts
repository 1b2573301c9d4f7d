import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fakeElf } from '../helpers/fake-elf.js';
import {
  FIXTURE_CERTS,
  FIXTURE_INSTALLED,
  FIXTURE_OS_RELEASE,
  writeFixtureProject,
  makeFixtureDistro,
  type FixtureProject,
} from '../helpers/fixture-distro.js';
import { OciSchema, validateOci } from '../helpers/oci-schemas.js';
import { repoRoot } from '../helpers/repo-root.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';
import { type AlbaRun, explainRun, runAlba } from '../helpers/run-alba.js';
import { ownersCheckable } from '../helpers/rootfs.js';
import { requireTool } from '../helpers/tools.js';
import { schemasAvailable } from '../helpers/schemas.js';

// End-to-end test of `alba lock` + `alba build` as a user runs them (the compiled CLI: run
// `tsc -p .` first) over the fixture distro served on 127.0.0.1. Third-party tools check the
// result: oci-image-tool, umoci, skopeo. The fixture build is compared with golden files in
// snapshots/; run with UPDATE_SNAPSHOTS=1 to rewrite them after an intended change.

const TAG = '1.0';
const ARCHS = ['amd64', 'arm64'] as const;
const PLATFORM_REFS: Record<string, string> = { amd64: `${TAG}-linux-amd64`, arm64: `${TAG}-linux-arm64-v8` };
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const REF_NAME = 'org.opencontainers.image.ref.name';
/** The fixture server's URL (random port) is replaced by this in snapshots. */
const REPO_PLACEHOLDER = 'http://fixture-repo.invalid';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}
interface Manifest {
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}
interface Index {
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}
interface Config {
  architecture: string;
  os: string;
  variant?: string;
  created: string;
  config: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    WorkingDir?: string;
    Labels?: Record<string, string>;
    StopSignal?: string;
  };
  rootfs: { type: string; diff_ids: string[] };
  history: { created: string; created_by: string }[];
}
interface BuildJson {
  index: { digest: string; size: number };
  manifests: { platform: string; digest: string; size: number }[];
  layout: string;
}
/** A layout read back: index.json, the image index and each platform's manifest and config. */
interface ReadImage {
  layoutIndex: Index;
  index: Index;
  indexDigest: string;
  images: Map<string, { descriptor: Descriptor; manifest: Manifest; config: Config }>;
}

const work = await mkdtemp(join(tmpdir(), 'alba-build-fixture-'));
let server: RepoServer;
let project: FixtureProject;
let build: AlbaRun;
let layout: string;
let image: ReadImage;
before(async () => {
  const repo = await makeFixtureDistro(join(work, 'repo'));
  server = await serveDir(repo.dir);
  project = await writeFixtureProject(join(work, 'project'), {
    url: server.url,
    keyring: repo.keyringPath,
    name: 'test/fixture-app',
    tag: TAG,
  });
  const lock = await runAlba(['lock', project.recipe, '--cache', join(work, 'cache-lock')]);
  assert.equal(lock.status, 0, explainRun(lock));
  layout = join(work, 'out');
  build = await runAlba(['build', project.recipe, '--cache', join(work, 'cache-1'), '--out', layout, '--json']);
  assert.equal(build.status, 0, explainRun(build));
  image = await readImage(layout);
});
after(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

function blobPath(dir: string, digest: string): string {
  return join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
}

async function blobJson<T>(dir: string, digest: string): Promise<T> {
  return JSON.parse(await readFile(blobPath(dir, digest), 'utf8')) as T;
}

async function readImage(dir: string): Promise<ReadImage> {
  const layoutIndex = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as Index;
  const top = layoutIndex.manifests.find((d) => d.annotations?.[REF_NAME] === TAG);
  assert.ok(top !== undefined, `index.json has no ref ${TAG}`);
  const index = await blobJson<Index>(dir, top.digest);
  const images = new Map<string, { descriptor: Descriptor; manifest: Manifest; config: Config }>();
  for (const descriptor of index.manifests) {
    const manifest = await blobJson<Manifest>(dir, descriptor.digest);
    const config = await blobJson<Config>(dir, manifest.config.digest);
    images.set(descriptor.platform?.architecture ?? descriptor.digest, { descriptor, manifest, config });
  }
  return { layoutIndex, index, indexDigest: top.digest, images };
}

function imageOf(arch: string): { descriptor: Descriptor; manifest: Manifest; config: Config } {
  const found = image.images.get(arch);
  assert.ok(found !== undefined, `the index has no ${arch} image`);
  return found;
}

/** Every blob reachable from the image index (the index, manifests, configs, layers). */
function reachableBlobs(read: ReadImage): Set<string> {
  const out = new Set<string>([read.indexDigest]);
  for (const { descriptor, manifest } of read.images.values()) {
    out.add(descriptor.digest);
    out.add(manifest.config.digest);
    for (const l of manifest.layers) out.add(l.digest);
  }
  return out;
}

async function blobDigests(dir: string): Promise<Set<string>> {
  return new Set((await readdir(join(dir, 'blobs', 'sha256'))).map((name) => `sha256:${name}`));
}

/** The layer whose history entry is `alba: <package> <version>`. */
function packageLayer(arch: string, pkg: string): Descriptor {
  const { manifest, config } = imageOf(arch);
  const i = config.history.findIndex((h) => h.created_by.startsWith(`alba: ${pkg} `));
  assert.notEqual(i, -1, `${arch}: no history entry for ${pkg}`);
  return manifest.layers[i] as Descriptor;
}

describe('alba build of the fixture distro', () => {
  test('--json prints the index, one manifest per platform and the layout', () => {
    const out = JSON.parse(build.stdout) as BuildJson;
    assert.deepEqual(
      Object.keys(out).filter((k) => k !== 'timings'),
      ['index', 'manifests', 'layout'],
    );
    assert.match(out.index.digest, /^sha256:[a-f0-9]{64}$/);
    assert.equal(out.index.digest, image.indexDigest);
    assert.equal(out.index.size, (image.layoutIndex.manifests.find((d) => d.digest === out.index.digest) as Descriptor).size);
    assert.equal(out.layout, layout);
    assert.deepEqual(
      out.manifests.map((m) => m.platform),
      [...ARCHS],
    );
    for (const m of out.manifests) {
      assert.equal(m.digest, imageOf(m.platform).descriptor.digest);
      assert.equal(m.size, imageOf(m.platform).descriptor.size);
    }
  });

  test('oci-image-tool validates the layout', (t) => {
    if (!requireTool('oci-image-tool', t)) return;
    const run = spawnSync('oci-image-tool', ['validate', '--type', 'image', layout], { encoding: 'utf8' });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout + run.stderr, /Validation succeeded/);
  });

  test('oci-layout, index.json, the index, manifests and configs match the OCI schemas', async (t) => {
    if (schemasAvailable(t))
      assert.deepEqual(validateOci(OciSchema.layout, JSON.parse(await readFile(join(layout, 'oci-layout'), 'utf8'))), []);
    if (schemasAvailable(t)) assert.deepEqual(validateOci(OciSchema.index, image.layoutIndex), []);
    if (schemasAvailable(t)) assert.deepEqual(validateOci(OciSchema.index, image.index), []);
    for (const [arch, { manifest, config }] of image.images) {
      if (schemasAvailable(t)) assert.deepEqual(validateOci(OciSchema.manifest, manifest), [], `${arch} manifest`);
      if (schemasAvailable(t)) assert.deepEqual(validateOci(OciSchema.config, config), [], `${arch} config`);
    }
  });

  test('every stored blob has the digest and size its descriptor says', async () => {
    const descriptors = [
      ...image.layoutIndex.manifests,
      ...[...image.images.values()].flatMap((i) => [i.descriptor, i.manifest.config, ...i.manifest.layers]),
    ];
    for (const d of descriptors) {
      const info = await stat(blobPath(layout, d.digest));
      assert.equal(info.size, d.size, d.digest);
    }
    const check = spawnSync('sh', ['-c', 'for f in *; do [ "$(sha256sum "$f" | cut -d" " -f1)" = "$f" ] || echo "$f"; done'], {
      cwd: join(layout, 'blobs', 'sha256'),
      encoding: 'utf8',
    });
    assert.equal(check.stdout, '', 'blobs whose content does not hash to their name');
  });

  test('index.json names the index <tag> and each manifest <tag>-<os>-<arch>[-<variant>]', () => {
    const refs = image.layoutIndex.manifests.map((d) => [d.annotations?.[REF_NAME], d.mediaType, d.digest]);
    assert.deepEqual(refs, [
      [TAG, INDEX, image.indexDigest],
      [PLATFORM_REFS['amd64'], MANIFEST, imageOf('amd64').descriptor.digest],
      [PLATFORM_REFS['arm64'], MANIFEST, imageOf('arm64').descriptor.digest],
    ]);
    assert.deepEqual(
      image.index.manifests.map((d) => d.platform),
      [
        { architecture: 'amd64', os: 'linux' },
        { architecture: 'arm64', os: 'linux', variant: 'v8' },
      ],
    );
    assert.equal(image.index.annotations?.['org.opencontainers.image.description'], 'alba fixture application');
    assert.equal(image.index.annotations?.['org.opencontainers.image.created'], '2024-05-20T00:00:00Z');
  });

  test('configs carry the platform, user, env, entrypoint, labels and one history entry per layer', () => {
    for (const arch of ARCHS) {
      const { manifest, config } = imageOf(arch);
      assert.equal(config.architecture, arch);
      assert.equal(config.os, 'linux');
      assert.equal(config.variant, arch === 'arm64' ? 'v8' : undefined);
      assert.equal(config.created, '2024-05-20T00:00:00Z');
      assert.equal(config.config.User, '65532:65532');
      assert.deepEqual(config.config.Env, [
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
        'APP_MODE=production',
      ]);
      assert.deepEqual(config.config.Entrypoint, ['/usr/bin/app']);
      assert.deepEqual(config.config.Cmd, ['--serve']);
      assert.equal(config.config.WorkingDir, '/home/nonroot');
      assert.deepEqual(config.config.Labels, { 'org.opencontainers.image.source': 'https://example.org/fixture-app' });
      assert.equal(config.config.StopSignal, 'SIGTERM');
      assert.equal(config.rootfs.type, 'layers');
      assert.equal(config.rootfs.diff_ids.length, manifest.layers.length);
      assert.deepEqual(
        config.history.map((h) => h.created_by),
        [
          ...Object.entries(FIXTURE_INSTALLED).map(([name, p]) => `alba: ${name} ${p.version}`),
          'alba: base files (passwd, group, nsswitch.conf, tmp, homes, CA bundle)',
          'alba: files /usr/bin/app',
        ],
      );
      assert.equal(manifest.annotations?.['org.opencontainers.image.description'], 'alba fixture application');
    }
  });

  test('an Architecture: all package is one layer shared by both images; per-arch packages differ', async () => {
    for (const [name, p] of Object.entries(FIXTURE_INSTALLED)) {
      const [amd, arm] = [packageLayer('amd64', name), packageLayer('arm64', name)];
      if (p.arch === 'all') assert.deepEqual(amd, arm, `${name} layer`);
      else assert.notEqual(amd.digest, arm.digest, `${name} layer`);
    }
    const sbomBlobs = 13; // 3 SPDX and 3 CycloneDX documents, their 6 referrer manifests, the empty config `{}`
    assert.equal((await blobDigests(layout)).size, reachableBlobs(image).size + sbomBlobs, 'blobs stored beyond the image graph and SBOMs');
  });

  for (const arch of ARCHS) {
    test(`umoci unpacks ${PLATFORM_REFS[arch]} into the expected root filesystem`, async (t) => {
      if (!requireTool('umoci', t)) return;
      const asRoot = process.getuid?.() === 0;
      const bundle = join(work, `bundle-${arch}`);
      const run = spawnSync('umoci', ['unpack', ...(asRoot ? [] : ['--rootless']), '--image', `${layout}:${PLATFORM_REFS[arch]}`, bundle], {
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, run.stderr);
      const root = join(bundle, 'rootfs');
      const mode = async (path: string): Promise<number> => (await lstat(join(root, path))).mode & 0o7777;

      assert.equal(await mode('tmp'), 0o1777);
      assert.equal(await mode('root'), 0o700);
      assert.equal(await mode('home/nonroot'), 0o700);
      assert.equal(await mode('usr/bin/app'), 0o755);
      assert.deepEqual(await readFile(join(root, 'usr/bin/app')), fakeElf(arch, `app for ${arch}\n`));
      if (ownersCheckable(t)) {
        const home = await lstat(join(root, 'home/nonroot'));
        assert.deepEqual([home.uid, home.gid], [65532, 65532]);
        const app = await lstat(join(root, 'usr/bin/app'));
        assert.deepEqual([app.uid, app.gid], [0, 0]);
      }

      // the accounts of distroless, in its order
      assert.equal(
        await readFile(join(root, 'etc/passwd'), 'utf8'),
        'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
      );
      assert.equal(
        await readFile(join(root, 'etc/group'), 'utf8'),
        'root:x:0:\ntty:x:5:\nstaff:x:50:\nnobody:x:65534:\nnonroot:x:65532:\n',
      );

      // ca-certificates: the assembled bundle and the copyright, as distroless; the dpkg record says only what is there
      const bundleText = Object.keys(FIXTURE_CERTS)
        .sort()
        .map((name) => FIXTURE_CERTS[name])
        .join('');
      assert.equal(await readFile(join(root, 'etc/ssl/certs/ca-certificates.crt'), 'utf8'), bundleText);
      await assert.rejects(stat(join(root, 'usr/share/ca-certificates')), 'the single .crt files are not in the image');
      assert.ok((await stat(join(root, 'usr/share/doc/ca-certificates/copyright'))).isFile());
      assert.deepEqual(
        (await readFile(join(root, 'var/lib/dpkg/status.d/ca-certificates.md5sums'), 'utf8'))
          .trim()
          .split('\n')
          .map((l) => l.split(/\s+/)[1]),
        ['usr/share/doc/ca-certificates/copyright'],
      );

      assert.equal(await readlink(join(root, 'etc/os-release')), '../usr/lib/os-release');
      assert.equal(await readFile(join(root, 'etc/os-release'), 'utf8'), FIXTURE_OS_RELEASE);
      const triplet = arch === 'amd64' ? 'x86_64-linux-gnu' : 'aarch64-linux-gnu';
      assert.deepEqual(await readFile(join(root, 'usr/lib', triplet, 'libc.so.6')), fakeElf(arch, 'libc.so.6'));
      const [zone, link] = [await stat(join(root, 'usr/share/zoneinfo/UTC')), await stat(join(root, 'usr/share/zoneinfo/Etc/UTC'))];
      assert.equal(link.ino, zone.ino, 'Etc/UTC is a hard link to UTC');

      const statusDir = join(root, 'var/lib/dpkg/status.d');
      const expected = Object.keys(FIXTURE_INSTALLED)
        .flatMap((name) => [name, `${name}.md5sums`])
        .sort();
      assert.deepEqual((await readdir(statusDir)).sort(), expected);
      for (const [name, p] of Object.entries(FIXTURE_INSTALLED)) {
        const stanza = await readFile(join(statusDir, name), 'utf8');
        assert.match(stanza, new RegExp(`^Package: ${name}\\nStatus: install ok installed\\n`));
        assert.match(stanza, new RegExp(`^Version: ${p.version.replace(/[+.]/g, '\\$&')}$`, 'm'));
        assert.match(stanza, new RegExp(`^Architecture: ${p.arch === 'all' ? 'all' : arch}$`, 'm'));
        assert.match(await readFile(join(statusDir, `${name}.md5sums`), 'utf8'), /^[a-f0-9]{32} {2}\S/);
      }
    });
  }

  test('skopeo copies the multi-arch image to another layout with the same digests', async (t) => {
    if (!requireTool('skopeo', t)) return;
    const help = spawnSync('skopeo', ['copy', '--help'], { encoding: 'utf8' }).stdout;
    const other = join(work, 'skopeo-copy');
    const run = spawnSync(
      'skopeo',
      [
        'copy',
        '--all',
        ...(help.includes('--preserve-digests') ? ['--preserve-digests'] : []),
        `oci:${layout}:${TAG}`,
        `oci:${other}:${TAG}`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    const copied = await readImage(other);
    assert.equal(copied.indexDigest, image.indexDigest);
    assert.deepEqual([...(await blobDigests(other))].sort(), [...reachableBlobs(image)].sort());
  });

  test('a rebuild from a fresh cache with another TZ and umask gives the same digests and SBOM bytes', async () => {
    const out2 = join(work, 'out-2');
    const again = await runAlba(['build', project.recipe, '--cache', join(work, 'cache-2'), '--out', out2, '--json'], {
      env: { TZ: 'Asia/Kolkata' },
      umask: '077',
    });
    assert.equal(again.status, 0, explainRun(again));
    const first = JSON.parse(build.stdout) as BuildJson;
    const second = JSON.parse(again.stdout) as BuildJson;
    assert.deepEqual(second.index, first.index);
    assert.deepEqual(second.manifests, first.manifests);
    assert.deepEqual(await readFile(join(out2, 'index.json')), await readFile(join(layout, 'index.json')));
    const names = (await readdir(join(layout, 'sbom'))).sort();
    assert.deepEqual(names, [
      'amd64.cdx.json',
      'amd64.spdx.json',
      'arm64.cdx.json',
      'arm64.spdx.json',
      'index.cdx.json',
      'index.spdx.json',
    ]);
    assert.deepEqual((await readdir(join(out2, 'sbom'))).sort(), names);
    for (const name of names)
      assert.ok((await readFile(join(out2, 'sbom', name))).equals(await readFile(join(layout, 'sbom', name))), name);
    assert.deepEqual(await blobDigests(out2), await blobDigests(layout));
  });

  test('the build matches the golden files in snapshots/', async (t) => {
    const summary = {
      index: image.indexDigest,
      images: Object.fromEntries(
        ARCHS.map((arch) => {
          const { descriptor, manifest, config } = imageOf(arch);
          return [
            arch,
            {
              manifest: descriptor.digest,
              config: manifest.config.digest,
              layers: manifest.layers.map((l, i) => ({
                createdBy: config.history[i]?.created_by,
                digest: l.digest,
                diffId: config.rootfs.diff_ids[i],
              })),
            },
          ];
        }),
      ),
    };
    const amd64 = imageOf('amd64');
    const sbom = (await readFile(join(layout, 'sbom', 'amd64.spdx.json'), 'utf8')).replaceAll(server.url, REPO_PLACEHOLDER);
    const cdx = (await readFile(join(layout, 'sbom', 'amd64.cdx.json'), 'utf8')).replaceAll(server.url, REPO_PLACEHOLDER);
    const snapshots: [string, string][] = [
      ['fixture-build.json', pretty(summary)],
      ['fixture-index.json', pretty(image.index)],
      ['fixture-manifest-amd64.json', pretty(amd64.manifest)],
      ['fixture-config-amd64.json', pretty(amd64.config)],
      ['fixture-sbom-amd64.spdx.json', sbom],
      ['fixture-sbom-amd64.cdx.json', cdx],
    ];
    const dir = join(repoRoot(), 'snapshots');
    if (process.env.UPDATE_SNAPSHOTS === '1') {
      await mkdir(dir, { recursive: true });
      for (const [name, text] of snapshots) await writeFile(join(dir, name), text);
      t.diagnostic(`UPDATE_SNAPSHOTS=1: rewrote ${snapshots.map(([name]) => `snapshots/${name}`).join(', ')}`);
      return;
    }
    for (const [name, text] of snapshots) {
      const golden = await readFile(join(dir, name), 'utf8').catch(() => undefined);
      assert.ok(golden !== undefined, `snapshots/${name} is missing: run the test with UPDATE_SNAPSHOTS=1 to write it`);
      assert.equal(
        text,
        golden,
        `the fixture build drifted from snapshots/${name}; if the change is intended, rerun with UPDATE_SNAPSHOTS=1 and review the diff`,
      );
    }
  });
});

function pretty(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
