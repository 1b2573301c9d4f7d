import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { digestOf, type Digest } from '../../src/oci/digest.js';
import type { StoredGraph, StoredNode } from '../../src/oci/reachability.js';
import {
  planBucketRemoval,
  planRegistryRemoval,
  planStaticRemoval,
  type BucketObject,
  type BucketRepoState,
  type StaticNameState,
} from '../../src/lifecycle/removal-plan.js';

// A repository in a table: two images (old, new) sharing a base layer and a platform manifest,
// an SBOM referrer of the old one listed by its referrers tag, and the tags that point at them.
const NOW = Date.UTC(2026, 11, 1);
const HOUR = 3_600_000;
const d = (name: string): Digest => digestOf(name);
const base = d('base layer');
const shared = d('shared manifest');
const onlyOld = d('old manifest');
const onlyNew = d('new manifest');
const oldIndex = d('old index');
const newIndex = d('new index');
const sbom = d('sbom manifest');
const sbomTagIndex = d('referrers index of old manifest');
const node = (children: Digest[], blobs: [Digest, number][], referrersTag?: Digest): StoredNode => ({
  size: 100,
  children,
  blobs: new Map(blobs),
  ...(referrersTag === undefined ? {} : { referrersTag: { digest: referrersTag, size: 50 } }),
});
const graph: StoredGraph = new Map([
  [oldIndex, node([shared, onlyOld], [])],
  [newIndex, node([shared, onlyNew], [])],
  [
    shared,
    node(
      [],
      [
        [d('cfg shared'), 10],
        [base, 1000],
      ],
    ),
  ],
  [
    onlyOld,
    node(
      [sbom],
      [
        [d('cfg old'), 10],
        [base, 1000],
        [d('old layer'), 500],
      ],
      sbomTagIndex,
    ),
  ],
  [
    onlyNew,
    node(
      [],
      [
        [d('cfg new'), 10],
        [base, 1000],
        [d('new layer'), 700],
      ],
    ),
  ],
  [sbom, node([], [[d('sbom doc'), 300]])],
]);

const B = 'v2/app/';
const old = (key: string, size = 1): BucketObject => ({ key, size, lastModified: new Date(NOW - 48 * HOUR) });
const young = (key: string, size = 1): BucketObject => ({ key, size, lastModified: new Date(NOW - 60_000) });
const contentKeys = [
  ...[oldIndex, newIndex, shared, onlyOld, onlyNew, sbom, sbomTagIndex].map((x) => `${B}manifests/${x}`),
  `${B}manifests/sha256-${onlyOld.slice(7)}`,
  ...['cfg shared', 'cfg old', 'cfg new', 'base layer', 'old layer', 'new layer', 'sbom doc'].map((n) => `${B}blobs/${d(n)}`),
];

function state(over: Partial<BucketRepoState> = {}): BucketRepoState {
  return {
    base: B,
    objects: [...contentKeys.map((k) => old(k)), old(`${B}manifests/0.1.0`), old(`${B}manifests/latest`), old(`${B}manifests/d1`)],
    listed: ['0.1.0', 'd1', 'latest'],
    tagDigests: new Map([
      ['0.1.0', oldIndex],
      ['d1', newIndex],
      ['latest', newIndex],
    ]),
    graph,
    uploads: [],
    ...over,
  };
}
const keysOf = (plan: { objects: { key: string }[] }): string[] => plan.objects.map((o) => o.key);

