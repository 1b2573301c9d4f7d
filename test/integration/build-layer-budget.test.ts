import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fakeElf } from '../helpers/fake-elf.js';
import {
  FIXTURE_APP_LINES,
  FIXTURE_CERTS,
  FIXTURE_INSTALLED,
  FIXTURE_OS_RELEASE,
  makeFixtureDistro,
  writeFixtureProject,
  type FixtureProject,
} from '../helpers/fixture-distro.js';
import type { Repo } from '../helpers/make-repo.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';
import { unpackImage } from '../helpers/rootfs.js';
import { type AlbaRun, explainRun, runAlba } from '../helpers/run-alba.js';
import { requireTool } from '../helpers/tools.js';

// `max-layers: 4` over the fixture distro (six packages, plus the base-files and user-files
// layers) makes the build group packages: the package budget is 4 − 2 = 2 layers, one for the
// two `Architecture: all` packages and one for the four per-arch ones (see src/build/layer-plan.ts).
// The compiled CLI runs it (run `tsc -p .` first); oci-image-tool and umoci check the result.

const TAG = 'budget';
const ARCHS = ['amd64', 'arm64'] as const;
const PLATFORM_REFS: Record<string, string> = { amd64: `${TAG}-linux-amd64`, arm64: `${TAG}-linux-arm64-v8` };
const REF_NAME = 'org.opencontainers.image.ref.name';
const MAX_LAYERS = 4;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string };
  annotations?: Record<string, string>;
}
interface Manifest {
  layers: Descriptor[];
  config: Descriptor;
}
interface Config {
  rootfs: { diff_ids: string[] };
  history: { created_by: string }[];
}
interface SpdxPackage {
  name: string;
  versionInfo?: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  externalRefs?: { referenceLocator: string }[];
}

const work = await mkdtemp(join(tmpdir(), 'alba-layer-budget-'));
let repo: Repo;
let server: RepoServer;
let project: FixtureProject;
let build: AlbaRun;
const layout = join(work, 'out');
const images = new Map<string, { manifest: Manifest; config: Config }>();

before(async () => {
  repo = await makeFixtureDistro(join(work, 'repo'));
  server = await serveDir(repo.dir);
  project = await writeFixtureProject(join(work, 'project'), {
    url: server.url,
    keyring: repo.keyringPath,
    tag: TAG,
    extra: [...FIXTURE_APP_LINES, `max-layers: ${MAX_LAYERS}`],
  });
  const lock = await runAlba(['lock', project.recipe, '--cache', join(work, 'cache')]);
  assert.equal(lock.status, 0, explainRun(lock));
  build = await runAlba(['build', project.recipe, '--cache', join(work, 'cache'), '--out', layout, '--json']);
  assert.equal(build.status, 0, explainRun(build));
  const layoutIndex = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const top = layoutIndex.manifests.find((d) => d.annotations?.[REF_NAME] === TAG);
  assert.ok(top !== undefined, `index.json has no ref ${TAG}`);
  const index = await blobJson<{ manifests: Descriptor[] }>(top.digest);
  for (const d of index.manifests) {
    const manifest = await blobJson<Manifest>(d.digest);
    images.set(d.platform?.architecture ?? d.digest, { manifest, config: await blobJson<Config>(manifest.config.digest) });
  }
});
after(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

async function blobJson<T>(digest: string): Promise<T> {
  return JSON.parse(await readFile(join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, '')), 'utf8')) as T;
}

