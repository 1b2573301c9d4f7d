import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { readLock, serializeLock } from '../../src/lock/lock-file.js';
import type { LockFile, LockedPackage } from '../../src/lock/lock-types.js';

// A lock file is input: what is not one is LOCK_INVALID naming the entry, never a TypeError, and a
// package's sha256 (which names files of the cache and the remote cache) is 64 hex digits or refused.

const dir = await mkdtemp(join(tmpdir(), 'alba-lock-file-'));
after(() => rm(dir, { recursive: true, force: true }));

const pkg: LockedPackage = {
  name: 'base-files',
  version: '12.4',
  architecture: 'amd64',
  source: 'base-files',
  sourceVersion: '12.4',
  repo: 'http://deb.example/debian',
  suite: 'bookworm',
  component: 'main',
  filename: 'pool/main/b/base-files/base-files_12.4_amd64.deb',
  size: 70000,
  sha256: 'c'.repeat(64),
  dependsOn: [],
};
const lock: LockFile = { lockVersion: 1, name: 'app', inputs: '', releases: [], archs: { amd64: [pkg] } };

async function read(text: string): Promise<LockFile | undefined> {
  const path = join(dir, 'recipe.lock.json');
  await writeFile(path, text);
  return readLock(path);
}

test('a lock alba wrote reads back', async () => {
  assert.deepEqual(await read(serializeLock(lock)), lock);
});

test('null, archs null, a package that is not one, or a sha256 that is a path: LOCK_INVALID', async () => {
  for (const [text, why] of [
    ['null', /not an alba lock file/],
    [JSON.stringify({ ...lock, archs: null }), /: archs: must be an object/],
    [JSON.stringify({ ...lock, archs: { amd64: null } }), /: archs\.amd64: must be a list of locked packages/],
    [JSON.stringify({ ...lock, archs: { amd64: [pkg, null] } }), /archs\.amd64\[1\] is not a locked package/],
    [JSON.stringify({ ...lock, archs: { amd64: [{ ...pkg, sha256: '../../escaped' }] } }), /archs\.amd64\[0\]\.sha256/],
    [JSON.stringify({ ...lock, archs: { amd64: [{ ...pkg, size: '1' }] } }), /archs\.amd64\[0\]\.size/],
  ] as const) {
    await assert.rejects(read(text), (err: unknown) => isAlbaError(err, 'LOCK_INVALID') && why.test(err.message), text.slice(0, 80));
  }
});

const release = {
  repo: 'http://deb.example/debian',
  suite: 'bookworm',
  file: 'InRelease',
  sha256: 'd'.repeat(64),
  date: '2025-05-20T08:00:00.000Z',
};
const full: LockFile = {
  ...lock,
  releases: [release],
  archs: {
    amd64: [
      { ...pkg, maintainer: 'Santiago Vila <sanvila@debian.org>', dependsOn: ['libc6'] },
      { ...pkg, name: 'libc6', source: 'glibc' },
    ],
  },
};

test('a lock with releases, a maintainer and dependencies reads back', async () => {
  assert.deepEqual(await read(serializeLock(full)), full);
  // dates as old locks have them, and a release without one
  const undated = {
    ...full,
    releases: [
      { ...release, date: 'Sat, 10 May 2025 08:50:25 UTC' },
      { ...release, suite: 'x', date: undefined },
    ],
  };
  assert.ok(await read(JSON.stringify(undated)));
  // what repositories dpkg reads may hold, and an index gives to the lock: never refused afterwards
  const lenient = { ...full, archs: { amd64: [{ ...pkg, name: 'Foo_bar', source: 'X', filename: './pool/main/f//foo.deb' }] } };
  assert.deepEqual(await read(serializeLock(lenient)), lenient);
});

