import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { digestOf, type Digest } from '../../src/oci/digest.js';
import type { StoredGraph, StoredNode } from '../../src/oci/reachability.js';
import { attachmentSubject } from '../../src/lifecycle/attachments.js';
import {
  planBucketRemoval,
  planRegistryRemoval,
  type BucketObject,
  type BucketRepoState,
  type RegistryRepoState,
} from '../../src/lifecycle/removal-plan.js';

// cosign's sha256-<hex>.sig|.att tags in a removal, as a table. Two signed images share a platform
// manifest: 1.0 and 1.1 name index i1 (platforms p1, p2), 2.0 names index i2 (platforms p2, p3).
// Every index and platform is signed, p1 is attested, i1's signature is itself signed; one
// signature names a digest no tag reaches (cosign signing a manifest by digest, or a moved tag's old index).
const NOW = Date.UTC(2026, 11, 1);
const HOUR = 3_600_000;
const d = (name: string): Digest => digestOf(name);
const [i1, i2, p1, p2, p3, unknown] = ['i1', 'i2', 'p1', 'p2', 'p3', 'unknown'].map(d) as [Digest, Digest, Digest, Digest, Digest, Digest];
const hex = (x: Digest): string => x.slice('sha256:'.length);
const sigTag = (subject: Digest, kind = 'sig'): string => `sha256-${hex(subject)}.${kind}`;

/** One signature manifest per tag: its own config and layer (what cosign writes). */
const sigManifest = (tag: string): Digest => d(`manifest of ${tag}`);
const sigBlobs = (tag: string): [Digest, number][] => [
  [d(`config of ${tag}`), 10],
  [d(`layer of ${tag}`), 20],
];
const node = (children: Digest[], blobs: [Digest, number][]): StoredNode => ({ size: 100, children, blobs: new Map(blobs) });

const sigI1 = sigTag(i1);
const attachmentTags = [
  sigI1,
  sigTag(i2),
  sigTag(p1),
  sigTag(p1, 'att'),
  sigTag(p2),
  sigTag(p3),
  sigTag(unknown),
  sigTag(sigManifest(sigI1)),
];
const graph: StoredGraph = new Map([
  [i1, node([p1, p2], [])],
  [i2, node([p2, p3], [])],
  [p1, node([], [[d('layer p1'), 1000]])],
  [p2, node([], [[d('layer p2'), 1000]])],
  [p3, node([], [[d('layer p3'), 1000]])],
  ...attachmentTags.map((t): [Digest, StoredNode] => [sigManifest(t), node([], sigBlobs(t))]),
]);
const imageTags: [string, Digest][] = [
  ['1.0', i1],
  ['1.1', i1],
  ['2.0', i2],
];

const B = 'v2/app/';
const old = (key: string): BucketObject => ({ key, size: 1, lastModified: new Date(NOW - 48 * HOUR) });
const young = (key: string): BucketObject => ({ key, size: 1, lastModified: new Date(NOW - 60_000) });

function bucket(over: { youngKeys?: string[] } = {}): BucketRepoState {
  const keys = [
    ...[...graph.keys()].map((x) => `${B}manifests/${x}`),
    ...[...graph.values()].flatMap((n) => [...n.blobs.keys()].map((b) => `${B}blobs/${b}`)),
    ...[...imageTags.map(([t]) => t), ...attachmentTags].map((t) => `${B}manifests/${t}`),
  ];
  return {
    base: B,
    objects: keys.map((k) => ((over.youngKeys ?? []).includes(k) ? young(k) : old(k))),
    listed: imageTags.map(([t]) => t),
    tagDigests: new Map([...imageTags, ...attachmentTags.map((t): [string, Digest] => [t, sigManifest(t)])]),
    graph,
    uploads: [],
  };
}
const registry: RegistryRepoState = {
  tags: imageTags.map(([tag, digest]) => ({ tag, digest })),
  attachments: attachmentTags.map((tag) => ({ tag, digest: sigManifest(tag) })),
  graph,
};

/** The cosign tags a plan takes away, sorted. */
const going = (plan: { attachments: { tag: string }[] }): string[] => plan.attachments.map((a) => a.tag).sort();
const sorted = (tags: string[]): string[] => [...tags].sort();

interface Row {
  what: string;
  remove: string[];
  /** cosign tags that go on S3 (grace 1 h, everything old). */
  s3: string[];
  /** cosign tags that go on a registry. */
  registry: string[];
}
const rows: Row[] = [
  { what: 'a tag whose digest another tag still names: every signature stays', remove: ['1.0'], s3: [sigTag(unknown)], registry: [] },
  {
    what: 'the last tags of i1: its signatures, its own platform’s signature and attestation, the signature of its signature go; p2’s stays (2.0 reaches it)',
    remove: ['1.0', '1.1'],
    s3: [sigI1, sigTag(p1), sigTag(p1, 'att'), sigTag(sigManifest(sigI1)), sigTag(unknown)],
    registry: [sigI1, sigTag(p1), sigTag(p1, 'att'), sigTag(sigManifest(sigI1))],
  },
  {
    what: 'i2: its signature and p3’s go; p2’s stays (i1 reaches it)',
    remove: ['2.0'],
    s3: [sigTag(i2), sigTag(p3), sigTag(unknown)],
    registry: [sigTag(i2), sigTag(p3)],
  },
  {
    what: 'a gc that removes no tag: on S3 the stray signature goes (no tag reaches its subject); a registry leaves it',
    remove: [],
    s3: [sigTag(unknown)],
    registry: [],
  },
  {
    what: 'every tag: every signature of theirs',
    remove: ['1.0', '1.1', '2.0'],
    s3: attachmentTags,
    registry: attachmentTags.filter((t) => t !== sigTag(unknown)),
  },
];

