import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { buildBaseLayer } from '../../src/layer/base-layer.js';
import { imageConfigBlob } from '../../src/oci/config.js';
import { BlobStore } from '../../src/oci/blob-store.js';
import { parseDigest } from '../../src/oci/digest.js';
import { imageIndexBlob } from '../../src/oci/image-index.js';
import { fileBlob, memoryBlob, type ImageGraph } from '../../src/oci/graph.js';
import { openLayoutSink } from '../../src/sink/layout/layout-sink.js';
import { platformRefName } from '../../src/sink/layout/layout-refs.js';
import { publish } from '../../src/sink/publish.js';
import { Annotation } from '../../src/oci/manifest-json.js';
import { checkLayout, readLayout } from '../../src/source/oci-layout.js';
import { imageManifestBlob } from '../../src/oci/manifest.js';
import type { Platform } from '../../src/oci/types.js';
import { DEFAULT_GROUPS, DEFAULT_USERS } from '../../src/recipe/default-accounts.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

let dir: string;
let store: BlobStore;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alba-layout-write-'));
  store = new BlobStore(join(dir, 'store'));
});
after(() => rm(dir, { recursive: true, force: true }));

const PLATFORMS: Platform[] = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
];

/** A small 2-platform image (one base layer), to be written to `out` with `tag`. */
interface LayoutInput {
  dir: string;
  tag: string;
  graph: ImageGraph;
}

/** Publishes the image to a layout sink. */
async function writeLayout(input: LayoutInput): Promise<void> {
  await publish(input.graph, await openLayoutSink({ dir: input.dir }), [input.tag]);
}

async function image(out: string, tag: string, epoch: number): Promise<LayoutInput> {
  const layer = await buildBaseLayer({ store, users: DEFAULT_USERS, groups: DEFAULT_GROUPS, sourceDateEpoch: epoch });
  const configs = PLATFORMS.map((platform) =>
    imageConfigBlob({ created: epoch, platform, layers: [{ diffId: layer.diffId, createdBy: 'alba: base' }] }),
  );
  const manifests = PLATFORMS.map((platform, i) =>
    imageManifestBlob(
      { config: configs[i]!.descriptor, layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }] },
      platform,
    ),
  );
  const index = imageIndexBlob({ manifests: manifests.map((m) => m.descriptor) });
  const layerBlob = fileBlob({ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, store.path(layer.digest));
  return {
    dir: out,
    tag,
    graph: {
      root: memoryBlob(index),
      images: manifests.map((m, i) => ({ manifest: memoryBlob(m), blobs: [memoryBlob(configs[i]!), layerBlob] })),
      referrers: [],
    },
  };
}