function imageOf(arch: string): { manifest: Manifest; config: Config } {
  const found = images.get(arch);
  assert.ok(found !== undefined, `the index has no ${arch} image`);
  return found;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const named = (names: string[]): string => `alba: ${names.map((n) => `${n} ${FIXTURE_INSTALLED[n]!.version}`).join(', ')}`;
const allPackages = Object.keys(FIXTURE_INSTALLED)
  .filter((n) => FIXTURE_INSTALLED[n]!.arch === 'all')
  .sort();
const archPackages = Object.keys(FIXTURE_INSTALLED)
  .filter((n) => FIXTURE_INSTALLED[n]!.arch !== 'all')
  .sort();

describe(`alba build with max-layers: ${MAX_LAYERS}`, () => {
  test('each manifest has at most max-layers layers: the packages in two groups, base files, user files', () => {
    assert.deepEqual([...images.keys()], [...ARCHS]);
    for (const arch of ARCHS) {
      const { manifest, config } = imageOf(arch);
      assert.ok(manifest.layers.length <= MAX_LAYERS, `${arch}: ${manifest.layers.length} layers`);
      assert.equal(config.rootfs.diff_ids.length, manifest.layers.length);
      assert.deepEqual(
        config.history.map((h) => h.created_by),
        [
          named(archPackages),
          named(allPackages),
          'alba: base files (passwd, group, nsswitch.conf, tmp, homes, CA bundle)',
          'alba: files /usr/bin/app',
        ],
      );
    }
  });

  test('the Architecture: all group is one layer shared by both images; the per-arch group differs', () => {
    const [amd64, arm64] = ARCHS.map((arch) => imageOf(arch));
    assert.deepEqual(amd64!.manifest.layers[1], arm64!.manifest.layers[1]);
    assert.equal(amd64!.config.rootfs.diff_ids[1], arm64!.config.rootfs.diff_ids[1]);
    assert.notEqual(amd64!.manifest.layers[0]!.digest, arm64!.manifest.layers[0]!.digest);
  });

  test('oci-image-tool validates the layout', (t) => {
    if (!requireTool('oci-image-tool', t)) return;
    const run = spawnSync('oci-image-tool', ['validate', '--type', 'image', layout], { encoding: 'utf8' });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout + run.stderr, /Validation succeeded/);
  });

  for (const arch of ARCHS) {
    test(`umoci unpacks ${PLATFORM_REFS[arch]}: every package's status.d entries and files are there`, async (t) => {
      if (!requireTool('umoci', t)) return;
      const { rootfs } = await unpackImage(layout, PLATFORM_REFS[arch]!, join(work, `bundle-${arch}`));
      const statusDir = join(rootfs, 'var/lib/dpkg/status.d');
      assert.deepEqual(
        (await readdir(statusDir)).sort(),
        Object.keys(FIXTURE_INSTALLED)
          .flatMap((n) => [n, `${n}.md5sums`])
          .sort(),
      );
      for (const [name, p] of Object.entries(FIXTURE_INSTALLED)) {
        const stanza = await readFile(join(statusDir, name), 'utf8');
        assert.match(stanza, new RegExp(`^Package: ${name}\\nStatus: install ok installed\\n`));
        assert.match(stanza, new RegExp(`^Version: ${p.version.replace(/[+.]/g, '\\$&')}$`, 'm'));
        assert.match(stanza, new RegExp(`^Architecture: ${p.arch === 'all' ? 'all' : arch}$`, 'm'));
      }
      const triplet = arch === 'amd64' ? 'x86_64-linux-gnu' : 'aarch64-linux-gnu';
      assert.deepEqual(await readFile(join(rootfs, 'usr/lib', triplet, 'libc.so.6')), fakeElf(arch, 'libc.so.6'));
      assert.deepEqual(await readFile(join(rootfs, 'usr/lib', triplet, 'libgcc_s.so.1')), fakeElf(arch, 'libgcc_s'));
      assert.ok((await stat(join(rootfs, 'usr/share/doc/gcc-12-base/README.Debian'))).isFile());
      assert.equal(await readlink(join(rootfs, 'etc/os-release')), '../usr/lib/os-release');
      assert.equal(await readFile(join(rootfs, 'etc/os-release'), 'utf8'), FIXTURE_OS_RELEASE);
      const [zone, link] = [await stat(join(rootfs, 'usr/share/zoneinfo/UTC')), await stat(join(rootfs, 'usr/share/zoneinfo/Etc/UTC'))];
      assert.equal(link.ino, zone.ino, 'Etc/UTC is a hard link to UTC');
      assert.ok(
        (await stat(join(rootfs, 'usr/share/doc/ca-certificates/copyright'))).isFile(),
        'ca-certificates: bundle keeps the copyright',
      );
      const bundle = Object.keys(FIXTURE_CERTS)
        .sort()
        .map((name) => FIXTURE_CERTS[name])
        .join('');
      assert.equal(await readFile(join(rootfs, 'etc/ssl/certs/ca-certificates.crt'), 'utf8'), bundle);
      assert.equal((await lstat(join(rootfs, 'usr/bin/app'))).mode & 0o7777, 0o755);
      assert.deepEqual(await readFile(join(rootfs, 'usr/bin/app')), fakeElf(arch, `app for ${arch}\n`));
    });

    test(`${arch}: the SBOM lists every package with the checksum of its .deb`, async () => {
      const doc = JSON.parse(await readFile(join(layout, 'sbom', `${arch}.spdx.json`), 'utf8')) as { packages: SpdxPackage[] };
      const debs = doc.packages.filter((p) => p.externalRefs?.some((r) => r.referenceLocator.startsWith('pkg:deb/')));
      assert.deepEqual(
        debs.map((p) => `${p.name} ${p.versionInfo}`).sort(),
        Object.entries(FIXTURE_INSTALLED)
          .map(([n, p]) => `${n} ${p.version}`)
          .sort(),
      );
      for (const p of debs) {
        const debArch = FIXTURE_INSTALLED[p.name]!.arch === 'all' ? 'all' : arch;
        const deb = repo.debs.find((d) => d.name === p.name && d.architecture === debArch);
        assert.ok(deb !== undefined, `${p.name} ${debArch} is not in the fixture`);
        assert.deepEqual(p.checksums, [{ algorithm: 'SHA256', checksumValue: sha256(await readFile(join(repo.dir, deb.filename))) }]);
      }
    });
  }

  test('group layers are cached by their .debs: a rebuild from the same cache, and one from a fresh cache, give the same index', async () => {
    const records = await readdir(join(work, 'cache', 'layers'));
    assert.equal(
      records.filter((r) => r.startsWith('group-')).length,
      3,
      `one record per group layer (two per-arch groups, one all group): ${records.join(' ')}`,
    );
    const first = JSON.parse(build.stdout) as { index: { digest: string } };
    for (const cache of ['cache', 'cache-fresh']) {
      const again = await runAlba(['build', project.recipe, '--cache', join(work, cache), '--out', join(work, `out-${cache}`), '--json']);
      assert.equal(again.status, 0, explainRun(again));
      assert.equal((JSON.parse(again.stdout) as { index: { digest: string } }).index.digest, first.index.digest, cache);
    }
  });
});
