import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestOf, type Digest } from '../../src/oci/digest.js';
import { reach, unreachedBy, type GraphReader, type StoredReferrers } from '../../src/oci/reachability.js';
import type { Descriptor } from '../../src/oci/types.js';

// A store in memory: manifests by digest, referrers tags by subject.
const manifests = new Map<string, Buffer>();
const referrersTags = new Map<string, Buffer>();
const M = 'application/vnd.oci.image.manifest.v1+json';

function put(json: unknown): Descriptor {
  const bytes = Buffer.from(JSON.stringify(json));
  const digest = digestOf(bytes);
  manifests.set(digest, bytes);
  return { mediaType: M, digest, size: bytes.length };
}
const blob = (name: string, size: number): Descriptor => ({ mediaType: 'application/octet-stream', digest: digestOf(name), size });
function refer(subject: Descriptor, referrers: Descriptor[]): Descriptor {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: referrers }));
  referrersTags.set(subject.digest, bytes);
  manifests.set(digestOf(bytes), bytes);
  return { mediaType: 'application/vnd.oci.image.index.v1+json', digest: digestOf(bytes), size: bytes.length };
}
const reader: GraphReader = {
  manifest: async (d) => manifests.get(d),
  referrers: async (subject): Promise<StoredReferrers> => {
    const bytes = referrersTags.get(subject);
    if (bytes === undefined) return { entries: [] };
    return {
      entries: (JSON.parse(bytes.toString()) as { manifests: Descriptor[] }).manifests,
      tagIndex: { digest: digestOf(bytes), size: bytes.length },
    };
  },
  invalid: (d, why) => new Error(`${d}: ${why}`),
};

const base = blob('base layer', 1000);
const shared = put({ config: blob('cfg shared', 10), layers: [base] }); // a platform manifest in both indexes
const onlyOld = put({ config: blob('cfg old', 10), layers: [base, blob('old layer', 500)] });
const onlyNew = put({ config: blob('cfg new', 10), layers: [base, blob('new layer', 700)] });
const oldIndex = put({ manifests: [shared, onlyOld] });
const newIndex = put({ manifests: [shared, onlyNew] });
const sbomOld = put({ config: blob('empty', 2), layers: [blob('sbom old', 300)], subject: onlyOld });
const sbomShared = put({ config: blob('empty', 2), layers: [blob('sbom shared', 300)], subject: shared });
const oldTagIndex = refer(onlyOld, [sbomOld]);
refer(shared, [sbomShared]);

test('reach: children, configs, layers, referrers and their tag indexes; parents before children', async () => {
  const r = await reach([oldIndex.digest as Digest], reader);
  for (const d of [oldIndex, shared, onlyOld, sbomOld, sbomShared]) assert.ok(r.manifests.has(d.digest as Digest), d.digest);
  assert.ok(r.blobs.has(base.digest as Digest) && r.blobs.has(digestOf('sbom old')));
  assert.equal(r.referrersTags.get(onlyOld.digest as Digest)?.digest, oldTagIndex.digest);
  assert.equal(r.order[0], oldIndex.digest);
  assert.ok(r.order.indexOf(onlyOld.digest as Digest) < r.order.indexOf(sbomOld.digest as Digest));
});

test('unreachedBy: what only the removed index reaches, the shared platform manifest, its SBOM and base layer spared; same answer every run', async () => {
  const kept = await reach([newIndex.digest as Digest], reader);
  const removed = await reach([oldIndex.digest as Digest], reader);
  const gone = unreachedBy(kept, removed);
  assert.deepEqual(
    gone.manifests.map((m) => m.digest),
    [oldIndex.digest, ...[onlyOld.digest].sort(), sbomOld.digest, oldTagIndex.digest],
  );
  assert.deepEqual(gone.blobs.map((b) => b.digest).sort(), [digestOf('cfg old'), digestOf('old layer'), digestOf('sbom old')].sort());
  assert.deepEqual(gone.referrersTags, [onlyOld.digest]);
  assert.deepEqual(unreachedBy(await reach([newIndex.digest as Digest], reader), await reach([oldIndex.digest as Digest], reader)), gone);
});

test('a missing manifest is skipped; one whose bytes do not match its digest, or that is not a manifest, is an error (never an empty reach)', async () => {
  const missing = digestOf('nowhere');
  assert.equal((await reach([missing], reader)).manifests.size, 0);
  const liar: GraphReader = { ...reader, manifest: async () => Buffer.from('{"manifests":[]}') };
  await assert.rejects(reach([oldIndex.digest as Digest], liar), /its content hashes to/);
  const garbage = Buffer.from('{"manifests": "x"}');
  const broken: GraphReader = { ...reader, manifest: async () => garbage };
  await assert.rejects(reach([digestOf(garbage)], broken), /not descriptors/);
  const text = Buffer.from('not json');
  await assert.rejects(reach([digestOf(text)], { ...reader, manifest: async () => text }), /not JSON/);
});