describe('layout sink', () => {
  test('writes oci-layout, index.json with per-platform refs, and every blob', async () => {
    const out = join(dir, 'out1');
    const input = await image(out, 'v1', 1_700_000_000);
    await writeLayout(input);
    assert.equal(await readFile(join(out, 'oci-layout'), 'utf8'), '{"imageLayoutVersion":"1.0.0"}');
    const layout = await readLayout(out);
    assert.deepEqual(
      layout.index.manifests.map((m) => m.annotations?.[Annotation.refName]),
      ['v1', 'v1-linux-amd64', 'v1-linux-arm64-v8'],
    );
    assert.equal(layout.findRef('v1')?.digest, input.graph.root.descriptor.digest);
    await checkLayout(layout, { hashes: true });
    assert.deepEqual(await readdir(join(out, 'blobs')), ['sha256'], 'no temp directory is left in blobs/');
    assert.equal((await readdir(join(out, 'blobs', 'sha256'))).length, 1 + 2 + 2 + 1);
  });

  test('platformRefName', () => {
    assert.equal(platformRefName('1.2', { os: 'linux', architecture: 'arm', variant: 'v7' }), '1.2-linux-arm-v7');
    assert.equal(platformRefName('1.2', { os: 'linux', architecture: '386' }), '1.2-linux-386');
  });

  test('replaces a previous layout as a whole', async () => {
    const out = join(dir, 'out2');
    await writeLayout(await image(out, 'old', 1_600_000_000));
    // a directory among the blobs (planted, or left by another tool) goes with the old layout, not failing the write after its commit
    await mkdir(join(out, 'blobs', 'sha256', 'not-a-blob', 'inside'), { recursive: true });
    const second = await image(out, 'new', 1_700_000_000);
    await writeLayout(second);
    const layout = await readLayout(out);
    assert.equal(layout.findRef('old'), undefined);
    assert.ok(layout.findRef('new-linux-amd64'));
    await checkLayout(layout, { hashes: true });
    const leftovers = (await readdir(dir)).filter((n) => n.startsWith('.out2'));
    assert.deepEqual(leftovers, [], 'no temp or old directory is left beside the output');
    assert.equal((await readdir(join(out, 'blobs', 'sha256'))).length, 1 + 2 + 2 + 1, "the old layout's blobs are gone");
  });

  test('a failed write leaves the previous output untouched', async () => {
    const out = join(dir, 'out3');
    await writeLayout(await image(out, 'good', 1_600_000_000));
    const before = await snapshotTree(out);
    const broken = await image(out, 'bad', 1_700_000_000);
    const missing = parseDigest(`sha256:${'0'.repeat(64)}`);
    broken.graph.images[0]!.blobs.push(fileBlob({ mediaType: 'application/octet-stream', digest: missing, size: 1 }, store.path(missing)));
    await assert.rejects(writeLayout(broken), (err: unknown) => isAlbaError(err, 'BLOB_MISSING') && err.message.includes('is missing'));
    assert.deepEqual(await snapshotTree(out), before, 'the previous layout is the same, file by file');
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith('.out3')),
      [],
    );
  });

  test('committed is told of the written layout while its lock is held, fresh or in place, and not after a failure', async () => {
    // the warm-build stamp records what it sees then: after the lock's release, a waiting build may already be replacing it
    const out = join(dir, 'out-committed');
    const lock = join(dir, '.out-committed.alba-lock');
    // what the callback saw, checked after (what it throws is only logged: the layout is written either way)
    const seen: { at: string; locked: boolean; index: string }[] = [];
    const committed = (at: string): void =>
      void seen.push({ at, locked: existsSync(lock), index: readFileSync(join(at, 'index.json'), 'utf8') });
    for (const tag of ['first', 'second']) {
      const input = await image(out, tag, 1_700_000_000);
      await publish(input.graph, await openLayoutSink({ dir: out, committed }), [tag]);
    }
    assert.deepEqual(
      seen.map((s) => s.at),
      [out, out],
      'once per write: fresh, then in place',
    );
    assert.deepEqual(
      seen.map((s) => s.locked),
      [true, true],
      'the lock is still held',
    );
    assert.ok(seen[0]!.index.includes('"first"') && seen[1]!.index.includes('"second"'), 'each saw the layout it wrote');
    const logged: string[] = [];
    const thrower = (): void => {
      throw new Error('callback broke');
    };
    const third = await image(out, 'third', 1_700_000_000);
    await publish(third.graph, await openLayoutSink({ dir: out, committed: thrower, log: (l) => logged.push(l) }), ['third']);
    assert.match(
      logged.join('\n'),
      /committed callback failed: Error: callback broke/,
      'a throwing callback is told to log, the write stands',
    );
    assert.ok((await readLayout(out)).findRef('third'));
    assert.ok(!existsSync(lock), 'released after');
    const broken = await image(out, 'bad', 1_700_000_000);
    const missing = parseDigest(`sha256:${'1'.repeat(64)}`);
    broken.graph.images[0]!.blobs.push(fileBlob({ mediaType: 'application/octet-stream', digest: missing, size: 1 }, store.path(missing)));
    // the missing blob's error, not any: an assertion of committed failing inside the publish would be one too
    await assert.rejects(publish(broken.graph, await openLayoutSink({ dir: out, committed }), ['bad']), (err: unknown) =>
      isAlbaError(err, 'BLOB_MISSING'),
    );
    assert.equal(seen.length, 2, 'a failed write is not told');
  });

  test('a layout whose index references a missing blob is refused before the swap', async () => {
    const out = join(dir, 'out4');
    const input = await image(out, 'x', 1_700_000_000);
    input.graph.images[0]!.blobs.shift(); // drop the amd64 config
    await assert.rejects(writeLayout(input), (err: unknown) => isAlbaError(err, 'LAYOUT_INVALID') && /missing/.test(err.message));
    await assert.rejects(readFile(join(out, 'index.json')));
  });

  test('refuses to replace a directory that is not an OCI layout', async () => {
    const out = join(dir, 'precious');
    await mkdir(out);
    await writeFile(join(out, 'thesis.tex'), 'years of work');
    await assert.rejects(
      writeLayout(await image(out, 'x', 1)),
      (err: unknown) => isAlbaError(err, 'LAYOUT_INVALID') && err.message.includes(out),
    );
    assert.equal(await readFile(join(out, 'thesis.tex'), 'utf8'), 'years of work');
  });

  test('a layout whose blobs/sha256 (or a top-level entry) is a symbolic link is refused: nothing written or deleted through it', async () => {
    for (const link of ['blobs/sha256', 'sbom']) {
      const out = join(dir, `linked-${link.replace('/', '-')}`);
      await writeLayout(await image(out, 'x', 1_600_000_000));
      const elsewhere = join(dir, `elsewhere-${link.replace('/', '-')}`);
      await mkdir(elsewhere);
      await writeFile(join(elsewhere, 'precious.txt'), 'not the layout');
      await rm(join(out, link), { recursive: true, force: true });
      await symlink(elsewhere, join(out, link));
      await assert.rejects(
        writeLayout(await image(out, 'y', 1_700_000_000)),
        (err: unknown) => isAlbaError(err, 'LAYOUT_INVALID') && err.message.includes('symbolic link') && err.message.includes(link),
        link,
      );
      assert.deepEqual(await readdir(elsewhere), ['precious.txt'], `${link}: nothing written or deleted there`);
    }
  });

  test('a blob is copied from the cache, never linked: damage to the cache afterwards does not reach the layout', async () => {
    const out = join(dir, 'out5');
    const input = await image(out, 'x', 1_500_000_000);
    await writeLayout(input);
    const layer = input.graph.images[0]!.blobs[1]!;
    const cached = store.path(parseDigest(layer.descriptor.digest));
    const copied = join(out, 'blobs', 'sha256', layer.descriptor.digest.slice('sha256:'.length));
    assert.notEqual((await stat(copied)).ino, (await stat(cached)).ino, 'the layout shares its inode with the cache');
    await flipByte(cached);
    try {
      await checkLayout(await readLayout(out), { hashes: true });
    } finally {
      await flipByte(cached);
    }
  });

  test('a cached blob whose bytes no longer hash to its digest is refused; the previous layout is untouched', async () => {
    const out = join(dir, 'out6');
    await writeLayout(await image(out, 'good', 1_400_000_000));
    const before = await snapshotTree(out);
    const input = await image(out, 'damaged', 1_300_000_000);
    const cached = store.path(parseDigest(input.graph.images[0]!.blobs[1]!.descriptor.digest));
    await flipByte(cached);
    try {
      await assert.rejects(writeLayout(input), (err: unknown) => isAlbaError(err, 'DIGEST_MISMATCH') && err.message.includes(cached));
    } finally {
      await flipByte(cached);
    }
    assert.deepEqual(await snapshotTree(out), before, 'the previous layout is the same, file by file');
  });
});

/** Flips the middle byte of a file in place (same inode, same size). */
async function flipByte(path: string): Promise<void> {
  const file = await open(path, 'r+');
  try {
    const { size } = await file.stat();
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, size >> 1);
    byte[0]! ^= 0xff;
    await file.write(byte, 0, 1, size >> 1);
  } finally {
    await file.close();
  }
}
