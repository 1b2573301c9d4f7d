// The layout's referrer scan (source/oci-layout.ts): every blob that may be a referrer manifest
// is read, anything else among the blobs (a FIFO, a directory, a layer) is passed over without
// hanging or failing. A FIFO named by a digest that is read (a manifest, a layer) is refused at
// once (util/regular-file.ts), not waited on.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { digestOf } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';

/** A layout whose blobs hold a referrer manifest, the empty blob, a layer, a directory and a FIFO (named `c…c`). */
async function layoutWithFifo(dir: string): Promise<{ referrer: Buffer; subject: string; fifo: string }> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.index, manifests: [] }));
  const empty = { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(Buffer.from('{}')), size: 2 };
  const subject = { mediaType: MediaType.manifest, digest: digestOf(Buffer.from('subject')), size: 7 };
  const referrer = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.manifest,
      artifactType: MediaType.spdx,
      config: empty,
      layers: [empty],
      subject,
    }),
  );
  await writeFile(join(blobs, digestOf(referrer).slice(7)), referrer);
  await writeFile(join(blobs, digestOf(Buffer.from('{}')).slice(7)), '{}');
  await writeFile(join(blobs, 'a'.repeat(64)), Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]));
  await mkdir(join(blobs, 'b'.repeat(64)));
  const fifo = `sha256:${'c'.repeat(64)}`;
  const made = spawnSync('mkfifo', [join(blobs, fifo.slice(7))]);
  assert.equal(made.status, 0, `mkfifo: ${made.stderr}`);
  return { referrer, subject: subject.digest, fifo };
}

/** Runs `script` (an ES module) in a process of its own: one stuck on the FIFO is killed, and fails the test, rather than hanging the suite. */
function runApart(script: string): string {
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(res.status, 0, `it ended (signal ${res.signal}): ${res.stderr}`);
  return res.stdout;
}

