import assert from 'node:assert/strict';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { mkdtemp, readdir, rm as rmFs, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { digestOf } from '../../src/oci/digest.js';
import { memoryBlob, type Blob, type ImageGraph } from '../../src/oci/graph.js';
import { imageIndexBlob } from '../../src/oci/image-index.js';
import { jsonBlob } from '../../src/oci/json.js';
import { checkLayout, readLayout } from '../../src/source/oci-layout.js';
import { EMPTY_DESCRIPTOR, EMPTY_JSON_BYTES, imageManifestBlob } from '../../src/oci/manifest.js';
import { sbomReferrer, sbomTitle } from '../../src/sbom/referrer.js';
import { MediaType } from '../../src/oci/media-types.js';
import { openLayoutSink } from '../../src/sink/layout/layout-sink.js';
import { publish } from '../../src/sink/publish.js';
import type * as FsPromises from 'node:fs/promises';

// The layout sink's commit order, seen on the real filesystem: rename(2) and rm of node:fs/promises
// are wrapped (the ESM bindings re-synced) so that every rename and removal under the test's
// directory is recorded, and after each one the layout at the path is checked whole (index.json
// and everything it reaches). index.json must be the last rename into the layout (its commit),
// and the previous layout's blobs must go only after it.

const require = createRequire(import.meta.url);
const fsp = require('node:fs/promises') as typeof FsPromises;
const work = await mkdtemp(join(tmpdir(), 'alba-layout-order-'));
after(() => rmFs(work, { recursive: true, force: true }));

/** What the wrapped calls saw, while recording. */
interface Recording {
  /** `rename <from> -> <to>` or `rm <path>`, paths relative to the work directory. */
  ops: string[];
  /** Checks that failed right after an operation. */
  violations: string[];
}

/** Records renames and removals under `work` while `body` runs, checking `check` after each one. */
async function recording(check: (op: string) => Promise<void>, body: () => Promise<void>): Promise<Recording> {
  const rec: Recording = { ops: [], violations: [] };
  const { rename, rm } = fsp;
  const note = async (op: string): Promise<void> => {
    rec.ops.push(op);
    await check(op).catch((err: unknown) => void rec.violations.push(`after ${op}: ${(err as Error).message}`));
  };
  const rel = (p: unknown): string => relative(work, String(p));
  fsp.rename = async (from, to) => {
    await rename(from, to);
    if (rel(to).startsWith('..')) return;
    await note(`rename ${rel(from)} -> ${rel(to)}`);
  };
  fsp.rm = async (path, options) => {
    const existed = await stat(path).then(
      () => true,
      () => false,
    );
    await rm(path, options);
    if (existed && !rel(path).startsWith('..')) await note(`rm ${rel(path)}`);
  };
  syncBuiltinESMExports();
  try {
    await body();
  } finally {
    fsp.rename = rename;
    fsp.rm = rm;
    syncBuiltinESMExports();
  }
  return rec;
}

/** An index of two images with a layer of `seed` each and one shared by both and by every seed, and an SBOM of the index (its loose file `sbom/index.spdx.json`). */
function graph(seed: string): ImageGraph {
  const layer = (text: string): Blob => {
    const bytes = Buffer.from(text);
    return memoryBlob({ bytes, descriptor: { mediaType: MediaType.layerGzip, digest: digestOf(bytes), size: bytes.length } });
  };
  const shared = layer('a layer every version shares');
  const images = (['amd64', 'arm64'] as const).map((architecture) => {
    const own = layer(`${seed} for ${architecture}`);
    const config = memoryBlob(jsonBlob({ architecture, os: 'linux', seed }, MediaType.config));
    return {
      manifest: memoryBlob(
        imageManifestBlob({ config: config.descriptor, layers: [shared.descriptor, own.descriptor] }, { os: 'linux', architecture }),
      ),
      blobs: [config, shared, own],
    };
  });
  const root = memoryBlob(imageIndexBlob({ manifests: images.map((i) => i.manifest.descriptor) }));
  const sbom = sbomReferrer({ sbom: Buffer.from(`{"sbom":"${seed}"}`), subject: root.descriptor, created: 0, title: sbomTitle() });
  const referrers = [
    {
      manifest: memoryBlob(sbom.manifest),
      blobs: [memoryBlob({ bytes: EMPTY_JSON_BYTES, descriptor: EMPTY_DESCRIPTOR }), memoryBlob(sbom.sbom)],
      subject: root.descriptor,
    },
  ];
  return { root, images, referrers };
}

/** The layout at `dir` is whole: oci-layout and index.json read, every blob the index reaches is there with its size. */
async function whole(dir: string): Promise<void> {
  await checkLayout(await readLayout(dir));
}

describe('layout sink commit order', () => {
  test('updating a layout in place: blobs and files first, index.json renamed last, the old blobs removed only after it; whole at every step', async () => {
    const out = join(work, 'in-place');
    await publish(graph('one'), await openLayoutSink({ dir: out }), ['1']);
    const oldBlobs = new Set(await readdir(join(out, 'blobs', 'sha256')));
    const next = graph('two');
    const rec = await recording(
      async (op) => {
        if (op.includes('in-place')) await whole(out);
      },
      async () => {
        await publish(next, await openLayoutSink({ dir: out }), ['2']);
      },
    );
    assert.deepEqual(rec.violations, [], rec.ops.join('\n'));
    const intoLayout = rec.ops.filter((op) => / -> in-place\//.test(op));
    const commit = rec.ops.findIndex((op) => op.endsWith('-> in-place/index.json'));
    assert.ok(commit >= 0, `index.json was replaced by a rename:\n${rec.ops.join('\n')}`);
    assert.equal(intoLayout.at(-1), rec.ops[commit], `index.json is the last file renamed into the layout:\n${intoLayout.join('\n')}`);
    for (const part of ['in-place/oci-layout', 'in-place/sbom/index.spdx.json', 'in-place/blobs/sha256/']) {
      assert.ok(
        rec.ops.slice(0, commit).some((op) => op.includes(`-> ${part}`)),
        `${part} written before index.json`,
      );
    }
    const removals = rec.ops.map((op, i) => [op, i] as const).filter(([op]) => op.startsWith('rm in-place/blobs/sha256/'));
    const gone = [...oldBlobs].filter(
      (hex) =>
        ![...next.images, ...next.referrers].some((i) => [i.manifest, ...i.blobs].some((b) => b.descriptor.digest === `sha256:${hex}`)) &&
        next.root.descriptor.digest !== `sha256:${hex}`,
    );
    assert.ok(gone.length >= 4, 'the new version leaves old blobs behind');
    assert.deepEqual(
      removals.map(([op]) => op.slice('rm in-place/blobs/sha256/'.length)).sort(),
      gone.sort(),
      'exactly the old blobs the new index does not reach are removed',
    );
    for (const [op, i] of removals) assert.ok(i > commit, `${op} comes after the index.json rename`);
    await checkLayout(await readLayout(out), { hashes: true });
  });

  test('a new path: the staged layout gets index.json after every blob and file, and appears whole by one rename', async () => {
    const out = join(work, 'fresh');
    const rec = await recording(
      async () => {
        const exists = await stat(out).then(
          () => true,
          () => false,
        );
        if (exists) await whole(out);
      },
      async () => {
        await publish(graph('three'), await openLayoutSink({ dir: out }), ['3']);
      },
    );
    assert.deepEqual(rec.violations, [], rec.ops.join('\n'));
    const appear = rec.ops.findIndex((op) => op.endsWith(' -> fresh'));
    assert.ok(appear >= 0, `the layout appears by a rename:\n${rec.ops.join('\n')}`);
    assert.ok(
      rec.ops.slice(appear + 1).every((op) => op.startsWith('rm .fresh.alba-')),
      `after the layout appears only the staging leftovers go:\n${rec.ops.slice(appear).join('\n')}`,
    );
    const staged = rec.ops.slice(0, appear);
    const index = staged.findIndex((op) => /^rename \S+ -> \.fresh\.alba-[^/]+\/index\.json$/.test(op));
    assert.ok(index >= 0, `index.json is staged by a rename:\n${staged.join('\n')}`);
    assert.equal(index, staged.length - 1, `index.json is the last file staged:\n${staged.join('\n')}`);
    assert.ok(
      staged.slice(0, index).filter((op) => /-> \.fresh\.alba-[^/]+\/blobs\/sha256\//.test(op)).length >= 7,
      'every blob is staged before index.json',
    );
  });
});
