import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { after, test } from 'node:test';
import { createGzip, gzipSync } from 'node:zlib';
import { layerRecordJson } from '../../src/builder/layer-cache.js';
import { nameOf, RemoteLayerCache, type LayerWant, type RemoteCacheBackend } from '../../src/builder/remote-cache.js';
import type { LockedPackage } from '../../src/lock/lock-types.js';
import { BlobStore, type Expected, type Stored } from '../../src/oci/blob-store.js';
import { digestOf, type Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';

// The remote cache's read path with a backend serving streams from memory: a layer blob is
// streamed into the local store while hashed and gunzipped, and stored only when its digest,
// size and diff_id are the record's. The real backends (S3 on RGW, a registry) are in
// test/integration/remote-cache*.test.ts.

const work = await mkdtemp(join(tmpdir(), 'alba-remote-cache-stream-'));
after(() => rm(work, { recursive: true, force: true }));
let runs = 0;

const pkg: LockedPackage = {
  name: 'hello',
  version: '1.0-1',
  architecture: 'amd64',
  source: 'hello',
  sourceVersion: '1.0-1',
  repo: 'http://deb.example/debian',
  suite: 'bookworm',
  component: 'main',
  filename: 'pool/main/h/hello/hello_1.0-1_amd64.deb',
  size: 1000,
  sha256: 'a'.repeat(64),
  dependsOn: [],
};
const want: LayerWant = { packages: [pkg], sourceDateEpoch: 0, caCertificates: 'bundle' };
const name = nameOf(want);

/** The entry of a layer with these digest, size and diff_id, as the remote cache holds it. */
function entry(layer: { digest: Digest; size: number; diffId: Digest }): Buffer {
  const record = layerRecordJson({
    ...layer,
    mediaType: MediaType.layerGzip,
    packages: [{ control: 'Package: hello\nVersion: 1.0-1\nArchitecture: amd64\n', fileCount: 1, captured: new Map() }],
  });
  return Buffer.from(JSON.stringify({ key: name, record: JSON.parse(record) as unknown }));
}

/** A backend holding one entry whose blob is served by `serve` (a fresh stream per read). */
function backend(record: Buffer, serve: () => Readable): RemoteCacheBackend {
  return {
    whereRecord: (n) => `mem:records/${n}`,
    whereBlob: (d) => `mem:blobs/${d}`,
    readRecord: async (n) => (n === name ? record : undefined),
    readBlob: async () => serve(),
    hasRecord: async () => true,
    writeEntry: async () => undefined,
  };
}

/** A store counting the bytes its writes consumed. */
class CountingStore extends BlobStore {
  consumed = 0;
  override write(source: Readable, expected?: Expected): Promise<Stored> {
    const count = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        this.consumed += chunk.length;
        done(null, chunk);
      },
    });
    // (kept until the store's pipeline reads it, as remote-cache.ts does)
    count.on('error', () => undefined);
    source.on('error', (err) => count.destroy(err));
    return super.write(source.pipe(count), expected);
  }
}

async function fill(serve: () => Readable, layer: { digest: Digest; size: number; diffId: Digest }) {
  const dir = join(work, `run-${++runs}`);
  // the store as the build has it: nothing listens to the body before the store's pipeline does
  const store = new BlobStore(join(dir, 'blobs'));
  const warnings: string[] = [];
  const cache = new RemoteLayerCache(backend(entry(layer), serve), { mode: 'read', log: (line) => warnings.push(line) });
  const held = await cache.fill(store, dir, [want]);
  return { held: held.has(name), stored: await store.has(layer.digest), warnings, report: cache.report };
}

const sha256 = (bytes: Buffer): Digest => digestOf(bytes);
const tar = Buffer.alloc(300_000, 'layer bytes ');
const blob = gzipSync(tar);
const good = { digest: sha256(blob), size: blob.length, diffId: sha256(tar) };

test('a layer blob is streamed into the store, checked, and counted', async () => {
  const r = await fill(() => Readable.from([blob.subarray(0, 1000), blob.subarray(1000)]), good);
  assert.equal(r.held, true, r.warnings.join('\n'));
  assert.equal(r.stored, true);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.report.blobBytes, blob.length);
  assert.equal(r.report.hits, 1);
});

