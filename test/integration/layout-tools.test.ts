import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findArch, type TargetArch } from '../../src/debian/arch.js';
import { buildBaseLayer } from '../../src/layer/base-layer.js';
import { caBundle, isCaCertificatePath } from '../../src/layer/ca-bundle.js';
import { buildDebLayer } from '../../src/layer/deb-layer.js';
import type { LayerBlob } from '../../src/layer/layer-writer.js';
import { buildUserFilesLayer } from '../../src/layer/user-files.js';
import { BlobStore } from '../../src/oci/blob-store.js';
import { imageConfigBlob, type ConfigLayer } from '../../src/oci/config.js';
import type { Digest } from '../../src/oci/digest.js';
import { imageIndexBlob } from '../../src/oci/image-index.js';
import { fileBlob, memoryBlob, type ManifestNode } from '../../src/oci/graph.js';
import { openLayoutSink } from '../../src/sink/layout/layout-sink.js';
import { platformRefName } from '../../src/sink/layout/layout-refs.js';
import { publish } from '../../src/sink/publish.js';
import { checkLayout, readLayout } from '../../src/source/oci-layout.js';
import { imageManifestBlob } from '../../src/oci/manifest.js';
import type { Descriptor } from '../../src/oci/types.js';
import { DEFAULT_GROUPS, DEFAULT_USERS } from '../../src/recipe/default-accounts.js';
import { ELF_OF_DEBIAN_ARCH } from '../helpers/fake-elf.js';
import { makeDeb, type DebEntry } from '../helpers/make-deb.js';
import { OciSchema, validateOci } from '../helpers/oci-schemas.js';
import { ownersCheckable } from '../helpers/rootfs.js';
import { requireTool } from '../helpers/tools.js';
import { schemasAvailable } from '../helpers/schemas.js';

