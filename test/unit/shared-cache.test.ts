import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { indexCachePath, removeFoundCorrupt } from '../../src/debian/index-cache.js';
import { BlobStore } from '../../src/oci/blob-store.js';
import { RACY_MS, StatIndex } from '../../src/util/stat-index.js';

// One cache shared by several alba processes at once (CI runners running jobs side by side): what
// one run removes as corrupt must be what it found corrupt, never what another run stored since.
// Each BlobStore stands for one process's view of the same directory.

const work = await mkdtemp(join(tmpdir(), 'alba-shared-cache-'));
after(() => rm(work, { recursive: true, force: true }));

const GOOD = Buffer.from('a layer as it was built\n');

/** A store under `root` holding GOOD, then damaged in place (same size): its digest. */
async function damagedBlob(root: string): Promise<{ a: BlobStore; b: BlobStore; digest: Parameters<BlobStore['path']>[0] }> {
  const a = new BlobStore(root);
  const b = new BlobStore(root);
  const { digest } = await a.writeBytes(GOOD);
  await writeFile(a.path(digest), Buffer.from(GOOD.toString('utf8').toUpperCase()));
  return { a, b, digest };
}

test('a blob stored anew by another run after this one found it corrupt is not removed', async () => {
  const { a, b, digest } = await damagedBlob(join(work, 'race'));
  // both runs find the cached blob corrupt…
  assert.equal(await b.verify(digest), false);
  assert.equal(await a.verify(digest), false);
  // …the first removes it and stores it again, checked (as a rebuilt layer or a .deb fetched again)…
  await a.evict(digest);
  await a.writeBytes(GOOD);
  // …then the second removes what it found corrupt: the first run's good blob must stay, it is about to copy it
  await b.evict(digest);
  assert.deepEqual(await readFile(a.path(digest)), GOOD);
  assert.equal(await b.verify(digest), true);
});

test('a run that found the blob gone (another evicted it) removes nothing: the copy stored since stays', async () => {
  const { a, b, digest } = await damagedBlob(join(work, 'gone'));
  // the layer cache asks has() first: both see a file…
  assert.equal(await a.verify(digest), false);
  await a.evict(digest);
  // …the second's verify() finds none (the first evicted it), then the first stores it anew
  assert.equal(await b.verify(digest), false);
  await a.writeBytes(GOOD);
  await b.evict(digest);
  assert.deepEqual(await readFile(a.path(digest)), GOOD, "the first run's good copy is kept");
});

test('the corrupt blob a run found is removed', async () => {
  const { b, digest } = await damagedBlob(join(work, 'alone'));
  assert.equal(await b.verify(digest), false);
  await b.evict(digest);
  assert.equal(await b.has(digest), false);
});

test('a directory planted where a cached blob goes is found corrupt, removed, and the blob stored (not an internal EISDIR)', async () => {
  const store = new BlobStore(join(work, 'planted-dir'));
  const { digest } = await store.writeBytes(GOOD);
  await rm(store.path(digest));
  await mkdir(join(store.path(digest), 'inside'), { recursive: true });
  assert.equal(await store.verify(digest), false);
  await store.evict(digest);
  await store.writeBytes(GOOD);
  assert.deepEqual(await readFile(store.path(digest)), GOOD);
});

test('a cached blob of another size than the one expected (a sparse file of a TiB) is found corrupt without being read', async () => {
  const store = new BlobStore(join(work, 'sparse'));
  const { digest, size } = await store.writeBytes(GOOD);
  await truncate(store.path(digest), 2 ** 40);
  // in a child with a timeout: hashing the TiB would take an hour
  const script = `const { BlobStore } = await import(${JSON.stringify(new URL('../../src/oci/blob-store.js', import.meta.url).href)});
    const store = new BlobStore(${JSON.stringify(store.root)});
    console.log(await store.verify(${JSON.stringify(digest)}, ${size}));`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(res.status, 0, `it ended (signal ${res.signal}): ${res.stderr}`);
  assert.equal(res.stdout.trim(), 'false');
  await store.evict(digest);
  assert.equal(await store.has(digest), false);
});

test('the stat index keeps what two runs recorded at once, and not what one found changed', async () => {
  const dir = join(work, 'stat-index');
  const index = join(dir, 'verified.json');
  const files = ['one', 'two', 'three'].map((n) => join(dir, n));
  await mkdir(dir, { recursive: true });
  await Promise.all(files.map((f) => writeFile(f, f)));
  const big = (path: string) => statSync(path, { bigint: true });
  const later = Date.now() + RACY_MS + 10_000;
  const first = StatIndex.load(index);
  first.note(files[2]!, 'sha256:3', big(files[2]!), later);
  await first.save();
  // two runs load the index, each hashes the blobs of its own layout, each saves when it ends
  const a = StatIndex.load(index);
  const b = StatIndex.load(index);
  a.note(files[0]!, 'sha256:1', big(files[0]!), later);
  b.note(files[1]!, 'sha256:2', big(files[1]!), later);
  b.forget(files[2]!); // b found it changed
  await a.save();
  await b.save();
  const after = StatIndex.load(index);
  assert.equal(after.trusts(files[0]!, 'sha256:1', big(files[0]!)), true, "the first run's record was lost");
  assert.equal(after.trusts(files[1]!, 'sha256:2', big(files[1]!)), true);
  assert.equal(after.trusts(files[2]!, 'sha256:3', big(files[2]!)), false, 'a forgotten record came back');
});

test('a parsed index another run wrote anew after this one found the old entry corrupt is not removed', async () => {
  const cache = join(work, 'indexes');
  const path = indexCachePath(cache, 'd'.repeat(64));
  await mkdir(join(cache, 'indexes'), { recursive: true });
  await writeFile(path, 'a damaged entry');
  const fd = openSync(path, 'r'); // this run's scan found it corrupt…
  try {
    // …another run renamed its new entry into place meanwhile
    await writeFile(`${path}.new`, 'the entry written again');
    await rename(`${path}.new`, path);
    removeFoundCorrupt(path, fd);
    assert.equal(await readFile(path, 'utf8'), 'the entry written again');
  } finally {
    closeSync(fd);
  }
  // alone, the corrupt entry is removed
  const again = openSync(path, 'r');
  removeFoundCorrupt(path, again);
  closeSync(again);
  assert.equal(existsSync(path), false);
});
