import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { deterministicGzip } from '../../src/oci/gzip.js';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { buildDebLayer, type DebLayerOptions } from '../../src/layer/deb-layer.js';
import { isCaCertificatePath } from '../../src/layer/ca-bundle.js';
import { isAlbaError } from '../../src/errors.js';
import { BlobStore } from '../../src/oci/blob-store.js';
import { compress, makeAr, makeDeb, makeTar, type DebEntry, type DebSpec } from '../helpers/make-deb.js';
import { requireTool } from '../helpers/tools.js';
import { entryTable, readLayerEntries } from '../helpers/read-layer.js';

const EPOCH = 1_750_000_000;
let dir: string;
let store: BlobStore;
let counter = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alba-layer-deb-'));
  store = new BlobStore(join(dir, 'store'));
});
after(() => rm(dir, { recursive: true, force: true }));

const control = (name = 'hello'): Record<string, string> => ({
  Package: name,
  Version: '1.0-1',
  Architecture: 'all',
  Maintainer: 'A <a@example.org>',
  Description: 'greets\n line two',
});

const tree: DebEntry[] = [
  { path: './', type: 'directory' },
  { path: './usr/', type: 'directory' },
  { path: './usr/bin/', type: 'directory' },
  { path: './usr/bin/hello', content: '#!/bin/true\n', mode: 0o4755, mtime: 1_900_000_000 },
  { path: './usr/bin/hello.hard', type: 'link', linkname: './usr/bin/hello' },
  { path: './usr/bin/hi', type: 'symlink', linkname: '/usr/bin/hello', mode: 0o777 },
  { path: './usr/share/', type: 'directory' },
  { path: './usr/share/doc/', type: 'directory' },
  { path: './usr/share/doc/hello/', type: 'directory' },
  { path: './usr/share/doc/hello/copyright', content: 'Copyright: nobody\n' },
  { path: './etc/', type: 'directory' },
  { path: './etc/secret', content: 's', mode: 0o640, uid: 0, gid: 42 },
];

async function debFile(spec: DebSpec, name = `p${counter++}.deb`): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, await makeDeb(spec));
  return path;
}

/** A .deb whose data.tar.<compression> member is `tar` compressed as it is (a valid control member beside it). */
async function rawDataDeb(compression: 'xz' | 'gz' | 'zst', tar: Buffer): Promise<string> {
  const controlText = Object.entries(control())
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('');
  const controlTar = await makeTar([
    { path: './', type: 'directory' },
    { path: './control', content: controlText },
  ]);
  const path = join(dir, `raw${counter++}.deb`);
  await writeFile(
    path,
    makeAr([
      { name: 'debian-binary', data: Buffer.from('2.0\n') },
      { name: 'control.tar.xz', data: compress(controlTar, 'xz') },
      { name: `data.tar.${compression}`, data: compress(tar, compression) },
    ]),
  );
  return path;
}

function build(debPath: string, extra: Partial<DebLayerOptions> = {}): ReturnType<typeof buildDebLayer> {
  return buildDebLayer({ debPath, packageName: 'hello', store, sourceDateEpoch: EPOCH, what: 'hello 1.0-1', ...extra });
}

