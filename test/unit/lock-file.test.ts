import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
    [JSON.stringify({ ...lock, archs: null }), /not an alba lock file/],
    [JSON.stringify({ ...lock, archs: { amd64: null } }), /archs\.amd64\[0\] is not a locked package/],
    [JSON.stringify({ ...lock, archs: { amd64: [pkg, null] } }), /archs\.amd64\[1\]/],
    [JSON.stringify({ ...lock, archs: { amd64: [{ ...pkg, sha256: '../../escaped' }] } }), /archs\.amd64\[0\]/],
    [JSON.stringify({ ...lock, archs: { amd64: [{ ...pkg, size: '1' }] } }), /archs\.amd64\[0\]/],
  ] as const) {
    await assert.rejects(read(text), (err: unknown) => isAlbaError(err, 'LOCK_INVALID') && why.test(err.message), text.slice(0, 80));
  }
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
