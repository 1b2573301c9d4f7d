import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { digestOf } from '../../src/oci/digest.js';
import { memoryBlob, type ImageGraph, type Referrer } from '../../src/oci/graph.js';
import { jsonBlob } from '../../src/oci/json.js';
import { artifactManifestBlob, EMPTY_DESCRIPTOR, EMPTY_JSON_BYTES, imageManifestBlob } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor } from '../../src/oci/types.js';
import { sbomReferrer } from '../../src/sbom/referrer.js';
import { openLayoutSink } from '../../src/sink/layout/layout-sink.js';
import { publish } from '../../src/sink/publish.js';
import { checkLayout, readLayout } from '../../src/source/oci-layout.js';

// The layout sink writes the loose `sbom/<title>` files from the graph's referrers (oci/artifacts.ts
// kinds with a loose directory): the newest document of a title, nothing for other artifact types,
// and nothing outside `sbom/` whatever title a referrer's layer carries.

const work = await mkdtemp(join(tmpdir(), 'alba-loose-files-'));
after(() => rm(work, { recursive: true, force: true }));

const empty = memoryBlob({ bytes: EMPTY_JSON_BYTES, descriptor: EMPTY_DESCRIPTOR });

function image(): ImageGraph {
  const layer = Buffer.from('a layer');
  const layerBlob = memoryBlob({
    bytes: layer,
    descriptor: { mediaType: MediaType.layerGzip, digest: digestOf(layer), size: layer.length },
  });
  const config = memoryBlob(jsonBlob({ architecture: 'amd64', os: 'linux' }, MediaType.config));
  const manifest = memoryBlob(imageManifestBlob({ config: config.descriptor, layers: [layerBlob.descriptor] }));
  return { root: manifest, images: [{ manifest, blobs: [config, layerBlob] }], referrers: [] };
}

function sbom(subject: Descriptor, text: string, title: string, created: number): Referrer {
  const r = sbomReferrer({ sbom: Buffer.from(text), subject, created, title });
  return { manifest: memoryBlob(r.manifest), blobs: [empty, memoryBlob(r.sbom)], subject };
}

test('the loose files are the SBOM layers by title, the newest of a title; another artifact type gets none', async () => {
  const graph = image();
  const subject = graph.root.descriptor;
  const doc = Buffer.from('{"sig":1}');
  const signature: Referrer = {
    manifest: memoryBlob(
      artifactManifestBlob({
        artifactType: 'application/vnd.example.signature',
        layers: [
          {
            mediaType: 'application/vnd.example.signature',
            digest: digestOf(doc),
            size: doc.length,
            annotations: { 'org.opencontainers.image.title': 'sig.json' },
          },
        ],
        subject,
      }),
    ),
    blobs: [
      empty,
      memoryBlob({ bytes: doc, descriptor: { mediaType: 'application/vnd.example.signature', digest: digestOf(doc), size: doc.length } }),
    ],
    subject,
  };
  graph.referrers.push(
    sbom(subject, '{"v":"old"}', 'amd64.spdx.json', 100),
    sbom(subject, '{"v":"new"}', 'amd64.spdx.json', 200),
    sbom(subject, '{"v":"i"}', 'index.spdx.json', 100),
    signature,
  );
  const dir = join(work, 'kinds');
  await publish(graph, await openLayoutSink({ dir }), ['1']);
  await checkLayout(await readLayout(dir), { hashes: true });
  assert.deepEqual((await readdir(dir)).sort(), ['blobs', 'index.json', 'oci-layout', 'sbom']);
  assert.deepEqual((await readdir(join(dir, 'sbom'))).sort(), ['amd64.spdx.json', 'index.spdx.json']);
  assert.equal(await readFile(join(dir, 'sbom', 'amd64.spdx.json'), 'utf8'), '{"v":"new"}');
});

test('a layer title that is not a plain file name gets no file: nothing is written outside sbom/', async () => {
  const graph = image();
  const subject = graph.root.descriptor;
  const titles = ['../escape.json', '../../outside.json', '.hidden', 'a/b.json', '/abs.json'];
  graph.referrers.push(...titles.map((t, i) => sbom(subject, `{"t":${i}}`, t, i)), sbom(subject, '{"ok":1}', 'ok.spdx.json', 0));
  const base = join(work, 'hostile');
  const dir = join(base, 'deep', 'out');
  const told: string[] = [];
  await publish(graph, await openLayoutSink({ dir, log: (line) => told.push(line) }), ['1']);
  assert.deepEqual(await readdir(join(dir, 'sbom')), ['ok.spdx.json']);
  assert.deepEqual((await readdir(dir)).sort(), ['blobs', 'index.json', 'oci-layout', 'sbom']);
  assert.deepEqual(await readdir(join(base, 'deep')), ['out'], 'nothing beside the layout');
  assert.deepEqual(await readdir(base), ['deep']);
  assert.equal(told.length, titles.length, told.join('\n'));
});