/** Runs `work` in a new temporary directory, removed afterwards. */
async function inTempDir(prefix: string, work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const moduleUrl = (path: string): string => JSON.stringify(new URL(path, import.meta.url).href);

test('the referrer scan finds a referrer manifest and passes over a FIFO, a directory and a layer among the blobs', () =>
  inTempDir('alba-layout-scan-', async (dir) => {
    const { referrer, subject } = await layoutWithFifo(dir);
    const found = runApart(`const { readLayout } = await import(${moduleUrl('../../src/source/oci-layout.js')});
      const found = await (await readLayout(${JSON.stringify(dir)})).referrers();
      console.log(JSON.stringify(found.map((r) => [r.descriptor.digest, r.descriptor.artifactType, r.manifest.subject.digest])));`);
    assert.deepEqual(JSON.parse(found), [[digestOf(referrer), MediaType.spdx, subject]]);
  }));

test('a FIFO named by a digest the layout reads, as a manifest or as a streamed blob, is error[LAYOUT_INVALID] at once', () =>
  inTempDir('alba-layout-fifo-', async (dir) => {
    const { fifo } = await layoutWithFifo(dir);
    const codes = runApart(`const { readLayout } = await import(${moduleUrl('../../src/source/oci-layout.js')});
      const { fileBlob } = await import(${moduleUrl('../../src/oci/graph.js')});
      const layout = await readLayout(${JSON.stringify(dir)});
      const digest = ${JSON.stringify(fifo)};
      const stream = async () => {
        for await (const _ of await fileBlob({ mediaType: 'application/octet-stream', digest, size: 4 }, layout.blobPath(digest)).open());
      };
      const codes = [];
      for (const read of [() => layout.readBlob(digest), stream]) codes.push(await read().then(() => 'read', (err) => err.code ?? String(err)));
      console.log(JSON.stringify(codes));`);
    assert.deepEqual(JSON.parse(codes), ['LAYOUT_INVALID', 'LAYOUT_INVALID']);
  }));

test('the layout sink: a blob to copy that is a FIFO is error[LAYOUT_INVALID] at once; a FIFO in the output where a blob goes is replaced by the blob', () =>
  inTempDir('alba-layout-sink-fifo-', async (dir) => {
    const { fifo } = await layoutWithFifo(join(dir, 'source'));
    const bytes = Buffer.from('a blob\n');
    const good = join(dir, 'good');
    await writeFile(good, bytes);
    const outcome = runApart(`const { openLayoutSink } = await import(${moduleUrl('../../src/sink/layout/layout-sink.js')});
      const { fileBlob } = await import(${moduleUrl('../../src/oci/graph.js')});
      const { mkdir } = await import('node:fs/promises');
      const { execFileSync } = await import('node:child_process');
      const put = async (out, blob) => {
        const sink = await openLayoutSink({ dir: out });
        return sink.putBlob(blob).then(() => 'stored', (err) => err.code ?? String(err)).finally(() => sink.finish(false));
      };
      const fromFifo = await put(${JSON.stringify(join(dir, 'out-a'))}, fileBlob({ mediaType: 'application/octet-stream', digest: ${JSON.stringify(fifo)}, size: 4 }, ${JSON.stringify(join(dir, 'source', 'blobs', 'sha256', fifo.slice(7)))}));
      // an earlier layout whose blob is a FIFO: the sink's check of it fails, so the blob is written over it
      const out = ${JSON.stringify(join(dir, 'out-b'))};
      const digest = ${JSON.stringify(digestOf(bytes))};
      await mkdir(out + '/blobs/sha256', { recursive: true });
      const { writeFileSync } = await import('node:fs');
      writeFileSync(out + '/oci-layout', '{"imageLayoutVersion":"1.0.0"}');
      writeFileSync(out + '/index.json', '{"schemaVersion":2,"manifests":[]}');
      execFileSync('mkfifo', [out + '/blobs/sha256/' + digest.slice(7)]);
      const overFifo = await put(out, fileBlob({ mediaType: 'application/octet-stream', digest, size: ${bytes.length} }, ${JSON.stringify(good)}));
      console.log(JSON.stringify([fromFifo, overFifo]));`);
    assert.deepEqual(JSON.parse(outcome), ['LAYOUT_INVALID', 'stored']);
  }));

test('an index.json that is a FIFO is error[LAYOUT_INVALID], a docker archive that is one error[ARCHIVE_INVALID], at once', () =>
  inTempDir('alba-source-fifo-', async (dir) => {
    const layout = join(dir, 'layout');
    await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    const archives = join(dir, 'archives');
    await mkdir(archives);
    for (const fifo of [join(layout, 'index.json'), join(archives, 'linux.amd64.tar')]) {
      const made = spawnSync('mkfifo', [fifo]);
      assert.equal(made.status, 0, `mkfifo: ${made.stderr}`);
    }
    const codes = runApart(`const { readLayout } = await import(${moduleUrl('../../src/source/oci-layout.js')});
      const { readDockerArchives } = await import(${moduleUrl('../../src/source/docker-archives.js')});
      const { BlobStore } = await import(${moduleUrl('../../src/oci/blob-store.js')});
      const code = (p) => p.then(() => 'read', (err) => err.code ?? String(err));
      console.log(JSON.stringify([
        await code(readLayout(${JSON.stringify(layout)})),
        await code(readDockerArchives(${JSON.stringify(archives)}, { store: new BlobStore(${JSON.stringify(join(dir, 'store'))}) })),
      ]));`);
    assert.deepEqual(JSON.parse(codes), ['LAYOUT_INVALID', 'ARCHIVE_INVALID']);
  }));

test('the layout sink: a blob to copy whose file is longer than its descriptor (a sparse file of a TiB) is error[SIZE_MISMATCH] before a byte is copied', () =>
  inTempDir('alba-layout-sink-sparse-', async (dir) => {
    const sparse = join(dir, 'sparse');
    await writeFile(sparse, 'a blob\n');
    await truncate(sparse, 2 ** 40); // takes no disk; a copy of it took the disk's free space, then failed
    const outcome = runApart(`const { openLayoutSink } = await import(${moduleUrl('../../src/sink/layout/layout-sink.js')});
      const { fileBlob } = await import(${moduleUrl('../../src/oci/graph.js')});
      const sink = await openLayoutSink({ dir: ${JSON.stringify(join(dir, 'out'))} });
      const blob = fileBlob({ mediaType: 'application/octet-stream', digest: ${JSON.stringify(digestOf(Buffer.from('a blob\n')))}, size: 7 }, ${JSON.stringify(sparse)});
      const code = await sink.putBlob(blob).then(() => 'stored', (err) => err.code ?? String(err)).finally(() => sink.finish(false));
      console.log(JSON.stringify(code));`);
    assert.equal(JSON.parse(outcome), 'SIZE_MISMATCH');
  }));

test('referrer manifests of more than MAX_LAYOUT_REFERRER_BYTES in all are error[TOO_LARGE] naming the layout, not read into memory without end', () =>
  inTempDir('alba-layout-referrers-cap-', async (dir) => {
    const { MAX_LAYOUT_REFERRER_BYTES } = await import('../../src/source/oci-layout.js');
    const { readLayout } = await import('../../src/source/oci-layout.js');
    const { isAlbaError } = await import('../../src/errors.js');
    const { subject } = await layoutWithFifo(dir);
    const empty = { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(Buffer.from('{}')), size: 2 };
    // referrers of about 4 MiB each (a manifest's cap), a large annotation each: a GB of them took a GB of memory, and more crashed alba
    const pad = 'x'.repeat(4 * 1024 * 1024 - 1024);
    for (let i = 0; i * (4 * 1024 * 1024) <= MAX_LAYOUT_REFERRER_BYTES; i++) {
      const bytes = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.manifest,
          artifactType: 'application/x-filler',
          config: empty,
          layers: [],
          subject: { mediaType: MediaType.manifest, digest: subject, size: 7 },
          annotations: { i: String(i), pad },
        }),
      );
      await writeFile(join(dir, 'blobs', 'sha256', digestOf(bytes).slice(7)), bytes);
    }
    await assert.rejects((await readLayout(dir)).referrers(), (err: unknown) => isAlbaError(err, 'TOO_LARGE') && err.message.includes(dir));
  }));