test('a blob whose uncompressed bytes are not the diff_id of its record is refused, and never stored', async () => {
  const r = await fill(() => Readable.from([blob]), { ...good, diffId: sha256(Buffer.from('another layer')) });
  assert.equal(r.held, false);
  assert.equal(r.stored, false, 'the refused blob is in the store');
  assert.match(r.warnings.join('\n'), /refused \(its layer's uncompressed bytes hash to sha256:[0-9a-f]{64}, not to the diff_id/);
  assert.equal(r.report.refused, 1);
});

test("a blob that is not gzip is refused, and never stored, even when its digest and size are the record's", async () => {
  const garbage = Buffer.from('not a gzip stream at all');
  const r = await fill(() => Readable.from([garbage]), { digest: sha256(garbage), size: garbage.length, diffId: good.diffId });
  assert.equal(r.held, false);
  assert.equal(r.stored, false);
  assert.match(r.warnings.join('\n'), /refused \(its layer is not gzip/);
});

test('a blob with other bytes than its digest, or cut short, is refused, and never stored', async () => {
  const flipped = Buffer.from(blob);
  flipped[flipped.length >> 1]! ^= 0xff;
  const r = await fill(() => Readable.from([flipped]), good);
  assert.equal(r.stored, false);
  assert.match(r.warnings.join('\n'), /refused \(.*expected sha256:[0-9a-f]{64}, got sha256:/);
  const cut = await fill(() => Readable.from([blob.subarray(0, blob.length - 10)]), good);
  assert.equal(cut.stored, false);
  assert.match(cut.warnings.join('\n'), /refused \(.*expected \d+ bytes, got \d+/);
});

test('a server sending more than the record says is not read to the end', async () => {
  let served = 0;
  const endless = (): Readable =>
    new Readable({
      read() {
        served += blob.length;
        this.push(served > 256 * 1024 * 1024 ? null : blob);
      },
    });
  const r = await fill(endless, good);
  assert.equal(r.stored, false);
  assert.match(r.warnings.join('\n'), /refused \(.*more than the \d+ bytes expected/);
  assert.ok(served < 16 * 1024 * 1024, `${served} bytes read of a blob of ${blob.length}`);
});

test('memory stays flat with the size of a layer: the body is written while it is read', async () => {
  // a 64 MiB layer (gzip level 0: stored blocks, fast), made afresh for each read; the reader may run
  // ahead of what the store has consumed by a few buffers, never by the layer
  const chunk = Buffer.alloc(256 * 1024);
  for (let i = 0; i < chunk.length; i += 32) createHash('sha256').update(String(i)).digest().copy(chunk, i);
  const count = 256;
  const layerStream = (): Readable =>
    Readable.from(
      (function* () {
        for (let i = 0; i < count; i++) yield chunk;
      })(),
    ).pipe(createGzip({ level: 0 }));
  const tarHash = createHash('sha256');
  for (let i = 0; i < count; i++) tarHash.update(chunk);
  const blobHash = createHash('sha256');
  let size = 0;
  for await (const b of layerStream()) {
    blobHash.update(b as Buffer);
    size += (b as Buffer).length;
  }
  const layer = { digest: `sha256:${blobHash.digest('hex')}` as Digest, size, diffId: `sha256:${tarHash.digest('hex')}` as Digest };
  let served = 0;
  let ahead = 0;
  const store = new CountingStore(join(work, `run-${++runs}`, 'blobs'));
  const serve = (): Readable =>
    layerStream().pipe(
      new Transform({
        transform(b: Buffer, _encoding, done) {
          served += b.length;
          ahead = Math.max(ahead, served - store.consumed);
          done(null, b);
        },
      }),
    );
  const warnings: string[] = [];
  const cache = new RemoteLayerCache(backend(entry(layer), serve), { mode: 'read', log: (line) => warnings.push(line) });
  const held = await cache.fill(store, join(work, `run-${runs}`), [want]);
  assert.equal(held.has(name), true, warnings.join('\n'));
  assert.equal(store.consumed, size);
  assert.ok(size > 64 * 1024 * 1024);
  assert.ok(ahead < 8 * 1024 * 1024, `the reader ran ${ahead} bytes ahead of the store (a layer of ${size})`);
});

test('a gzip bomb (more unpacked than 200 times its size) is refused before it is hashed whole, never stored', async () => {
  // 64 MiB of zeros in one gzip member of ~64 KiB, the member 32 times over: ~2 MiB unpacking to 2 GiB
  const member = gzipSync(Buffer.alloc(64 * 1024 * 1024));
  const bomb = Buffer.concat(Array.from({ length: 32 }, () => member));
  const unpacked = createHash('sha256');
  for (let i = 0; i < 32; i++) unpacked.update(Buffer.alloc(64 * 1024 * 1024));
  const layer = { digest: sha256(bomb), size: bomb.length, diffId: `sha256:${unpacked.digest('hex')}` as Digest };
  const r = await fill(() => Readable.from([bomb]), layer);
  assert.equal(r.stored, false);
  assert.match(r.warnings.join('\n'), /refused \(its layer of \d+ bytes unpacks to more than \d+ \(a gzip bomb\)/);
});

/** The remote cache's read of one record (no blob): held or refused, with the warnings. */
async function fillRecord(record: Buffer): Promise<{ held: boolean; warnings: string[] }> {
  const dir = join(work, `run-${++runs}`);
  const warnings: string[] = [];
  const cache = new RemoteLayerCache(
    backend(record, () => Readable.from([blob])),
    { mode: 'read', log: (line) => warnings.push(line) },
  );
  const held = await cache.fill(new BlobStore(join(dir, 'blobs')), dir, [want]);
  return { held: held.has(name), warnings };
}

test('records that are JSON but not entries, or whose fields have other types, are refused: the build goes on', async () => {
  const base = JSON.parse(entry(good).toString()) as { key: string; record: Record<string, unknown> };
  const variants: [string, unknown][] = [
    ['null', null],
    ['an array', [1]],
    ['a layer media type that is not gzip', { ...base, record: { ...base.record, mediaType: 'application/vnd.oci.image.layer.v1.tar' } }],
    ['a copyright that is no string', { ...base, record: { ...base.record, copyright: {} } }],
    ['maintainer facts of another shape', { ...base, record: { ...base.record, maintainer: { actions: 'x' } } }],
    ['captured files that are no strings', { ...base, record: { ...base.record, captured: { '/etc/x': 1 } } }],
  ];
  for (const [what, value] of variants) {
    const r = await fillRecord(Buffer.from(JSON.stringify(value)));
    assert.equal(r.held, false, what);
    assert.match(r.warnings.join('\n'), /refused/, what);
  }
});