describe('cosign tags in a removal plan', () => {
  test('attachmentSubject: sha256-<hex>.sig|.att|.sbom name sha256:<hex>; other tags none', () => {
    assert.equal(attachmentSubject(sigTag(p1)), p1);
    assert.equal(attachmentSubject(sigTag(p1, 'att')), p1);
    assert.equal(attachmentSubject(sigTag(p1, 'sbom')), p1);
    assert.equal(attachmentSubject(`sha256-${hex(p1)}`), undefined);
    assert.equal(attachmentSubject('latest.sig'), undefined);
  });

  for (const row of rows) {
    test(`S3: ${row.what}`, () => {
      const plan = planBucketRemoval(bucket(), { tags: row.remove, graceMs: HOUR }, NOW);
      assert.deepEqual(going(plan), sorted(row.s3));
      const keys = plan.objects.map((o) => o.key);
      for (const tag of attachmentTags) {
        const goes = row.s3.includes(tag);
        assert.equal(keys.includes(`${B}manifests/${tag}`), goes, `tag object ${tag}`);
        assert.equal(keys.includes(`${B}manifests/${sigManifest(tag)}`), goes, `manifest of ${tag}`);
        for (const [blob] of sigBlobs(tag)) assert.equal(keys.includes(`${B}blobs/${blob}`), goes, `blob of ${tag}`);
      }
      // order: the removed tags' objects (the first wave) before any signature tag (a wave of their own), before the manifests they name
      for (const tag of row.s3) assert.ok(plan.phases[1]?.includes(`${B}manifests/${tag}`), `${tag} goes in the wave after the tags`);
    });

    test(`registry: ${row.what}`, () => {
      const plan = planRegistryRemoval(registry, { tags: row.remove });
      assert.deepEqual(going(plan), sorted(row.registry));
      const keys = plan.objects.map((o) => o.key);
      for (const tag of attachmentTags) assert.equal(keys.includes(sigManifest(tag)), row.registry.includes(tag), `manifest of ${tag}`);
      // order: every manifest of the image (the index first: its DELETE takes the tag) before any signature
      const firstSig = keys.findIndex((k) => plan.attachments.some((a) => a.digest === k));
      if (firstSig >= 0)
        assert.ok(
          keys.slice(firstSig).every((k) => plan.attachments.some((a) => a.digest === k)),
          keys.join('\n'),
        );
    });
  }

  test('S3: a young signature (a push under way writes it before its tag) stays, with the older layer its merged manifest reuses', () => {
    const tag = sigTag(unknown);
    const plan = planBucketRemoval(bucket({ youngKeys: [`${B}manifests/${tag}`] }), { tags: [], graceMs: HOUR }, NOW);
    const keys = plan.objects.map((o) => o.key);
    assert.deepEqual(going(plan), []);
    for (const [blob] of sigBlobs(tag)) assert.ok(!keys.includes(`${B}blobs/${blob}`), 'its old blobs stay');
    assert.ok(!keys.includes(`${B}manifests/${sigManifest(tag)}`));
    // with --grace 0 it is a stray like any other
    assert.deepEqual(going(planBucketRemoval(bucket({ youngKeys: [`${B}manifests/${tag}`] }), { tags: [], graceMs: 0 }, NOW)), [tag]);
  });

  test('S3: signatures are never reported as unlisted tags, nor listed', () => {
    const plan = planBucketRemoval(bucket(), { tags: ['2.0'], graceMs: HOUR }, NOW);
    assert.deepEqual(plan.unlisted, []);
    assert.deepEqual(plan.unlist, ['2.0']);
  });

  test('S3: a repository left with only signatures and no tags/list is no error: they are strays', () => {
    const state = bucket();
    const objects = state.objects.filter((o) => !imageTags.some(([t]) => o.key === `${B}manifests/${t}`));
    const plan = planBucketRemoval({ ...state, objects, listed: undefined }, { tags: [], graceMs: HOUR }, NOW);
    assert.deepEqual(going(plan), sorted(attachmentTags));
  });

  test('registry: what a killed removal left: a signature whose subject a kept tag reaches is not deleted again', () => {
    const plan = planRegistryRemoval(registry, { tags: [], unfinishedObjects: [sigManifest(sigTag(p2)), sigManifest(sigTag(unknown))] });
    assert.deepEqual(
      plan.objects.map((o) => o.key),
      [sigManifest(sigTag(unknown))],
    );
  });
});