const EPOCH = 1_700_000_000;
const TAG = 'test';
const ARCHS = ['amd64', 'arm64'].map((a) => findArch(a) as TargetArch);
const MULTIARCH: Record<string, string> = { amd64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

let dir: string;
let layoutDir: string;
const allLayerDigests: Digest[] = [];

function elf(machine: number): Buffer {
  const b = Buffer.alloc(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  b.writeUInt16LE(machine, 18);
  return b;
}

async function deb(name: string, architecture: string, files: DebEntry[]): Promise<string> {
  const path = join(dir, `${name}_${architecture}.deb`);
  await writeFile(
    path,
    await makeDeb({
      control: { Package: name, Version: '1.0', Architecture: architecture, Maintainer: 'T <t@example.org>', Description: 'fixture' },
      files,
    }),
  );
  return path;
}

const dirs = (...paths: string[]): DebEntry[] => [
  { path: './', type: 'directory' },
  ...paths.map((p) => ({ path: `./${p}`, type: 'directory' as const })),
];

/** Builds the fixture image for two platforms into an OCI layout, the way the build does. */
async function buildFixture(): Promise<void> {
  const store = new BlobStore(join(dir, 'store'));
  const caDeb = await deb('ca-certificates', 'all', [
    ...dirs('usr/', 'usr/share/', 'usr/share/ca-certificates/', 'usr/share/ca-certificates/mozilla/', 'etc/', 'etc/ssl/', 'etc/ssl/certs/'),
    { path: './usr/share/ca-certificates/mozilla/B.crt', content: '-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----' },
    { path: './usr/share/ca-certificates/mozilla/A.crt', content: '-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n' },
  ]);
  const tzDeb = await deb('tzdata', 'all', [
    ...dirs('usr/', 'usr/share/', 'usr/share/zoneinfo/', 'usr/share/doc/', 'usr/share/doc/tzdata/'),
    { path: './usr/share/zoneinfo/UTC', content: 'TZif2' },
    { path: './usr/share/doc/tzdata/copyright', content: 'public domain\n' },
  ]);
  await writeFile(join(dir, 'config.yaml'), 'listen: 8080\n');
  const manifests: Descriptor[] = [];
  const images: ManifestNode[] = [];
  for (const arch of ARCHS) {
    const lib = MULTIARCH[arch.debian] as string;
    const libDeb = await deb('libhello1', arch.debian, [
      ...dirs('usr/', 'usr/lib/', `usr/lib/${lib}/`),
      { path: `./usr/lib/${lib}/libhello.so.1.0`, content: elf(ELF_OF_DEBIAN_ARCH[arch.debian]!.machine) },
      { path: `./usr/lib/${lib}/libhello.so.1`, type: 'symlink', linkname: 'libhello.so.1.0', mode: 0o777 },
    ]);
    const ca = await buildDebLayer({
      debPath: caDeb,
      packageName: 'ca-certificates',
      store,
      sourceDateEpoch: EPOCH,
      what: `ca-certificates (${arch.name})`,
      capture: isCaCertificatePath,
    });
    const base = await buildBaseLayer({
      store,
      users: DEFAULT_USERS,
      groups: DEFAULT_GROUPS,
      caBundle: caBundle(ca.captured),
      sourceDateEpoch: EPOCH,
    });
    const tz = await buildDebLayer({ debPath: tzDeb, packageName: 'tzdata', store, sourceDateEpoch: EPOCH, what: `tzdata (${arch.name})` });
    const libLayer = await buildDebLayer({
      debPath: libDeb,
      packageName: 'libhello1',
      store,
      sourceDateEpoch: EPOCH,
      what: `libhello1 (${arch.name})`,
    });
    await writeFile(join(dir, `app-${arch.debian}`), elf(ELF_OF_DEBIAN_ARCH[arch.debian]!.machine));
    const user = await buildUserFilesLayer({
      store,
      arch,
      sourceDateEpoch: EPOCH,
      files: [
        { src: join(dir, `app-${arch.debian}`), dst: '/usr/local/bin/app', mode: 0o755, uid: 0, gid: 0 },
        { src: join(dir, 'config.yaml'), dst: '/etc/app/config.yaml', mode: 0o640, uid: 0, gid: 65532 },
      ],
    });
    allLayerDigests.push(tz.digest, ca.digest);
    const layers: [LayerBlob, string][] = [
      [base, 'alba: base files'],
      [ca, 'alba: ca-certificates 1.0'],
      [tz, 'alba: tzdata 1.0'],
      [libLayer, 'alba: libhello1 1.0'],
      [user, 'alba: files'],
    ];
    const history: ConfigLayer[] = layers.map(([l, createdBy]) => ({ diffId: l.diffId, createdBy }));
    const config = imageConfigBlob({
      created: EPOCH,
      platform: arch.platform,
      user: '65532',
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      entrypoint: ['/usr/local/bin/app'],
      workingDir: '/home/nonroot',
      layers: history,
    });
    const manifest = imageManifestBlob(
      { config: config.descriptor, layers: layers.map(([l]) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })) },
      arch.platform,
    );
    manifests.push(manifest.descriptor);
    images.push({
      manifest: memoryBlob(manifest),
      blobs: [
        memoryBlob(config),
        ...layers.map(([l]) => fileBlob({ mediaType: l.mediaType, digest: l.digest, size: l.size }, store.path(l.digest))),
      ],
    });
  }
  const index = imageIndexBlob({ manifests });
  await publish({ root: memoryBlob(index), images, referrers: [] }, await openLayoutSink({ dir: layoutDir }), [TAG]);
}

function run(cmd: string, args: string[]): { status: number | null; output: string } {
  const res = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alba-layout-tools-'));
  layoutDir = join(dir, 'layout');
  await buildFixture();
});
after(() => rm(dir, { recursive: true, force: true }));