// Each field the build, the layers or the SBOMs read, broken by hand (field → value; ABSENT: the key
// removed): LOCK_INVALID naming the file and the field when the lock is read, never a TypeError, a
// RangeError or a path out of the image later.
const ABSENT = Symbol('absent');
const broken: [field: string, value: unknown][] = [
  ['lockVersion', 2],
  ['name', 5],
  ['inputs', ABSENT],
  ['releases', {}],
  ['releases[0]', null],
  ['releases[0].repo', 'file:///etc'],
  ['releases[0].suite', 7],
  ['releases[0].file', null],
  ['releases[0].sha256', 'x'],
  ['releases[0].date', 'garbage'],
  ['releases[0].date', 5],
  ['releases[0].date', '+275760-09-13T00:00:00Z'],
  ['releases[0].date', '1900-01-01T00:00:00Z'],
  ['archs', []],
  ['archs.amd64', 'x'],
  ['archs.amd64[0]', 'x'],
  ['archs.amd64[0].name', '../../../x'],
  ['archs.amd64[0].name', '.base-files'],
  ['archs.amd64[0].name', 'base/files'],
  ['archs.amd64[0].name', ABSENT],
  ['archs.amd64[0].version', '1 2'],
  ['archs.amd64[0].version', 12],
  ['archs.amd64[0].architecture', '../x'],
  ['archs.amd64[0].source', { a: 1 }],
  ['archs.amd64[0].source', ABSENT],
  ['archs.amd64[0].source', '../glibc'],
  ['archs.amd64[0].sourceVersion', null],
  ['archs.amd64[0].sourceVersion', ':1'],
  ['archs.amd64[0].repo', 'not a url'],
  ['archs.amd64[0].suite', ''],
  ['archs.amd64[0].component', []],
  ['archs.amd64[0].filename', '../../../etc/passwd'],
  ['archs.amd64[0].filename', '/pool/x.deb'],
  ['archs.amd64[0].filename', 'pool/x.deb?a=b'],
  ['archs.amd64[0].size', -1],
  ['archs.amd64[0].size', 1e300],
  ['archs.amd64[0].sha256', 'C'.repeat(64)],
  ['archs.amd64[0].maintainer', 5],
  ['archs.amd64[0].dependsOn', 'libc6'],
  ['archs.amd64[0].dependsOn[0]', null],
  ['archs.amd64[0].dependsOn[0]', 'not-in-the-lock'],
];

/** `lock` with the value at `field` (`archs.amd64[0].name`) replaced by `value`, or removed. */
function breakField(lock: LockFile, field: string, value: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(lock)) as Record<string, unknown>;
  const keys = field.split(/[.[\]]+/).filter((k) => k !== '');
  let at = copy;
  for (const key of keys.slice(0, -1)) at = at[key] as Record<string, unknown>;
  const last = keys[keys.length - 1] as string;
  if (value === ABSENT) delete at[last];
  else at[last] = value;
  return copy;
}

for (const [field, value] of broken) {
  test(`${field} = ${value === ABSENT ? '(absent)' : JSON.stringify(value)}: LOCK_INVALID naming ${field}`, async () => {
    const path = join(dir, 'recipe.lock.json');
    const escape = (text: string): string => text.replace(/[.[\]]/g, (c) => `\\${c}`);
    await assert.rejects(read(JSON.stringify(breakField(full, field, value))), (err: unknown) => {
      assert.ok(isAlbaError(err, 'LOCK_INVALID'), String(err));
      assert.match(err.message, new RegExp(`^${escape(path)}: ${escape(field)}(:| is)`));
      return true;
    });
  });
}

test('a lock that is a FIFO, a device, a directory or too large is LOCK_INVALID naming it at once; a missing one is no lock', async () => {
  assert.equal(await readLock(join(dir, 'none.lock.json')), undefined);
  const fifo = join(dir, 'fifo.lock.json');
  execFileSync('mkfifo', [fifo]);
  const big = join(dir, 'big.lock.json');
  await writeFile(big, '');
  await truncate(big, 65 * 1024 * 1024);
  const module = new URL('../../src/lock/lock-file.js', import.meta.url).href;
  // in a child with a timeout: a regression (waiting on the FIFO, reading /dev/zero) fails here instead of hanging the runner
  const script = `const m = await import(${JSON.stringify(module)});
    for (const path of ${JSON.stringify([fifo, '/dev/zero', dir, big])})
      await m.readLock(path).then(() => console.log('read', path), (e) => console.log(e.code, e.message));`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(res.signal, null, `timed out: ${res.stdout}`);
  assert.deepEqual(res.stdout.trim().split('\n'), [
    `LOCK_INVALID ${fifo} is not a regular file (a directory, a FIFO or a device)`,
    'LOCK_INVALID /dev/zero is not a regular file (a directory, a FIFO or a device)',
    `LOCK_INVALID ${dir} is not a regular file (a directory, a FIFO or a device)`,
    `LOCK_INVALID ${big} has ${65 * 1024 * 1024} bytes, more than the ${64 * 1024 * 1024} alba reads`,
  ]);
});

test('a layer record is never named out of the cache, whatever reached it', async () => {
  const { layerRecordPath } = await import('../../src/builder/layer-cache.js');
  assert.ok(layerRecordPath(dir, `${'c'.repeat(64)}-f3-e0.json`).startsWith(dir));
  for (const name of ['../../escaped-f3-e0.json', 'a/b.json', '..json'])
    assert.throws(
      () => layerRecordPath(dir, name),
      (err: unknown) => isAlbaError(err, 'LOCK_INVALID'),
      name,
    );
});