describe('buildDebLayer content', () => {
  test("rewrites paths, keeps modes/owners/links (a hard link's entry carries its target's, not its own header's 644 0:0), clamps mtimes, appends status.d", async () => {
    const layer = await build(await debFile({ control: control(), files: tree }));
    const entries = await readLayerEntries(store.path(layer.digest));
    const summary = entryTable(entries);
    assert.deepEqual(summary, [
      ['usr/', 'directory', '755', '0:0', ''],
      ['usr/bin/', 'directory', '755', '0:0', ''],
      ['usr/bin/hello', 'file', '4755', '0:0', ''],
      ['usr/bin/hello.hard', 'link', '4755', '0:0', 'usr/bin/hello'],
      ['usr/bin/hi', 'symlink', '777', '0:0', '/usr/bin/hello'],
      ['usr/share/', 'directory', '755', '0:0', ''],
      ['usr/share/doc/', 'directory', '755', '0:0', ''],
      ['usr/share/doc/hello/', 'directory', '755', '0:0', ''],
      ['usr/share/doc/hello/copyright', 'file', '644', '0:0', ''],
      ['etc/', 'directory', '755', '0:0', ''],
      ['etc/secret', 'file', '640', '0:42', ''],
      ['var/', 'directory', '755', '0:0', ''],
      ['var/lib/', 'directory', '755', '0:0', ''],
      ['var/lib/dpkg/', 'directory', '755', '0:0', ''],
      ['var/lib/dpkg/status.d/', 'directory', '755', '0:0', ''],
      ['var/lib/dpkg/status.d/hello', 'file', '644', '0:0', ''],
      ['var/lib/dpkg/status.d/hello.md5sums', 'file', '644', '0:0', ''],
    ]);
    for (const e of entries) {
      assert.equal(e.header.uname, '', e.header.name);
      assert.equal(e.header.gname, '', e.header.name);
      assert.equal(e.header.pax, null, `${e.header.name} has no PAX records`);
    }
    const mtime = (name: string): number => (entries.find((e) => e.header.name === name)?.header.mtime.getTime() ?? 0) / 1000;
    assert.equal(mtime('usr/bin/hello'), EPOCH, 'a later mtime is clamped to the epoch');
    assert.equal(mtime('usr/'), 1_700_000_000, 'an earlier mtime is kept');
    assert.equal(mtime('var/lib/dpkg/status.d/hello'), EPOCH);
    const text = (name: string): string | undefined => entries.find((e) => e.header.name === name)?.content.toString('utf8');
    assert.equal(
      text('var/lib/dpkg/status.d/hello'),
      'Package: hello\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: all\nMaintainer: A <a@example.org>\nDescription: greets\n line two\n',
    );
    assert.match(text('var/lib/dpkg/status.d/hello.md5sums') ?? '', /^[0-9a-f]{32} {2}usr\/bin\/hello\n/);
    assert.equal(layer.copyright, 'Copyright: nobody\n');
    assert.equal(layer.fileCount, 3);
    assert.equal(layer.captured.size, 0, 'copyright is returned, not captured, unless asked');
    assert.match(layer.control, /^Package: hello\n/);
  });

  test("a hard link's entry carries its target's mode and owner, whatever its own header says", async () => {
    const files: DebEntry[] = [
      { path: './etc/', type: 'directory' },
      { path: './etc/secret', content: 's', mode: 0o640, uid: 0, gid: 42 },
      { path: './etc/secret.hard', type: 'link', linkname: './etc/secret', mode: 0o777, uid: 7, gid: 7 },
    ];
    const layer = await build(await debFile({ control: control(), files }));
    const rows = entryTable(await readLayerEntries(store.path(layer.digest))).filter((r) => r[0]?.startsWith('etc/secret'));
    assert.deepEqual(rows, [
      ['etc/secret', 'file', '640', '0:42', ''],
      ['etc/secret.hard', 'link', '640', '0:42', 'etc/secret'],
    ]);
  });

  test('does not repeat parent directories the package already has', async () => {
    const files: DebEntry[] = [
      { path: './', type: 'directory' },
      { path: './var/', type: 'directory', mode: 0o755 },
      { path: './var/lib/', type: 'directory', mode: 0o755 },
      { path: './var/lib/hello', content: 'x' },
    ];
    const layer = await build(await debFile({ control: control(), files }));
    const names = (await readLayerEntries(store.path(layer.digest))).map((e) => e.header.name);
    assert.deepEqual(names, [
      'var/',
      'var/lib/',
      'var/lib/hello',
      'var/lib/dpkg/',
      'var/lib/dpkg/status.d/',
      'var/lib/dpkg/status.d/hello',
      'var/lib/dpkg/status.d/hello.md5sums',
    ]);
  });

  test('captures the files the predicate selects', async () => {
    const files: DebEntry[] = [
      { path: './usr/share/ca-certificates/mozilla/B.crt', content: 'B' },
      { path: './usr/share/ca-certificates/mozilla/A.crt', content: 'A\n' },
      { path: './usr/share/doc/hello/README', content: 'no' },
    ];
    const layer = await build(await debFile({ control: control(), files }), { capture: isCaCertificatePath });
    assert.deepEqual(
      [...layer.captured].map(([p, c]) => [p, c.toString()]),
      [
        ['usr/share/ca-certificates/mozilla/B.crt', 'B'],
        ['usr/share/ca-certificates/mozilla/A.crt', 'A\n'],
      ],
    );
    assert.equal(layer.copyright, undefined);
  });
});