describe('2-platform OCI layout from fixture debs', () => {
  test('Architecture: all packages give the same layer on both platforms', () => {
    const [tzAmd, caAmd, tzArm, caArm] = allLayerDigests;
    assert.equal(tzAmd, tzArm);
    assert.equal(caAmd, caArm);
  });

  test('every JSON document is valid against the OCI schemas, and every blob hashes to its digest', async (t) => {
    const layout = await readLayout(layoutDir);
    await checkLayout(layout, { hashes: true });
    if (schemasAvailable(t))
      assert.deepEqual(validateOci(OciSchema.layout, JSON.parse(await readFile(join(layoutDir, 'oci-layout'), 'utf8'))), []);
    if (schemasAvailable(t)) assert.deepEqual(validateOci(OciSchema.index, layout.index), []);
    const index = await layout.readJson<{ manifests: Descriptor[] }>(layout.findRef(TAG)!.digest);
    if (schemasAvailable(t)) assert.deepEqual(validateOci(OciSchema.index, index), []);
    assert.equal(index.manifests.length, 2);
    for (const m of index.manifests) {
      const manifest = await layout.readJson<{ config: Descriptor }>(m.digest);
      if (schemasAvailable(t)) assert.deepEqual(validateOci(OciSchema.manifest, manifest), [], m.digest);
      if (schemasAvailable(t))
        assert.deepEqual(validateOci(OciSchema.config, await layout.readJson(manifest.config.digest)), [], manifest.config.digest);
    }
  });

  test('oci-image-tool validate --type image accepts the layout', (t) => {
    if (!requireTool('oci-image-tool', t)) return;
    const res = run('oci-image-tool', ['validate', '--type', 'image', layoutDir]);
    assert.equal(res.status, 0, res.output);
  });

  for (const arch of ARCHS) {
    test(`umoci unpacks ${platformRefName(TAG, arch.platform)} (checks sizes, digests and diff_ids)`, async (t) => {
      if (!requireTool('umoci', t)) return;
      const asRoot = process.getuid?.() === 0;
      const bundle = join(dir, `bundle-${arch.debian}`);
      const res = run('umoci', [
        'unpack',
        ...(asRoot ? [] : ['--rootless']),
        '--image',
        `${layoutDir}:${platformRefName(TAG, arch.platform)}`,
        bundle,
      ]);
      assert.equal(res.status, 0, res.output);
      const rootfs = join(bundle, 'rootfs');
      const lib = MULTIARCH[arch.debian] as string;
      const table: { path: string; mode: number; uid?: number; gid?: number; dir?: boolean }[] = [
        { path: 'etc/passwd', mode: 0o644, uid: 0, gid: 0 },
        { path: 'tmp', mode: 0o1777, uid: 0, gid: 0, dir: true },
        { path: 'root', mode: 0o700, uid: 0, gid: 0, dir: true },
        { path: 'home/nonroot', mode: 0o700, uid: 65532, gid: 65532, dir: true },
        { path: 'usr/local/bin/app', mode: 0o755, uid: 0, gid: 0 },
        { path: 'etc/app/config.yaml', mode: 0o640, uid: 0, gid: 65532 },
        { path: `usr/lib/${lib}/libhello.so.1.0`, mode: 0o644, uid: 0, gid: 0 },
        { path: 'var/lib/dpkg/status.d/libhello1', mode: 0o644, uid: 0, gid: 0 },
        { path: 'etc/ssl/certs/ca-certificates.crt', mode: 0o644, uid: 0, gid: 0 },
      ];
      const owners = ownersCheckable(t);
      for (const row of table) {
        const info = await stat(join(rootfs, row.path));
        assert.equal(info.mode & 0o7777, row.mode, `${row.path} mode ${(info.mode & 0o7777).toString(8)}`);
        assert.equal(info.isDirectory(), row.dir === true, row.path);
        if (owners) assert.deepEqual([info.uid, info.gid], [row.uid, row.gid], `${row.path} owner`);
      }
      assert.equal(
        await readFile(join(rootfs, 'etc/ssl/certs/ca-certificates.crt'), 'utf8'),
        '-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n',
      );
      assert.match(
        await readFile(join(rootfs, 'var/lib/dpkg/status.d/libhello1'), 'utf8'),
        new RegExp(`^Package: libhello1\nStatus: install ok installed\n.*Architecture: ${arch.debian}\n`, 's'),
      );
      assert.equal((await readFile(join(rootfs, 'usr/local/bin/app'))).readUInt16LE(18), ELF_OF_DEBIAN_ARCH[arch.debian]!.machine);
      const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as { process: { user: { uid: number }; cwd: string } };
      assert.equal(config.process.user.uid, 65532);
      assert.equal(config.process.cwd, '/home/nonroot');
    });
  }
});
