import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { digestOf, type Digest } from '../../src/oci/digest.js';
import { EMPTY_DESCRIPTOR } from '../../src/oci/manifest.js';
import { reachIn, type StoredGraph, type StoredNode } from '../../src/oci/reachability.js';
import { referrersTag } from '../../src/oci/referrers.js';
import { untagPlaceholder } from '../../src/lifecycle/untag-placeholder.js';
import { referrersTagLock } from '../../src/sink/s3/static-registry.js';
import {
  bucketKeyKind,
  parentsFirst,
  planBucketRemoval,
  planRegistryRemoval,
  planStaticRemoval,
  registryDeletes,
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
    assert.deepEqual(plan.phases[1], [], 'no signature tag');
    assert.deepEqual(plan.phases.slice(2, 5), [
      [`${B}manifests/${oldIndex}`],
      [`${B}manifests/${onlyOld}`, `${B}manifests/${sbomTagIndex}`].sort(),
      [`${B}manifests/${sbom}`],
    ]);
    assert.deepEqual(
      new Set(plan.phases[5]),
      new Set([`${B}blobs/${d('cfg old')}`, `${B}blobs/${d('old layer')}`, `${B}blobs/${d('sbom doc')}`]),
    );
    assert.deepEqual(plan.unlist, ['0.1.0']);
    assert.ok(!keysOf(plan).includes(`${B}blobs/${base}`), 'the shared base layer stays');
    assert.ok(!keysOf(plan).includes(`${B}manifests/${shared}`), 'the shared platform manifest stays');
  });

  test('a repository nested as NAME/manifests: its lease and epoch objects are not tags of NAME', () => {
    for (const k of ['.alba-removal-lease', '.alba-removal-epoch', 'index.html'])
      assert.equal(bucketKeyKind(B, `${B}manifests/${k}`)?.kind, k === 'index.html' ? 'tag' : undefined, k);
  });

  test("a referrers tag's lock object is no tag: ls, gc and repair pass it over", () => {
    const subject = `sha256:${'a'.repeat(64)}` as Digest;
    assert.equal(bucketKeyKind(B, `${B}manifests/${referrersTag(subject)}`)?.kind, 'referrers-tag');
    assert.equal(bucketKeyKind(B, `${B}manifests/${referrersTagLock(subject)}`), undefined);
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

  test('a tag tags/list names whose tag object was not read (the listing or its GET missed it) stops the removal: nothing deleted', () => {
    const missed = state().objects.filter((o) => o.key !== `${B}manifests/0.1.0`);
    const tagDigests = new Map([...state().tagDigests].filter(([t]) => t !== '0.1.0'));
    assert.throws(
      () => planBucketRemoval(state({ objects: missed, tagDigests }), { tags: ['d1'], graceMs: HOUR }, NOW),
      (e: unknown) => isAlbaError(e, 'S3') && /tags\/list names 0\.1\.0, but no tag object/.test(e.message) && /repair/.test(e.hint ?? ''),
    );
    const plan = planBucketRemoval(state({ objects: missed, tagDigests }), { tags: ['0.1.0'], graceMs: HOUR }, NOW);
    assert.deepEqual(plan.unlist, ['0.1.0'], 'removing that very tag is no loss: it goes on');
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

  // the killed run had taken 0.1.0 out of tags/list (its first write), not yet deleted its tag object
  const halfRemoved = (): BucketRepoState => state({ listed: ['d1', 'latest'] });

  test("a killed removal's journal: its tags are removed too", () => {
    const plan = planBucketRemoval(halfRemoved(), { tags: [], unfinished: ['0.1.0'], graceMs: HOUR }, NOW);
    assert.ok(keysOf(plan).includes(`${B}manifests/0.1.0`) && keysOf(plan).includes(`${B}manifests/${oldIndex}`));
    assert.deepEqual(plan.unlist, ['0.1.0']);
  });

  test("a killed removal's journal entry TAG@DIGEST is finished only while the tag is out of tags/list and names that digest (pushed again since: left alone)", () => {
    const rows: [string, boolean][] = [
      [`0.1.0@${oldIndex}`, true],
      [`0.1.0@${newIndex}`, false], // the killed gc began when 0.1.0 named newIndex: 0.1.0 was pushed again since
      ['0.1.0', true], // an older alba's journal: no digest to compare
      // two killed removals: the first journalled what 0.1.0 named, the second (taking over once the
      // tag was gone) journalled it bare; 0.1.0 pushed again since names another digest: left alone
      [`0.1.0@${newIndex},0.1.0`, false],
      [`0.1.0@${oldIndex},0.1.0`, true],
    ];
    for (const [entry, finished] of rows) {
      for (const [listedNow, s] of [
        ['out of tags/list', halfRemoved()],
        // listed whole: pushed again since the killed gc took it out (the same image: the same digest),
        // or never reached by it (the same command run again selects it itself)
        ['listed', state()],
      ] as const) {
        const plan = planBucketRemoval(s, { tags: [], unfinished: entry.split(','), graceMs: HOUR }, NOW);
        const expected = finished && listedNow === 'out of tags/list';
        assert.equal(plan.unlist.includes('0.1.0'), expected, `${entry}, ${listedNow}`);
        assert.equal(keysOf(plan).includes(`${B}manifests/0.1.0`), expected, `${entry}, ${listedNow}`);
        assert.equal(keysOf(plan).includes(`${B}manifests/${oldIndex}`), expected, `${entry}, ${listedNow}`);
      }
    }
    const gone = planBucketRemoval(state(), { tags: ['d1'], graceMs: HOUR }, NOW);
    assert.deepEqual(gone.journal, [`d1@${newIndex}`], 'the journal holds what each tag named');
  });

  test('a journalled tag tags/list names but whose tag object was not read stops the removal (a store listing late), as an unjournalled one does', () => {
    // the listing missed 0.1.0's object: nothing may reach its content, which the sweep would take
    const unread = (): BucketRepoState =>
      state({
        objects: state().objects.filter((o) => o.key !== `${B}manifests/0.1.0`),
        tagDigests: new Map([...state().tagDigests].filter(([t]) => t !== '0.1.0')),
      });
    for (const unfinished of [undefined, ['0.1.0'], [`0.1.0@${oldIndex}`]])
      assert.throws(
        () => planBucketRemoval(unread(), { tags: [], ...(unfinished === undefined ? {} : { unfinished }), graceMs: HOUR }, NOW),
        (err: unknown) => isAlbaError(err, 'S3') && /tags\/list names 0\.1\.0, but no tag object/.test(err.message),
        String(unfinished),
      );
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
    const manifestWaves = plan.phases.slice(2, -1);
    assert.ok(
      Math.max(...manifestWaves.flat().map(at)) < Math.min(...(plan.phases.at(-1) ?? []).map(at)),
      'every manifest before any blob',
    );
    assert.deepEqual(
      manifestWaves.map((w) => w.map((k) => k.slice(`${B}manifests/`.length))),
      [[newIndex, oldIndex].sort(), [onlyNew, onlyOld, shared, sbomTagIndex].sort(), [sbom]],
      'each manifest in the wave after every index or subject naming it',
    );
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
    assert.deepEqual(planStaticRemoval(st({ listed: ['1.0.0'] }), { tags: [], unfinished: ['1.1.0'], graceMs: HOUR }, NOW).phases[0], [
      `${S}/1.1.0`,
    ]);
  });
  test('the journal names each tag with its document’s digest; a tag pushed again since a killed removal began is left alone', () => {
    const was = d('document 1.1.0 had');
    const withDigest = (digest: string, listed = ['1.0.0']): StaticNameState =>
      st({ listed, tags: new Map([...st().tags, ['1.1.0', { document: old(`${S}/1.1.0`, 5), digest, files: files('1.1.0') }]]) });
    assert.deepEqual(planStaticRemoval(withDigest(was), { tags: ['1.1.0'], graceMs: HOUR }, NOW).journal, [`1.1.0@${was}`]);
    assert.deepEqual(planStaticRemoval(withDigest(was), { tags: [], unfinished: [`1.1.0@${was}`], graceMs: HOUR }, NOW).unlist, ['1.1.0']);
    // the same files pushed again: the same document, listed again in the name document
    const samePushedAgain = planStaticRemoval(
      withDigest(was, ['1.0.0', '1.1.0']),
      { tags: [], unfinished: [`1.1.0@${was}`], graceMs: HOUR },
      NOW,
    );
    assert.deepEqual([samePushedAgain.unlist, samePushedAgain.objects], [[], []], 'the tag listed again stays, files and all');
    const repushed = planStaticRemoval(withDigest(d('another document')), { tags: [], unfinished: [`1.1.0@${was}`], graceMs: HOUR }, NOW);
    assert.deepEqual([repushed.unlist, repushed.objects], [[], []], 'the re-pushed tag stays, files and all');
    const chain = planStaticRemoval(
      withDigest(d('another document')),
      { tags: [], unfinished: [`1.1.0@${was}`, '1.1.0'], graceMs: HOUR },
      NOW,
    );
    assert.deepEqual([chain.unlist, chain.objects], [[], []], 'a bare entry of a second killed removal beside it changes nothing');
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
  // the old image as it goes: its index, then its platform manifest with its referrers tag index, then the SBOM that lists
  const oldImage = [oldIndex, ...[onlyOld, sbomTagIndex].sort(), sbom];
  test('a removed root goes with what only it reaches, parents first; shared manifests stay; blobs are counted for the registry', () => {
    const plan = planRegistryRemoval({ tags, graph }, { tags: ['0.1.0'] });
    assert.deepEqual(keysOf(plan), oldImage);
    assert.deepEqual(plan.blobs, { count: 3, bytes: 810 });
  });
  test('parents before children, and a referrers tag index before the referrers it lists (a killed run never leaves it naming a deleted one)', () => {
    const rows: [string, { tags: string[]; unfinished?: string[]; unfinishedObjects?: string[] }, [Digest, Digest][]][] = [
      [
        'rm of the old release',
        { tags: ['0.1.0'] },
        [
          [oldIndex, onlyOld],
          [onlyOld, sbom],
          [sbomTagIndex, sbom],
        ],
      ],
      [
        'every tag',
        { tags: ['0.1.0', 'd1', 'latest'] },
        [
          [oldIndex, shared],
          [newIndex, shared],
          [newIndex, onlyNew],
          [onlyOld, sbom],
          [sbomTagIndex, sbom],
        ],
      ],
      [
        "a killed removal's journal",
        { tags: [], unfinished: [`0.1.0@${oldIndex}`], unfinishedObjects: [oldIndex, onlyOld, sbomTagIndex, sbom] },
        [
          [oldIndex, onlyOld],
          [sbomTagIndex, sbom],
        ],
      ],
    ];
    for (const [what, request, pairs] of rows) {
      // the journal's tag is gone (its index deleted by the killed run, which was killed before the rest)
      const state = { tags: request.unfinished === undefined ? tags : tags.filter((t) => t.tag !== '0.1.0'), graph };
      const keys = keysOf(planRegistryRemoval(state, request));
      for (const [parent, child] of pairs) {
        assert.ok(keys.includes(parent) && keys.includes(child), `${what}: both go`);
        assert.ok(keys.indexOf(parent) < keys.indexOf(child), `${what}: ${parent} before ${child}\n${keys.join('\n')}`);
      }
    }
  });
  test('the deletes still to do: none a tag reaches again (a push meanwhile), nor its referrers tag index, nor its signatures', () => {
    const signature = d('signature of the old platform manifest');
    const planned = planRegistryRemoval({ tags, graph }, { tags: ['0.1.0'] });
    const plan = {
      ...planned,
      attachments: [{ tag: `sha256-${onlyOld.slice(7)}.sig`, subject: onlyOld, digest: signature }],
      objects: [...planned.objects, { key: signature, size: 1 }],
    };
    const rows: [string, Digest[], string[]][] = [
      ['no tag reaches any of it', [], [...oldImage, signature]],
      ['a push tagged the old platform manifest meanwhile', [onlyOld], [oldIndex]],
      ['a push tagged the old index again', [oldIndex], []],
    ];
    for (const [what, roots, deletes] of rows) assert.deepEqual(registryDeletes(plan, reachIn(graph, roots)), deletes, what);
  });
  test("a killed removal's tag pushed again since (another digest than its journal says) is not removed, nor its new content", () => {
    const repushed = planRegistryRemoval({ tags, graph }, { tags: [], unfinished: [`0.1.0@${d('what 0.1.0 named before')}`] });
    assert.deepEqual(repushed.removing, []);
    assert.deepEqual(keysOf(repushed), []);
    // a second killed removal, taking over once the tag was gone, journalled it bare beside the first entry
    const chain = planRegistryRemoval({ tags, graph }, { tags: [], unfinished: [`0.1.0@${d('what 0.1.0 named before')}`, '0.1.0'] });
    assert.deepEqual([chain.removing, keysOf(chain)], [[], []]);
    // the same image pushed again after the killed run had deleted it (or one it never reached: the same command selects it again)
    const same = planRegistryRemoval({ tags, graph }, { tags: [], unfinished: [`0.1.0@${oldIndex}`] });
    assert.deepEqual([same.removing, keysOf(same)], [[], []]);
    assert.deepEqual(
      keysOf(planRegistryRemoval({ tags, graph }, { tags: [], unfinished: [`0.1.0@${oldIndex}`], unfinishedObjects: [oldIndex, onlyOld] })),
      [],
      'nor what the killed run had still to delete, which the tag reaches again',
    );
    const gone = planRegistryRemoval(
      { tags: tags.filter((t) => t.tag !== '0.1.0'), graph },
      { tags: [], unfinished: [`0.1.0@${oldIndex}`], unfinishedObjects: [onlyOld] },
    );
    assert.deepEqual([gone.removing, keysOf(gone)], [['0.1.0'], [onlyOld]], 'gone: what the killed run left is finished');
    assert.deepEqual(planRegistryRemoval({ tags, graph }, { tags: ['0.1.0'] }).journal, [`0.1.0@${oldIndex}`]);
  });
  test("a killed removal's tag left on the placeholder of its journal entry (killed between the placeholder's PUT and DELETE) is finished", () => {
    // latest (sharing newIndex with d1) was being removed alone: the killed run pointed it at the placeholder of latest@newIndex
    const rows: [string, Digest, boolean][] = [
      ['the placeholder of its entry', untagPlaceholder('latest', newIndex).descriptor.digest as Digest, true],
      ['the placeholder of another digest (pushed again since)', untagPlaceholder('latest', oldIndex).descriptor.digest as Digest, false],
      ["another tag's placeholder", untagPlaceholder('d1', newIndex).descriptor.digest as Digest, false],
    ];
    for (const [what, now, finished] of rows) {
      const state = {
        tags: [...tags.filter((t) => t.tag !== 'latest'), { tag: 'latest', digest: now }],
        graph: new Map([...graph, [now, node([], [[EMPTY_DESCRIPTOR.digest as Digest, 2]])]]),
      };
      const plan = planRegistryRemoval(state, { tags: [], unfinished: [`latest@${newIndex}`] });
      assert.deepEqual(plan.removing, finished ? ['latest'] : [], what);
      // deleting the placeholder by digest takes the tag away; d1 keeps newIndex
      assert.deepEqual(keysOf(plan), finished ? [now] : [], what);
      assert.deepEqual(plan.untag, [], what);
    }
  });
  test('the placeholder depends on the tag and its digest only (no time): the next run, of any alba version, recognises it', () => {
    const placeholder = untagPlaceholder('latest', newIndex);
    assert.deepEqual(untagPlaceholder('latest', newIndex).bytes, placeholder.bytes);
    assert.equal(placeholder.descriptor.digest, 'sha256:927e770df8e9f4aad2bd6c8c09a2622fa58ec4059ffdc3fc277bf2d6e584ee15');
    assert.notEqual(untagPlaceholder('d1', newIndex).descriptor.digest, placeholder.descriptor.digest);
  });
  test('what a killed removal left goes first, unless a tag reaches it again', () => {
    const plan = planRegistryRemoval({ tags, graph }, { tags: [], unfinishedObjects: [d('orphan platform manifest'), shared] });
    assert.deepEqual(keysOf(plan), [d('orphan platform manifest')]);
  });
});

describe('parentsFirst: the manifests a removal deletes, in waves', () => {
  const [a, b, c, x, idx] = ['a', 'b', 'c', 'x', 'index of b'].map(d) as [Digest, Digest, Digest, Digest, Digest];
  const rows: [string, StoredGraph, Digest[], Digest[][]][] = [
    [
      'an index, then its manifests, then their referrers',
      new Map([
        [a, node([b], [])],
        [b, node([c], [])],
        [c, node([], [])],
      ]),
      [c, a, b],
      [[a], [b], [c]],
    ],
    [
      'a child named by two parents waits for both',
      new Map([
        [a, node([c], [])],
        [b, node([a, c], [])],
        [c, node([], [])],
      ]),
      [a, b, c],
      [[b], [a], [c]],
    ],
    [
      'a child no removed manifest names comes first',
      new Map([
        [a, node([b], [])],
        [b, node([], [])],
      ]),
      [b],
      [[b]],
    ],
    [
      'what the graph does not hold (a killed push’s orphan) comes first',
      new Map([
        [a, node([b], [])],
        [b, node([], [])],
      ]),
      [x, a, b],
      [[a, x].sort(), [b]],
    ],
    [
      'a referrers tag index goes with its subject, before the referrers it lists',
      new Map([
        [a, node([b], [], idx)],
        [b, node([], [])],
      ]),
      [a, b, idx],
      [[a, idx].sort(), [b]],
    ],
    [
      'a cycle (a hostile referrers listing) goes last, never lost',
      new Map([
        [a, node([b], [])],
        [b, node([a], [])],
        [c, node([], [])],
      ]),
      [a, b, c],
      [[c], [a, b].sort()],
    ],
  ];
  for (const [what, g, digests, waves] of rows) test(what, () => assert.deepEqual(parentsFirst(digests, g), waves));
});
