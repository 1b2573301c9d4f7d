import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findArch, type TargetArch } from '../../src/debian/arch.js';
import { isAlbaError } from '../../src/errors.js';
import { checkElfArch, parseElfIdent } from '../../src/layer/elf.js';
import { buildUserFilesLayer } from '../../src/layer/user-files.js';
import { BlobStore } from '../../src/oci/blob-store.js';
import { entryTable, readLayerEntries } from '../helpers/read-layer.js';

const arch = (name: string): TargetArch => findArch(name) as TargetArch;

/** The first 64 bytes of an ELF file for `machine`, with class (1/2) and byte order (1 LE / 2 BE). */
function elfHeader(machine: number, elfClass: 1 | 2, data: 1 | 2 = 1): Buffer {
  const b = Buffer.alloc(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, elfClass, data, 1], 0);
  if (data === 1) b.writeUInt16LE(machine, 18);
  else b.writeUInt16BE(machine, 18);
  return b;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alba-user-files-'));
  await mkdir(join(dir, 'dist/linux/arm64'), { recursive: true });
  await writeFile(join(dir, 'dist/linux/arm64/x'), elfHeader(62, 2));
  await writeFile(join(dir, 'app-amd64'), elfHeader(62, 2));
  await writeFile(join(dir, 'app-arm64'), elfHeader(183, 2));
  await writeFile(join(dir, 'app-s390x'), elfHeader(22, 2, 2));
  await writeFile(join(dir, 'app-armhf'), elfHeader(40, 1));
  await writeFile(join(dir, 'app-aarch32-as-64'), elfHeader(40, 2));
  await writeFile(join(dir, 'config.yaml'), 'key: value\n');
  await writeFile(join(dir, 'tiny'), 'ab');
});
after(() => rm(dir, { recursive: true, force: true }));

describe('checkElfArch', () => {
  const table: { file: string; arch: string; mismatch?: RegExp }[] = [
    { file: 'app-amd64', arch: 'amd64' },
    { file: 'app-arm64', arch: 'arm64' },
    { file: 'app-s390x', arch: 's390x' },
    { file: 'app-armhf', arch: 'arm/v7' },
    { file: 'config.yaml', arch: 'arm64' },
    { file: 'tiny', arch: 'amd64' },
    { file: 'dist/linux/arm64/x', arch: 'arm64', mismatch: /dist\/linux\/arm64\/x is an ELF for x86-64, not arm64$/ },
    { file: 'app-arm64', arch: 'amd64', mismatch: /is an ELF for AArch64, not amd64$/ },
    { file: 'app-aarch32-as-64', arch: 'arm/v7', mismatch: /is an ELF for ARM 64-bit, not arm\/v7$/ },
  ];
  for (const c of table) {
    test(`${c.file} for ${c.arch}: ${c.mismatch === undefined ? 'passes' : 'refused'}`, async () => {
      const run = checkElfArch(join(dir, c.file), arch(c.arch));
      if (c.mismatch === undefined) await run;
      else await assert.rejects(run, (err: unknown) => isAlbaError(err, 'ELF_ARCH_MISMATCH') && (c.mismatch as RegExp).test(err.message));
    });
  }

  test('a missing file is FILE_MISSING naming arch and path', async () => {
    await assert.rejects(checkElfArch(join(dir, 'nope'), arch('arm64')), (err: unknown) => {
      return isAlbaError(err, 'FILE_MISSING') && err.message.startsWith('arm64: ') && err.message.includes(join(dir, 'nope'));
    });
  });

  test('parseElfIdent reads big-endian machines', () => {
    assert.deepEqual(parseElfIdent(elfHeader(22, 2, 2)), { elfClass: 2, machine: 22 });
    assert.equal(parseElfIdent(Buffer.from('#!/bin/sh\necho hello world\n')), undefined);
  });
});