describe('planBucketRemoval (S3 static registry)', () => {
  test('removing the old release: its index, its own manifest, its SBOM and referrers tag, its own blobs; shared ones stay', () => {
    const plan = planBucketRemoval(state(), { tags: ['0.1.0'], graceMs: HOUR }, NOW);
    assert.deepEqual(plan.phases[0], [`${B}manifests/0.1.0`, `${B}manifests/sha256-${onlyOld.slice(7)}`]);
    assert.deepEqual(plan.phases[1], [
      `${B}manifests/${oldIndex}`,
      `${B}manifests/${onlyOld}`,
      `${B}manifests/${sbom}`,
      `${B}manifests/${sbomTagIndex}`,
    ]);
    assert.deepEqual(
      new Set(plan.phases[2]),
      new Set([`${B}blobs/${d('cfg old')}`, `${B}blobs/${d('old layer')}`, `${B}blobs/${d('sbom doc')}`]),
    );
    assert.deepEqual(plan.unlist, ['0.1.0']);
    assert.ok(!keysOf(plan).includes(`${B}blobs/${base}`), 'the shared base layer stays');
    assert.ok(!keysOf(plan).includes(`${B}manifests/${shared}`), 'the shared platform manifest stays');
  });

  test('a tag whose digest a sibling tag names: only its tag object goes', () => {
    const plan = planBucketRemoval(state(), { tags: ['d1'], graceMs: HOUR }, NOW);
    assert.deepEqual(keysOf(plan), [`${B}manifests/d1`]);
  });

  test('another repository whose name starts with this one (v2/app/sub/…) is never a candidate, releases included', () => {
    const nested = [
      'v2/app/sub/manifests/1.0.0',
      `v2/app/sub/manifests/${oldIndex}`,
      `v2/app/sub/blobs/${base}`,
      'v2/app/sub/tags/list',
      'v2/app/manifests/x/y',
      'v2/app/blobs/not-a-digest',
    ];
    const plan = planBucketRemoval(
      state({ objects: [...state().objects, ...nested.map((k) => old(k))] }),
      { tags: ['0.1.0', 'latest', 'd1'], graceMs: 0 },
      NOW,
    );
    for (const k of nested) assert.ok(!keysOf(plan).includes(k), k);
  });

  test('a missing tags/list while old tag objects exist is an error, never a reason to delete', () => {
    assert.throws(
      () => planBucketRemoval(state({ listed: undefined }), { tags: ['d1'], graceMs: HOUR }, NOW),
      (e: unknown) => isAlbaError(e, 'S3') && /tags\/list is missing/.test(e.message) && /repair/.test(e.hint ?? ''),
    );
  });

  test('a missing tags/list with only young tag objects (a first push under way) is no error', () => {
    const objects = [...contentKeys.map((k) => old(k)), young(`${B}manifests/d1`)];
    const plan = planBucketRemoval(
      state({ listed: undefined, objects, tagDigests: new Map([['d1', newIndex]]) }),
      { tags: [], graceMs: HOUR },
      NOW,
    );
    assert.ok(!keysOf(plan).includes(`${B}manifests/${newIndex}`), 'the young tag is a root');
  });

  test('a tag object that tags/list does not list stays a root, and is reported', () => {
    const plan = planBucketRemoval(state({ listed: ['latest', 'd1'] }), { tags: ['d1'], graceMs: HOUR }, NOW);
    assert.deepEqual(plan.unlisted, ['0.1.0']);
    assert.ok(!keysOf(plan).includes(`${B}manifests/${oldIndex}`) && !keysOf(plan).includes(`${B}manifests/0.1.0`));
  });

  test('an unreachable object younger than the grace period stays; with --grace 0 it goes', () => {
    const orphan = `${B}blobs/${d('a push under way')}`;
    const objects = [...state().objects, young(orphan)];
    assert.ok(!keysOf(planBucketRemoval(state({ objects }), { tags: [], graceMs: HOUR }, NOW)).includes(orphan));
    assert.ok(keysOf(planBucketRemoval(state({ objects }), { tags: [], graceMs: 0 }, NOW)).includes(orphan));
  });

  test('a removed tag goes even when its tag object is young (it was asked for)', () => {
    const objects = [...contentKeys.map((k) => old(k)), old(`${B}manifests/0.1.0`), young(`${B}manifests/d1`), old(`${B}manifests/latest`)];
    assert.deepEqual(keysOf(planBucketRemoval(state({ objects }), { tags: ['d1'], graceMs: HOUR }, NOW)), [`${B}manifests/d1`]);
  });

  test("a killed removal's journal: its tags are removed too", () => {
    const plan = planBucketRemoval(state(), { tags: [], unfinished: ['0.1.0'], graceMs: HOUR }, NOW);
    assert.ok(keysOf(plan).includes(`${B}manifests/0.1.0`) && keysOf(plan).includes(`${B}manifests/${oldIndex}`));
    assert.deepEqual(plan.unlist, ['0.1.0']);
  });

  test("a killed removal's journal entry TAG@DIGEST is finished only while the tag still names that digest (pushed again since: left alone)", () => {
    const rows: [string, boolean][] = [
      [`0.1.0@${oldIndex}`, true],
      [`0.1.0@${newIndex}`, false], // the killed gc began when 0.1.0 named newIndex: 0.1.0 was pushed again since
      ['0.1.0', true], // an older alba's journal: no digest to compare
    ];
    for (const [entry, finished] of rows) {
      const plan = planBucketRemoval(state(), { tags: [], unfinished: [entry], graceMs: HOUR }, NOW);
      assert.equal(plan.unlist.includes('0.1.0'), finished, entry);
      assert.equal(keysOf(plan).includes(`${B}manifests/0.1.0`), finished, entry);
      assert.equal(keysOf(plan).includes(`${B}manifests/${oldIndex}`), finished, entry);
    }
    const gone = planBucketRemoval(state(), { tags: ['d1'], graceMs: HOUR }, NOW);
    assert.deepEqual(gone.journal, [`d1@${newIndex}`], 'the journal holds what each tag named');
  });

  test('a user tag that merely starts with sha256- is a tag (a root), not content', () => {
    const objects = [...state().objects, old(`${B}manifests/sha256-abc`)];
    const plan = planBucketRemoval(
      state({
        objects,
        listed: ['0.1.0', 'd1', 'latest', 'sha256-abc'],
        tagDigests: new Map([...state().tagDigests, ['sha256-abc', oldIndex]]),
      }),
      { tags: ['0.1.0'], graceMs: HOUR },
      NOW,
    );
    assert.ok(!keysOf(plan).includes(`${B}manifests/sha256-abc`));
    assert.ok(!keysOf(plan).includes(`${B}manifests/${oldIndex}`), 'what it reaches stays');
  });

  test('removing every tag: tag objects and referrers tags, then manifests parents first, then blobs', () => {
    const plan = planBucketRemoval(state(), { tags: ['0.1.0', 'd1', 'latest'], graceMs: HOUR }, NOW);
    const at = (k: string): number => keysOf(plan).indexOf(k);
    assert.equal(plan.objects.length, contentKeys.length + 3);
    for (const tag of ['0.1.0', 'd1', 'latest']) assert.ok(at(`${B}manifests/${tag}`) < at(`${B}manifests/${oldIndex}`));
    assert.ok(
      at(`${B}manifests/${oldIndex}`) < at(`${B}manifests/${onlyOld}`) && at(`${B}manifests/${newIndex}`) < at(`${B}manifests/${shared}`),
    );
    assert.ok(at(`${B}manifests/${onlyOld}`) < at(`${B}manifests/${sbom}`));
    assert.ok(Math.max(...plan.phases[1].map(at)) < Math.min(...plan.phases[2].map(at)), 'every manifest before any blob');
  });

  test("multipart uploads: the repository's own, begun before the grace period, are aborted; others are not", () => {
    const uploads = [
      { key: `${B}blobs/${d('big')}`, uploadId: 'a', initiated: new Date(NOW - 2 * HOUR) },
      { key: `${B}blobs/${d('fresh')}`, uploadId: 'b', initiated: new Date(NOW - 60_000) },
      { key: `v2/app/sub/blobs/${d('big')}`, uploadId: 'c', initiated: new Date(NOW - 2 * HOUR) },
    ];
    assert.deepEqual(
      planBucketRemoval(state({ uploads }), { tags: [], graceMs: HOUR }, NOW).uploads.map((u) => u.uploadId),
      ['a'],
    );
  });
});