test('an index of a thousand entries is read a few manifests at a time: not error[LAYOUT_INVALID] (EMFILE) under a limit of 256 open files', () =>
  inTempDir('alba-layout-wide-', async (dir) => {
    const blobs = join(dir, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    const put = async (bytes: Buffer, mediaType: string) => {
      await writeFile(join(blobs, digestOf(bytes).slice(7)), bytes);
      return { mediaType, digest: digestOf(bytes), size: bytes.length };
    };
    const config = await put(
      Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'),
      MediaType.config,
    );
    const manifest = await put(
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.manifest, config, layers: [] })),
      MediaType.manifest,
    );
    const entry = { ...manifest, platform: { os: 'linux', architecture: 'amd64' } };
    const index = await put(
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.index, manifests: Array(1000).fill(entry) })),
      MediaType.index,
    );
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [index] }));
    const script = `const { readLayoutGraph } = await import(${moduleUrl('../../src/source/layout-source.js')});
      console.log((await readLayoutGraph(${JSON.stringify(dir)})).graph.images.length);`;
    const res = spawnSync('sh', ['-c', `ulimit -n 256 && exec "$0" --input-type=module -e "$1"`, process.execPath, script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(res.status, 0, `it ended (signal ${res.signal}): ${res.stderr}`);
    assert.equal(res.stdout.trim(), '1000');
  }));

test("a layer whose file is not its descriptor's size is error[SIZE_MISMATCH] when the layout is read, not published by a sink that holds the digest; a missing one is left to its read", () =>
  inTempDir('alba-layout-sizes-', async (dir) => {
    const blobs = join(dir, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    const put = async (bytes: Buffer): Promise<string> => {
      const digest = digestOf(bytes);
      await writeFile(join(blobs, digest.slice(7)), bytes);
      return digest;
    };
    const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const config = { mediaType: MediaType.config, digest: await put(configBytes), size: configBytes.length };
    const layerBytes = Buffer.from('a layer of 21 bytes\n.');
    const layer = { mediaType: MediaType.layerGzip, digest: await put(layerBytes), size: layerBytes.length };
    const missing = { mediaType: MediaType.layerGzip, digest: digestOf(Buffer.from('not in the layout')), size: 17 };
    const readWith = async (layers: object[]): Promise<string> => {
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.manifest, config, layers }));
      const root = { mediaType: MediaType.manifest, digest: await put(manifest), size: manifest.length };
      await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.index, manifests: [root] }));
      const { readLayoutGraph } = await import('../../src/source/layout-source.js');
      return readLayoutGraph(dir).then(
        () => 'read',
        (err: { code?: string; message?: string }) => `${err.code}: ${err.message}`,
      );
    };
    assert.equal(await readWith([layer, missing]), 'read', 'the right size, and a blob the layout does not hold');
    const lying = await readWith([{ ...layer, size: 20 }]);
    assert.match(lying, /^SIZE_MISMATCH: .*its descriptor says 20 bytes, the file has 21/);
  }));

test('an oci-layout of another imageLayoutVersion than 1.0.0 (or none) is error[LAYOUT_INVALID] naming it', () =>
  inTempDir('alba-layout-version-', async (dir) => {
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.index, manifests: [] }));
    const { readLayout } = await import('../../src/source/oci-layout.js');
    const outcome = async (marker: string): Promise<string> => {
      await writeFile(join(dir, 'oci-layout'), marker);
      return readLayout(dir).then(
        () => 'read',
        (err: { code?: string; message?: string }) => `${err.code}: ${err.message}`,
      );
    };
    assert.equal(await outcome('{"imageLayoutVersion":"1.0.0"}'), 'read');
    assert.match(await outcome('{"imageLayoutVersion":"9.9.9"}'), /^LAYOUT_INVALID: .*"9\.9\.9"/);
    assert.match(await outcome('{}'), /^LAYOUT_INVALID: .*no imageLayoutVersion/);
  }));