describe('buildUserFilesLayer', () => {
  test('files sorted by destination, parents once, recipe owners and modes, mtime = epoch', async () => {
    const store = new BlobStore(join(dir, 'store'));
    const files = [
      { src: join(dir, 'config.yaml'), dst: '/etc/app/config.yaml', mode: 0o640, uid: 0, gid: 65532 },
      { src: join(dir, 'app-arm64'), dst: '/usr/local/bin/app', mode: 0o755, uid: 0, gid: 0 },
      { src: join(dir, 'tiny'), dst: '/etc/app/tiny', mode: 0o600, uid: 65532, gid: 65532, checkElf: false },
    ];
    const layer = await buildUserFilesLayer({ store, files, arch: arch('arm64'), sourceDateEpoch: 1_700_000_000 });
    const entries = await readLayerEntries(store.path(layer.digest));
    assert.deepEqual(
      entries.map((e) => [e.header.name, e.header.mode.toString(8), `${e.header.uid}:${e.header.gid}`, e.header.mtime.getTime() / 1000]),
      [
        ['etc/', '755', '0:0', 1_700_000_000],
        ['etc/app/', '755', '0:0', 1_700_000_000],
        ['etc/app/config.yaml', '640', '0:65532', 1_700_000_000],
        ['etc/app/tiny', '600', '65532:65532', 1_700_000_000],
        ['usr/', '755', '0:0', 1_700_000_000],
        ['usr/local/', '755', '0:0', 1_700_000_000],
        ['usr/local/bin/', '755', '0:0', 1_700_000_000],
        ['usr/local/bin/app', '755', '0:0', 1_700_000_000],
      ],
    );
    assert.equal(entries.find((e) => e.header.name === 'etc/app/config.yaml')?.content.toString(), 'key: value\n');
    await chmod(join(dir, 'config.yaml'), 0o600);
    const again = await buildUserFilesLayer({ store, files: [...files].reverse(), arch: arch('arm64'), sourceDateEpoch: 1_700_000_000 });
    assert.equal(again.digest, layer.digest, 'host mode and recipe order do not matter');
  });

  const refusals: { name: string; file: { src: string; dst: string }; arch: string; code: string }[] = [
    { name: 'wrong-arch ELF', file: { src: 'app-amd64', dst: '/app' }, arch: 'arm64', code: 'ELF_ARCH_MISMATCH' },
    { name: 'missing source', file: { src: 'missing', dst: '/app' }, arch: 'amd64', code: 'FILE_MISSING' },
    { name: 'directory source', file: { src: 'dist', dst: '/app' }, arch: 'amd64', code: 'FILE_MISSING' },
    { name: 'relative destination', file: { src: 'tiny', dst: 'app' }, arch: 'amd64', code: 'RECIPE_INVALID' },
    { name: 'escaping destination', file: { src: 'tiny', dst: '/usr/../../app' }, arch: 'amd64', code: 'RECIPE_INVALID' },
  ];
  for (const r of refusals) {
    test(`refuses: ${r.name}`, async () => {
      const store = new BlobStore(join(dir, 'store'));
      const files = [{ src: join(dir, r.file.src), dst: r.file.dst, mode: 0o755, uid: 0, gid: 0 }];
      await assert.rejects(buildUserFilesLayer({ store, files, arch: arch(r.arch), sourceDateEpoch: 1 }), (err: unknown) => {
        return isAlbaError(err) && err.code === r.code;
      });
    });
  }

  test('refuses two files with one destination', async () => {
    const store = new BlobStore(join(dir, 'store'));
    const files = ['tiny', 'config.yaml'].map((f) => ({ src: join(dir, f), dst: '/etc/x', mode: 0o644, uid: 0, gid: 0 }));
    await assert.rejects(buildUserFilesLayer({ store, files, arch: arch('amd64'), sourceDateEpoch: 1 }), (err: unknown) => {
      return isAlbaError(err, 'RECIPE_INVALID') && err.message.includes('/etc/x');
    });
  });
});