describe('buildDebLayer determinism', () => {
  test('same package twice, every compression, any TZ/umask: same digest and diff_id', async () => {
    const first = await build(await debFile({ control: control(), files: tree, compression: 'xz' }));
    const tz = process.env.TZ;
    const umask = process.umask(0o077);
    process.env.TZ = 'Pacific/Chatham';
    try {
      for (const compression of ['xz', 'gz', 'zst', 'none'] as const) {
        const again = await build(await debFile({ control: control(), files: tree, compression }));
        assert.equal(again.digest, first.digest, compression);
        assert.equal(again.diffId, first.diffId, compression);
        assert.equal(again.size, first.size, compression);
      }
    } finally {
      process.umask(umask);
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  test('an Architecture: all package gives the same layer under two arch labels', async () => {
    const spec = { control: control(), files: tree };
    const amd64 = await build(await debFile(spec, 'amd64-hello.deb'), { what: 'hello 1.0-1 (amd64)' });
    const arm64 = await build(await debFile(spec, 'arm64-hello.deb'), { what: 'hello 1.0-1 (arm64)' });
    assert.equal(amd64.digest, arm64.digest);
  });

  test('the gzip header is fixed: mtime 0, no name, OS byte 3 (unix)', async () => {
    const layer = await build(await debFile({ control: control(), files: tree }));
    const head = (await readFile(store.path(layer.digest))).subarray(0, 10);
    assert.deepEqual([...head], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  });

  test('the OS byte is forced to 3 whatever zlib wrote, at any chunk boundary (as zlib on Windows or macOS writes another)', async () => {
    const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0x0b, 0xaa, 0xbb]);
    for (let cut = 0; cut <= header.length; cut++) {
      const stage = deterministicGzip().at(-1)!;
      const out: Buffer[] = [];
      stage.on('data', (c: Buffer) => out.push(c));
      stage.write(Buffer.from(header.subarray(0, cut)));
      stage.end(Buffer.from(header.subarray(cut)));
      await new Promise((r) => stage.once('end', r));
      assert.deepEqual([...Buffer.concat(out)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xaa, 0xbb], `cut at ${cut}`);
    }
  });
});

describe('deterministicGzip', () => {
  /** The gzip stream of `chunks` written one by one through every stage. */
  async function gzipOf(chunks: Buffer[]): Promise<Buffer> {
    const out: Buffer[] = [];
    await pipeline(
      Readable.from(chunks, { objectMode: false }),
      ...deterministicGzip(),
      new Writable({ write: (c: Buffer, _e, done) => (out.push(c), done()) }),
    );
    return Buffer.concat(out);
  }

  test('the same bytes, however the input is cut: tar headers, small files and chunks larger than the joining size, in order', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const sizes = [512, 1, 7, 600_000, 512, 100, 300_000, 40_000, 64 * 1024, 2, 1_000_000];
    const cuts: Buffer[] = [];
    for (let at = 0, i = 0; at < data.length; i++) {
      const size = Math.min(sizes[i % sizes.length]!, data.length - at);
      cuts.push(data.subarray(at, at + size));
      at += size;
    }
    const whole = await gzipOf([data]);
    assert.deepEqual(gunzipSync(whole), data);
    assert.ok((await gzipOf(cuts)).equals(whole));
  });
});

describe('buildDebLayer refusals', () => {
  const cases: { name: string; files: DebEntry[]; code: string; mentions: string }[] = [
    { name: 'parent escape', files: [{ path: '../etc/passwd', content: 'x' }], code: 'DEB_UNSAFE_ENTRY', mentions: '../etc/passwd' },
    { name: 'nested escape', files: [{ path: './usr/../../etc/passwd', content: 'x' }], code: 'DEB_UNSAFE_ENTRY', mentions: '..' },
    { name: 'absolute path', files: [{ path: '/abs', content: 'x' }], code: 'DEB_UNSAFE_ENTRY', mentions: '/abs' },
    { name: 'absolute after ./', files: [{ path: './/etc/shadow', content: 'x' }], code: 'DEB_UNSAFE_ENTRY', mentions: 'absolute' },
    {
      name: 'hard link to an absolute path',
      files: [{ path: './shadow', type: 'link', linkname: '/etc/shadow' }],
      code: 'DEB_UNSAFE_ENTRY',
      mentions: '/etc/shadow',
    },
    {
      name: 'hard link escaping the root',
      files: [{ path: './shadow', type: 'link', linkname: '../../etc/shadow' }],
      code: 'DEB_UNSAFE_ENTRY',
      mentions: 'outside the package',
    },
    {
      name: 'hard link to a file the package does not have',
      files: [{ path: './shadow', type: 'link', linkname: './etc/shadow' }],
      code: 'DEB_UNSAFE_ENTRY',
      mentions: 'not an earlier file',
    },
    {
      name: 'character device',
      files: [{ path: './dev/null', type: 'character-device' }],
      code: 'DEB_UNSAFE_ENTRY',
      mentions: 'character device',
    },
    {
      name: 'entry through a symlink of the package',
      files: [
        { path: './evil', type: 'symlink', linkname: '/etc' },
        { path: './evil/passwd', content: 'root::0:0' },
      ],
      code: 'DEB_UNSAFE_ENTRY',
      mentions: 'symlink',
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const deb = await debFile({ control: control(), files: [{ path: './', type: 'directory' }, ...c.files] });
      await assert.rejects(build(deb), (err: unknown) => {
        assert.ok(isAlbaError(err), String(err));
        assert.equal(err.code, c.code, err.message);
        assert.ok(err.message.includes('hello 1.0-1'), err.message);
        assert.ok(err.message.includes(c.mentions), err.message);
        return true;
      });
    });
  }

  const truncated: { name: string; compression: NonNullable<DebSpec['compression']> }[] = [
    { name: 'truncated data.tar.xz', compression: 'xz' },
    { name: 'truncated data.tar.gz', compression: 'gz' },
    { name: 'truncated data.tar', compression: 'none' },
  ];
  for (const c of truncated) {
    test(c.name, async () => {
      const big: DebEntry = { path: './usr/lib/blob', content: randomBytes(20_000) };
      const deb = await debFile({ control: control(), files: [...tree, big], compression: c.compression, truncateData: 10_000 });
      await assert.rejects(build(deb), (err: unknown) => {
        assert.ok(isAlbaError(err), String(err));
        assert.ok(['DEB_INVALID', 'DECOMPRESS_FAILED'].includes(err.code), `${err.code}: ${err.message}`);
        assert.ok(err.message.includes('hello 1.0-1'), err.message);
        return true;
      });
    });
  }

  test('a file that is not an ar archive', async () => {
    const path = join(dir, 'not-ar.deb');
    await writeFile(path, 'PK\x03\x04 definitely a zip');
    await assert.rejects(build(path), (err: unknown) => isAlbaError(err, 'DEB_INVALID') && err.message.includes('hello 1.0-1'));
  });

  test('an ar member longer than the file', async () => {
    const path = join(dir, 'short-ar.deb');
    const ar = makeAr([
      { name: 'debian-binary', data: Buffer.from('2.0\n') },
      { name: 'control.tar.xz', data: Buffer.alloc(100) },
    ]);
    await writeFile(path, ar.subarray(0, ar.length - 30));
    await assert.rejects(build(path), (err: unknown) => isAlbaError(err, 'DEB_INVALID') && /truncated/.test(err.message));
  });

  test('a control file naming another package', async () => {
    const deb = await debFile({ control: control('other'), files: tree });
    await assert.rejects(build(deb), (err: unknown) => isAlbaError(err, 'DEB_INVALID') && err.message.includes('Package: other'));
  });

  test('a control file of two paragraphs (a phantom package for scanners)', async () => {
    const text = Object.entries(control())
      .map(([k, v]) => `${k}: ${v}\n`)
      .join('');
    const deb = await debFile({ control: control(), controlText: `${text}\nPackage: phantom\nVersion: 6.6.6\n`, files: tree });
    await assert.rejects(
      build(deb),
      (err: unknown) => isAlbaError(err, 'DEB_INVALID') && /2 paragraphs, not one/.test(err.message) && err.message.includes('hello 1.0-1'),
    );
  });

  test('an empty data.tar (0 bytes), as dpkg-deb refuses it', async () => {
    const deb = await debFile({ control: control(), files: tree, compression: 'none', truncateData: 0 });
    await assert.rejects(
      build(deb),
      (err: unknown) => isAlbaError(err, 'DEB_INVALID') && /data\.tar member is empty \(0 bytes\)/.test(err.message),
    );
  });

  // dpkg-deb is the reference: a data.tar.* that decompresses to no bytes is "not a tar archive" to
  // it; one holding only the end-of-archive blocks (1024 zero bytes) is a package without files.
  for (const compression of ['xz', 'gz', 'zst'] as const) {
    test(`a data.tar.${compression} that decompresses to 0 bytes: DEB_INVALID naming the package and member, as dpkg-deb refuses it`, async (t) => {
      const deb = await rawDataDeb(compression, Buffer.alloc(0));
      await assert.rejects(build(deb), (err: unknown) => {
        assert.ok(isAlbaError(err, 'DEB_INVALID'), String(err));
        assert.match(err.message, new RegExp(`^hello 1\\.0-1 .*data\\.tar\\.${compression} member decompresses to 0 bytes`));
        return true;
      });
      if (requireTool('dpkg-deb', t)) assert.notEqual(spawnSync('dpkg-deb', ['-c', deb]).status, 0, 'dpkg-deb refuses it too');
    });
  }

  test('a data.tar.xz of only the end-of-archive blocks is a package without files, as dpkg-deb accepts it', async (t) => {
    const deb = await rawDataDeb('xz', Buffer.alloc(1024));
    const layer = await build(deb);
    assert.deepEqual(
      entryTable(await readLayerEntries(store.path(layer.digest))).map((e) => e[0]),
      ['var/', 'var/lib/', 'var/lib/dpkg/', 'var/lib/dpkg/status.d/', 'var/lib/dpkg/status.d/hello'],
    );
    if (requireTool('dpkg-deb', t)) assert.equal(spawnSync('dpkg-deb', ['-c', deb]).status, 0, 'dpkg-deb accepts it');
  });
});
