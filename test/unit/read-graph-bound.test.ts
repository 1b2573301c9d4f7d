import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { digestOf, type Digest } from '../../src/oci/digest.js';
import { MAX_GRAPH_MANIFESTS, readGraph, type GraphReader } from '../../src/oci/reachability.js';

// readGraph (what ls, rm and gc read before they plan) stops at MAX_GRAPH_MANIFESTS: a store whose
// referrers listing names new manifests without end (each served under its right digest) is
// error[TOO_LARGE], not a walk that never ends. Here each manifest lists FAN referrers: the root,
// FAN real ones, then FAN × FAN named (never read: the bound is met first).
const FAN = Math.ceil(Math.sqrt(MAX_GRAPH_MANIFESTS)) + 2;
const empty = { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(Buffer.from('{}')), size: 2 };
const manifests = new Map<Digest, Buffer>();
const manifest = (name: string): Digest => {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: empty,
      layers: [],
      annotations: { name },
    }),
  );
  const digest = digestOf(bytes);
  manifests.set(digest, bytes);
  return digest;
};
const named = (name: string): Digest => `sha256:${createHash('sha256').update(name).digest('hex')}` as Digest;

test(`a store listing referrers without end: error[TOO_LARGE] past ${MAX_GRAPH_MANIFESTS} manifests`, async () => {
  const root = manifest('root');
  let read = 0;
  const reader: GraphReader = {
    manifest: async (d) => (read++, manifests.get(d)),
    referrers: async (subject) => ({
      entries: Array.from({ length: FAN }, (_, i) => ({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: subject === root ? manifest(`r${i}`) : named(`${subject}/${i}`),
        size: 200,
      })),
    }),
    invalid: (d, why) => new Error(`${d}: ${why}`),
  };
  const err = await readGraph([root], reader).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(isAlbaError(err, 'TOO_LARGE'), String(err));
  assert.equal(read, 1 + FAN, 'the manifests past the bound were not read');
});

test('referrers listed past the bound within one level stop the reads there, not after the whole level is held in memory', async () => {
  // 40 roots, each listing a quarter of the bound: the bound is met after 5 of them
  const roots = Array.from({ length: 40 }, (_, i) => manifest(`level-${i}`));
  let asked = 0;
  const reader: GraphReader = {
    manifest: async (d) => manifests.get(d),
    referrers: async (subject) => {
      asked++;
      await new Promise((r) => setImmediate(r));
      return {
        entries: Array.from({ length: MAX_GRAPH_MANIFESTS / 4 }, (_, i) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: named(`${subject}/${i}`),
          size: 200,
        })),
      };
    },
    invalid: (d, why) => new Error(`${d}: ${why}`),
  };
  const err = await readGraph(roots, reader).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(isAlbaError(err, 'TOO_LARGE'), String(err));
  assert.ok(asked <= 5 + 8, `${asked} subjects' referrers were read`);
});