describe('buildUserFilesLayer with paths:', () => {
  test('directories, empty files, symlinks, permissions and hard links, in path order with parents, hard links last; files for the SBOM', async () => {
    const store = new BlobStore(join(dir, 'store-paths'));
    const layer = await buildUserFilesLayer({
      store,
      arch: arch('amd64'),
      sourceDateEpoch: 1_700_000_000,
      files: [{ src: join(dir, 'config.yaml'), dst: '/etc/app/config.yaml', mode: 0o644, uid: 0, gid: 0 }],
      paths: [
        { type: 'symlink', path: '/bin/sh', target: 'busybox', mode: 0o777, uid: 0, gid: 0 },
        { type: 'hardlink', path: '/etc/app/config.link', target: '/etc/app/config.yaml', mode: 0o644, uid: 0, gid: 0 },
        { type: 'directory', path: '/var/cache/app', mode: 0o770, uid: 65532, gid: 65532 },
        { type: 'empty-file', path: '/var/cache/app/.keep', mode: 0o600, uid: 65532, gid: 65532 },
        { type: 'permissions', path: '/etc/app', mode: 0o750, uid: 0, gid: 50 },
      ],
    });
    const entries = entryTable(await readLayerEntries(store.path(layer.digest)));
    assert.deepEqual(entries, [
      ['bin/', 'directory', '755', '0:0', ''],
      ['bin/sh', 'symlink', '777', '0:0', 'busybox'],
      ['etc/', 'directory', '755', '0:0', ''],
      ['etc/app/', 'directory', '750', '0:50', ''],
      ['etc/app/config.yaml', 'file', '644', '0:0', ''],
      ['var/', 'directory', '755', '0:0', ''],
      ['var/cache/', 'directory', '755', '0:0', ''],
      ['var/cache/app/', 'directory', '770', '65532:65532', ''],
      ['var/cache/app/.keep', 'file', '600', '65532:65532', ''],
      ['etc/app/config.link', 'link', '644', '0:0', 'etc/app/config.yaml'],
    ]);
    const config = layer.files.find((f) => f.path === '/etc/app/config.yaml')!;
    assert.deepEqual(layer.files.map((f) => f.path).sort(), ['/etc/app/config.link', '/etc/app/config.yaml', '/var/cache/app/.keep']);
    assert.equal(layer.files.find((f) => f.path === '/etc/app/config.link')?.sha256, config.sha256, 'a hard link is the same file');
    assert.equal(layer.files.find((f) => f.path === '/var/cache/app/.keep')?.size, 0);
  });

  test("a hard link's entry carries its target's mode and owner (extractors that apply a link's header must not change the target)", async () => {
    const store = new BlobStore(join(dir, 'store-hardlink-owner'));
    const layer = await buildUserFilesLayer({
      store,
      arch: arch('amd64'),
      sourceDateEpoch: 1_700_000_000,
      files: [{ src: join(dir, 'config.yaml'), dst: '/etc/app/config.yaml', mode: 0o640, uid: 65532, gid: 65532 }],
      paths: [
        // the recipe's defaults for a hardlink (0644, 0:0): not what the link entry says
        { type: 'hardlink', path: '/etc/app/config.link', target: '/etc/app/config.yaml', mode: 0o644, uid: 0, gid: 0 },
        { type: 'empty-file', path: '/var/lib/app/state', mode: 0o600, uid: 1000, gid: 50 },
        { type: 'hardlink', path: '/var/lib/app/state.link', target: '/var/lib/app/state', mode: 0o644, uid: 0, gid: 0 },
      ],
    });
    const entries = await readLayerEntries(store.path(layer.digest));
    const header = (name: string): Record<string, unknown> => {
      const h = entries.find((e) => e.header.name === name)?.header;
      assert.ok(h !== undefined, name);
      return {
        type: h.type,
        mode: (h.mode ?? 0).toString(8),
        uid: h.uid,
        gid: h.gid,
        uname: h.uname,
        gname: h.gname,
        linkname: h.linkname,
      };
    };
    assert.deepEqual(header('etc/app/config.yaml'), {
      type: 'file',
      mode: '640',
      uid: 65532,
      gid: 65532,
      uname: '',
      gname: '',
      linkname: null,
    });
    assert.deepEqual(header('etc/app/config.link'), {
      type: 'link',
      mode: '640',
      uid: 65532,
      gid: 65532,
      uname: '',
      gname: '',
      linkname: 'etc/app/config.yaml',
    });
    assert.deepEqual(header('var/lib/app/state.link'), {
      type: 'link',
      mode: '600',
      uid: 1000,
      gid: 50,
      uname: '',
      gname: '',
      linkname: 'var/lib/app/state',
    });
  });
});