describe('planStaticRemoval (static binaries)', () => {
  const S = 'df-dist-v1/cli';
  const files = (tag: string): BucketObject[] => [old(`${S}/${tag}/linux/amd64/cli`, 10), old(`${S}/${tag}/linux/arm64/cli`, 10)];
  const st = (over: Partial<StaticNameState> = {}): StaticNameState => ({
    base: S,
    listed: ['1.0.0', '1.1.0'],
    tags: new Map([
      ['1.0.0', { document: old(`${S}/1.0.0`, 5), files: files('1.0.0') }],
      ['1.1.0', { document: old(`${S}/1.1.0`, 5), files: files('1.1.0') }],
    ]),
    uploads: [],
    ...over,
  });
  test('the tag document, then its files; the other tag untouched', () => {
    const plan = planStaticRemoval(st(), { tags: ['1.0.0'], graceMs: HOUR }, NOW);
    assert.deepEqual(plan.phases, [[`${S}/1.0.0`], [`${S}/1.0.0/linux/amd64/cli`, `${S}/1.0.0/linux/arm64/cli`], []]);
    assert.equal(plan.bytes, 25);
  });
  test('a missing name document while tags exist is an error', () => {
    assert.throws(
      () => planStaticRemoval(st({ listed: undefined }), { tags: ['1.0.0'], graceMs: HOUR }, NOW),
      (e: unknown) => isAlbaError(e, 'S3') && /static repair/.test(e.hint ?? ''),
    );
  });
  test("a killed removal's tags are finished", () => {
    assert.deepEqual(planStaticRemoval(st(), { tags: [], unfinished: ['1.1.0'], graceMs: HOUR }, NOW).phases[0], [`${S}/1.1.0`]);
  });
});

describe('planRegistryRemoval', () => {
  const tags = [
    { tag: '0.1.0', digest: oldIndex },
    { tag: 'd1', digest: newIndex },
    { tag: 'latest', digest: newIndex },
  ];
  test('a tag whose digest a sibling names is removed alone; nothing is deleted', () => {
    const plan = planRegistryRemoval({ tags, graph }, { tags: ['d1'] });
    assert.deepEqual(plan.untag, [{ tag: 'd1', digest: newIndex, siblings: ['latest'] }]);
    assert.deepEqual(plan.objects, []);
  });
  test('a removed root goes with what only it reaches, parents first; shared manifests stay; blobs are counted for the registry', () => {
    const plan = planRegistryRemoval({ tags, graph }, { tags: ['0.1.0'] });
    assert.deepEqual(keysOf(plan), [oldIndex, onlyOld, sbom, sbomTagIndex]);
    assert.deepEqual(plan.blobs, { count: 3, bytes: 810 });
  });
  test("a killed removal's tag pushed again since (another digest than its journal says) is not removed, nor its new content", () => {
    const repushed = planRegistryRemoval({ tags, graph }, { tags: [], unfinished: [`0.1.0@${d('what 0.1.0 named before')}`] });
    assert.deepEqual(repushed.removing, []);
    assert.deepEqual(keysOf(repushed), []);
    const same = planRegistryRemoval({ tags, graph }, { tags: [], unfinished: [`0.1.0@${oldIndex}`] });
    assert.deepEqual(same.removing, ['0.1.0']);
    assert.deepEqual(keysOf(same), [oldIndex, onlyOld, sbom, sbomTagIndex]);
    assert.deepEqual(planRegistryRemoval({ tags, graph }, { tags: ['0.1.0'] }).journal, [`0.1.0@${oldIndex}`]);
  });
  test('what a killed removal left goes first, unless a tag reaches it again', () => {
    const plan = planRegistryRemoval({ tags, graph }, { tags: [], unfinishedObjects: [d('orphan platform manifest'), shared] });
    assert.deepEqual(keysOf(plan), [d('orphan platform manifest')]);
  });
});
