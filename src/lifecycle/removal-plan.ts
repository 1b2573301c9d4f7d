/**
 * What a removal (`rm`, `gc`) deletes and in which order, decided from the state a store read
 * first (pure, table-tested in test/unit/removal-plan.test.ts). The stores (sink/s3, sink/registry)
 * read the state and carry the plan out; every safety rule lives here:
 * - only the repository's own objects are candidates (the state holds no other);
 * - a tag is removed only when asked, or when a killed removal of the same store left it
 *   half-removed (its lease's journal): out of the tag list while it still names the digest the
 *   journal says or, on a registry, on that entry's placeholder (the killed run was removing it
 *   alone); a journalled tag listed whole again was pushed again since (or not yet touched: the
 *   same command run again selects it) and is not the killed removal's to finish; a tag object
 *   the tag list does not name stays a root;
 * - an object stays while a remaining tag reaches it (through indexes, platform manifests,
 *   configs, layers and the referrers of every reached manifest), or while it is younger than
 *   the grace period (a push running meanwhile has written it but not yet its tag);
 * - cosign's `sha256-<hex>.sig|.att|.sbom` tags are not roots: each stays exactly while its
 *   subject `sha256:<hex>` stays (lifecycle/attachments.ts), so a digest that another tag still
 *   reaches keeps its signatures; on S3 one whose subject no tag reaches goes once older than the
 *   grace (as any stray), on a registry only when this removal deletes its subject;
 * - tag objects and referrers tags go first, then signatures with the manifests parents before
 *   children (a signature goes only once no tag names its subject), then blobs; on a registry,
 *   where a referrers tag goes with its index, that index goes before the referrers it lists;
 * - a tag list that is missing while tag objects older than the grace exist is an error, never
 *   a reason to delete.
 */
import { AlbaError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { reachIn, unreachedBy, type Reach, type StoredGraph } from '../oci/reachability.js';
import { ATTACHMENT_TAG_RE, TAG_RE } from '../oci/names.js';
import { attachmentSubject, reachWithAttachments, type AttachmentTag } from './attachments.js';
import { untagPlaceholder } from './untag-placeholder.js';

/** One object of a bucket, as listed. */
export interface BucketObject {
  key: string;
  size: number;
  lastModified: Date;
}

/** What a removal deletes, in order (the printed and `--json` plan). */
export interface RemovalPlan {
  tags: string[];
  /** S3 keys, or a registry's manifest digests, each with its size, in the order they go. */
  objects: { key: string; size: number }[];
  bytes: number;
  /** cosign's tags that go with their subject (their objects are among `objects`). */
  attachments: GoingAttachment[];
}

/** A cosign tag a removal takes away: its subject goes (or, on S3, no tag reaches it). */
export interface GoingAttachment {
  tag: string;
  subject: Digest;
  /** Its manifest's digest. */
  digest: Digest;
}

/** Deletes grouped by phase: a phase starts once the one before it is done. */
export interface BucketRemovalPlan extends RemovalPlan {
  /** Tags to take out of the tag list (first of all). */
  unlist: string[];
  /** The lease's journal of this removal: each tag going, as `TAG@DIGEST` where it names one (journalEntry). */
  journal: string[];
  /**
   * Keys in waves, each started once the one before is done (its deletes may run at once): the tag
   * objects and referrers tags; cosign's signature tags; manifests by digest, parents first
   * (parentsFirst, none when no manifest goes); blobs.
   */
  phases: string[][];
  /** Tag objects the tag list does not name: kept as roots (`alba container repair` lists them again). */
  unlisted: string[];
  /** Multipart uploads of the repository begun before the grace period (a killed push's): aborted last. */
  uploads: BucketUpload[];
}

/** A multipart upload in progress. */
export interface BucketUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** An image repository of a static registry (`[PREFIX/]v2/NAME/`), as read before a removal. */
export interface BucketRepoState {
  /** `[PREFIX/]v2/NAME/`. */
  base: string;
  /** The repository's own objects only: `blobs/<x>` and `manifests/<x>`, `<x>` one path segment. */
  objects: readonly BucketObject[];
  /** What `tags/list` lists; undefined when there is none. */
  listed: readonly string[] | undefined;
  /** The digest each tag object holds, by tag. */
  tagDigests: ReadonlyMap<string, Digest>;
  /** What the tag objects reach (read from all of them). */
  graph: StoredGraph;
  /** The multipart uploads in progress under the repository. */
  uploads: readonly BucketUpload[];
}

/** What was asked, and what a killed removal left to finish. */
export interface RemovalRequest {
  tags: readonly string[];
  /** Tags a killed removal was removing (its stale lease's journal: `TAG@DIGEST`, or `TAG` from an older alba or a tag with nothing to name). */
  unfinished?: readonly string[];
  /** What a killed registry removal had still to delete (manifest digests, in order): no tag may name them any more. */
  unfinishedObjects?: readonly string[];
}

const DIGEST_NAME = /^sha256:[a-f0-9]{64}$/;

/** A journal entry: `TAG@DIGEST`, what the tag named when the removal began (a tag holds no `@`), or `TAG` when it names none. */
export function journalEntry(tag: string, digest: string | undefined): string {
  return digest === undefined ? tag : `${tag}@${digest}`;
}

/**
 * The tags of a killed removal's journal it is this removal's to finish: each the killed run left
 * half-removed — on the placeholder of its own entry (registries: `placeholder` gives the
 * digest of the placeholder a removal points TAG at to remove it alone, lifecycle/untag-placeholder.ts),
 * or no longer `listed` (S3: out of `tags/list` or the name document) and gone or naming the
 * digest of its entry. A tag still listed is left alone, whatever it names: it
 * was pushed again since (a push of the same image names the same digest), or the killed run had
 * deleted nothing of it yet and the same command run again selects it itself; listed without its
 * object read (a store listing late), the plan stops on it (error[S3]). `current`: what a
 * tag names now (undefined: no tag object any more). A bare `TAG` beside `TAG@DIGEST` entries (a
 * removal that took over a killed one after the tag had gone journals it bare) counts only as they
 * do: what the tag named first decides.
 */
export function unfinishedTags(
  entries: readonly string[] | undefined,
  current: (tag: string) => string | undefined,
  listed: (tag: string) => boolean,
  placeholder?: (tag: string, digest: string) => string,
): string[] {
  const named = new Map<string, string[]>(); // tag → the digests its entries name
  for (const entry of entries ?? []) {
    const at = entry.indexOf('@');
    const tag = at === -1 ? entry : entry.slice(0, at);
    named.set(tag, [...(named.get(tag) ?? []), ...(at === -1 ? [] : [entry.slice(at + 1)])]);
  }
  return [...named].flatMap(([tag, digests]) => {
    const now = current(tag);
    if (now !== undefined && digests.some((then) => now === placeholder?.(tag, then))) return [tag];
    // listed whole, or listed while its tag object was not read (a store listing late: the plan stops on it)
    if (listed(tag)) return [];
    if (now === undefined) return [tag];
    return digests.length === 0 || digests.includes(now) ? [tag] : [];
  });
}

const REFERRERS_TAG_NAME = /^sha256-[a-f0-9]{64}$/;

/** How a key of a repository reads: a tag object, a referrers tag, a manifest or blob by digest, or none of the repository's. */
export function bucketKeyKind(
  base: string,
  key: string,
): { kind: 'tag' | 'referrers-tag' | 'attachment' | 'manifest' | 'blob'; name: string } | undefined {
  if (!key.startsWith(base)) return undefined;
  const [dir, name, ...more] = key.slice(base.length).split('/');
  if (name === undefined || name === '' || more.length > 0) return undefined;
  if (dir === 'blobs') return DIGEST_NAME.test(name) ? { kind: 'blob', name } : undefined;
  if (dir !== 'manifests') return undefined;
  if (DIGEST_NAME.test(name)) return { kind: 'manifest', name };
  if (!TAG_RE.test(name)) return undefined; // not a tag: `.alba-removal-lease` of a repository nested as NAME/manifests
  return { kind: REFERRERS_TAG_NAME.test(name) ? 'referrers-tag' : ATTACHMENT_TAG_RE.test(name) ? 'attachment' : 'tag', name };
}

/** The removal of `request.tags` from an image repository of a bucket (pure; see the file comment). */
export function planBucketRemoval(state: BucketRepoState, request: RemovalRequest & { graceMs: number }, now: number): BucketRemovalPlan {
  const removing = new Set([
    ...request.tags,
    ...unfinishedTags(
      request.unfinished,
      (t) => state.tagDigests.get(t),
      (t) => state.listed?.includes(t) === true,
    ),
  ]);
  const young = (o: BucketObject): boolean => now - o.lastModified.getTime() < request.graceMs;
  const kinds = state.objects.map((o) => ({ o, k: bucketKeyKind(state.base, o.key) }));
  const tagObjects = kinds.filter((x) => x.k?.kind === 'tag');
  const listed = state.listed === undefined ? undefined : new Set(state.listed);
  if (listed === undefined && tagObjects.some((x) => !removing.has(x.k?.name ?? '') && !young(x.o))) {
    throw new AlbaError('S3', `${state.base}tags/list is missing while the repository has tag objects (${tagObjects.length})`, {
      hint: `nothing was deleted; rebuild it from the tag objects with: alba container repair -t NAME TARGET`,
    });
  }
  // a listed tag whose tag object the listing (or its read) missed would keep nothing: refuse
  const lost = [...(listed ?? [])].filter((t) => !removing.has(t) && !state.tagDigests.has(t));
  if (lost.length > 0) {
    throw new AlbaError(
      'S3',
      `${state.base}tags/list names ${lost.join(', ')}, but no tag object of ${lost.length === 1 ? 'it' : 'them'} was read`,
      {
        hint: 'nothing was deleted; a push may be under way (run again once it ends), else rebuild tags/list from the tag objects with: alba container repair -t NAME TARGET',
      },
    );
  }
  const roots = tagObjects.filter((x) => !removing.has(x.k?.name ?? ''));
  const rootDigests = roots.map((x) => state.tagDigests.get(x.k?.name ?? '')).filter((d): d is Digest => d !== undefined);
  // cosign's tags: a young one (a push under way writes them before its tags) is a root; an older one stays while its subject does
  const attachmentObjects = kinds.filter((x) => x.k?.kind === 'attachment');
  const attachmentOf = (x: { o: BucketObject; k: { name: string } | undefined }): AttachmentTag | undefined => {
    const digest = state.tagDigests.get(x.k?.name ?? '');
    return digest === undefined ? undefined : { tag: x.k?.name ?? '', digest };
  };
  const youngAttachments = attachmentObjects.filter((x) => young(x.o)).map(attachmentOf);
  const { kept, attachments: keptAttachments } = reachWithAttachments(
    state.graph,
    [...rootDigests, ...youngAttachments.flatMap((a) => (a === undefined ? [] : [a.digest]))],
    attachmentObjects.filter((x) => !young(x.o)).flatMap((x) => attachmentOf(x) ?? []),
  );
  const keep = new Set<string>(roots.map((x) => x.o.key));
  for (const x of attachmentObjects) if (young(x.o) || keptAttachments.some((a) => a.tag === x.k?.name)) keep.add(x.o.key);
  for (const d of kept.manifests.keys()) keep.add(`${state.base}manifests/${d}`);
  for (const d of kept.blobs.keys()) keep.add(`${state.base}blobs/${d}`);
  for (const [subject, index] of kept.referrersTags) {
    keep.add(`${state.base}manifests/sha256-${subject.slice('sha256:'.length)}`);
    keep.add(`${state.base}manifests/${index.digest}`);
  }
  const removedTags = tagObjects.filter((x) => removing.has(x.k?.name ?? ''));
  const doomed = kinds.filter((x) => x.k !== undefined && x.k.kind !== 'tag' && !keep.has(x.o.key) && !young(x.o));
  const goingAttachments = doomed.filter((x) => x.k?.kind === 'attachment');
  const byKey = (a: { o: BucketObject }, b: { o: BucketObject }): number => (a.o.key < b.o.key ? -1 : a.o.key > b.o.key ? 1 : 0);
  // manifests wave by wave, each once every doomed manifest naming it has gone (a killed removal never leaves one naming a deleted one)
  const manifests = new Map(doomed.filter((x) => x.k?.kind === 'manifest').map((x) => [x.k?.name as Digest, x]));
  const manifestWaves = parentsFirst([...manifests.keys()], state.graph).map((wave) =>
    wave.map((d) => manifests.get(d) as (typeof doomed)[0]),
  );
  const waves = [
    [...removedTags, ...doomed.filter((x) => x.k?.kind === 'referrers-tag')].sort(byKey),
    goingAttachments.sort(byKey),
    ...manifestWaves,
    doomed.filter((x) => x.k?.kind === 'blob').sort(byKey),
  ];
  const objects = waves.flat().map((x) => ({ key: x.o.key, size: x.o.size }));
  return {
    tags: [...request.tags],
    unlist: [...removing].sort(),
    journal: [...removing].sort().map((t) => journalEntry(t, state.tagDigests.get(t))),
    phases: waves.map((wave) => wave.map((x) => x.o.key)),
    unlisted:
      listed === undefined
        ? []
        : roots
            .filter((x) => !listed.has(x.k?.name ?? '')) // cosign's .sig/.att are not roots: never listed, never reported
            .map((x) => x.k?.name ?? '')
            .sort(),
    attachments: goingAttachments.flatMap((x) => {
      const a = attachmentOf(x);
      return a === undefined ? [] : [{ tag: a.tag, subject: attachmentSubject(a.tag) as Digest, digest: a.digest }];
    }),
    uploads: state.uploads.filter((u) => bucketKeyKind(state.base, u.key) !== undefined && now - u.initiated.getTime() >= request.graceMs),
    objects,
    bytes: objects.reduce((n, o) => n + o.size, 0),
  };
}

/**
 * `digests` (manifests a removal deletes) in waves, parents first (pure): a manifest comes in the
 * wave after the last of those of `digests` that name it (an index its platform manifests, a
 * subject its referrers); a referrers tag's index goes with its subject, before the referrers it
 * lists. Digests `graph` does not hold (orphans of killed pushes) are in the first wave; any left
 * in a cycle (a hostile referrers listing) in a last one.
 */
export function parentsFirst(digests: readonly Digest[], graph: StoredGraph): Digest[][] {
  const set = new Set(digests);
  const withSubject = new Map<Digest, Digest>();
  for (const d of set) {
    const index = graph.get(d)?.referrersTag?.digest;
    if (index !== undefined && index !== d && set.has(index)) withSubject.set(index, d);
  }
  const children = (d: Digest): Digest[] =>
    [...new Set(graph.get(d)?.children ?? [])].filter((c) => c !== d && set.has(c) && !withSubject.has(c));
  const parents = new Map([...set].filter((d) => !withSubject.has(d)).map((d) => [d, 0]));
  for (const d of parents.keys()) for (const c of children(d)) parents.set(c, (parents.get(c) ?? 0) + 1);
  const waves: Digest[][] = [];
  let wave = [...parents].filter(([, n]) => n === 0).map(([d]) => d);
  while (wave.length > 0) {
    waves.push(wave);
    const next: Digest[] = [];
    for (const d of wave) for (const c of children(d)) if (parents.set(c, (parents.get(c) ?? 0) - 1).get(c) === 0) next.push(c);
    wave = next;
  }
  const placed = new Set(waves.flat());
  const cycle = [...parents.keys()].filter((d) => !placed.has(d));
  if (cycle.length > 0) waves.push(cycle);
  for (const [index, subject] of withSubject) waves.find((w) => w.includes(subject))?.push(index);
  return waves.map((w) => w.sort());
}

/** The static binaries of one NAME (`PREFIX/NAME`), as read before a removal. */
export interface StaticNameState {
  /** `PREFIX/NAME` (no trailing `/`). */
  base: string;
  /** What the name document lists; undefined when there is none. */
  listed: readonly string[] | undefined;
  /**
   * Each tag with a tag document or files: the document (when there is one), the digest of its
   * bytes (read for the tags a removal asks for or a journal names) and its files (`base/TAG/…`).
   */
  tags: ReadonlyMap<string, { document?: BucketObject; digest?: string; files: readonly BucketObject[] }>;
  /** The multipart uploads in progress under `base/`. */
  uploads: readonly BucketUpload[];
}

/** The removal of static tags (pure): the name document first, then the tag documents, then their files (files belong to one tag). */
export function planStaticRemoval(state: StaticNameState, request: RemovalRequest & { graceMs: number }, now: number): BucketRemovalPlan {
  const removing = [
    ...new Set([
      ...request.tags,
      ...unfinishedTags(
        request.unfinished,
        (t) => state.tags.get(t)?.digest,
        (t) => state.listed?.includes(t) === true,
      ),
    ]),
  ].sort();
  if (state.listed === undefined && [...state.tags.keys()].some((t) => !removing.includes(t))) {
    throw new AlbaError('S3', `${state.base} (the name document) is missing while tags of it exist (${state.tags.size})`, {
      hint: 'nothing was deleted; rebuild it from the tag documents with: alba static repair -t NAME TARGET',
    });
  }
  const documents = removing.flatMap((t) =>
    state.tags.get(t)?.document === undefined ? [] : [state.tags.get(t)?.document as BucketObject],
  );
  const files = removing.flatMap((t) => [...(state.tags.get(t)?.files ?? [])].sort((a, b) => (a.key < b.key ? -1 : 1)));
  const objects = [...documents, ...files].map((o) => ({ key: o.key, size: o.size }));
  const listed = new Set(state.listed ?? []);
  return {
    tags: [...request.tags],
    unlist: removing,
    journal: removing.map((t) => journalEntry(t, state.tags.get(t)?.digest)),
    phases: [documents.map((o) => o.key), files.map((o) => o.key), []],
    unlisted: [...state.tags.keys()]
      .filter((t) => !listed.has(t) && !removing.includes(t) && state.tags.get(t)?.document !== undefined)
      .sort(),
    uploads: state.uploads.filter((u) => u.key.startsWith(`${state.base}/`) && now - u.initiated.getTime() >= request.graceMs),
    attachments: [],
    objects,
    bytes: objects.reduce((n, o) => n + o.size, 0),
  };
}

/** A registry repository, as read before a removal. */
export interface RegistryRepoState {
  /** Every tag with its digest (referrers tags, cosign's tags and the removal lease excluded). */
  tags: readonly { tag: string; digest: Digest }[];
  /** cosign's `sha256-<hex>.sig|.att|.sbom` tags with their digests. */
  attachments?: readonly AttachmentTag[];
  /** What the tags and cosign's tags reach. */
  graph: StoredGraph;
}

/** A tag removed alone: its digest stays, reached by kept tags. */
export interface Untag {
  tag: string;
  digest: string;
  /** Kept tags on the same digest (empty when kept tags reach it through an index). */
  siblings: string[];
}

/** What a registry removal does: tags removed alone, then manifests deleted by digest (`objects`: parents first, then the signatures of the subjects that went). */
export interface RegistryRemovalPlan extends RemovalPlan {
  /** Every tag going: the ones asked for and what a killed removal left (unfinishedTags). */
  removing: string[];
  /** The lease's journal of this removal (journalEntry). */
  journal: string[];
  untag: Untag[];
  /** Blobs no remaining tag reaches: the registry frees them in its own garbage collection. */
  blobs: { count: number; bytes: number };
}

/**
 * The removal of `request.tags` from a registry repository (pure). A registry deletes manifests
 * by digest, and a delete takes every tag on that digest with it: a removed tag whose digest a
 * kept tag reaches is removed alone (untag); every other removed digest goes, with what it
 * reaches and no kept tag reaches (referrers tag indexes, referrers, platform manifests), parents first
 * (a referrers tag index before its subject and the referrers it lists), then cosign's tags of the
 * manifests that went (a digest a kept tag reaches keeps them). cosign's tags of a manifest this
 * removal does not delete are left alone: a registry's untagged manifests are not alba's to
 * collect (they may be pulled by digest), nor are their signatures. A journalled tag a killed run
 * left on its placeholder is finished: the placeholder, no kept tag's, goes by digest.
 */
export function planRegistryRemoval(state: RegistryRepoState, request: RemovalRequest): RegistryRemovalPlan {
  const digestOf = (tag: string): Digest | undefined => state.tags.find((t) => t.tag === tag)?.digest;
  const placeholder = (tag: string, digest: string): string => untagPlaceholder(tag, digest).descriptor.digest;
  // a tag a registry names is listed: a journalled one is finished only when gone or on its placeholder
  const removed = new Set([
    ...request.tags,
    ...unfinishedTags(request.unfinished, digestOf, (tag) => digestOf(tag) !== undefined, placeholder),
  ]);
  const keptTags = state.tags.filter((t) => !removed.has(t.tag));
  const attachments = state.attachments ?? [];
  const { kept } = reachWithAttachments(
    state.graph,
    keptTags.map((t) => t.digest),
    attachments,
  );
  const untag: Untag[] = [];
  const roots = new Set<Digest>();
  for (const tag of [...removed]) {
    const digest = state.tags.find((t) => t.tag === tag)?.digest;
    if (digest === undefined) continue;
    if (kept.manifests.has(digest)) untag.push({ tag, digest, siblings: keptTags.filter((t) => t.digest === digest).map((t) => t.tag) });
    else roots.add(digest);
  }
  // the signatures of what goes, and theirs in turn (what is kept keeps its own: reachWithAttachments)
  const going: AttachmentTag[] = [];
  for (let more = true; more;) {
    const reached = reachIn(state.graph, [...roots, ...going.map((a) => a.digest)]).manifests;
    const next = attachments.filter(
      (a) => !going.includes(a) && reached.has(attachmentSubject(a.tag) as Digest) && !kept.manifests.has(a.digest),
    );
    going.push(...next);
    more = next.length > 0;
  }
  const gone = unreachedBy(kept, reachIn(state.graph, [...roots, ...going.map((a) => a.digest)]));
  const sizes = new Map<string, number>(gone.manifests.map((m) => [m.digest, m.size]));
  // parents first, a referrers tag index before the referrers it lists (never one naming a deleted manifest); signatures last
  const order = parentsFirst(
    gone.manifests.map((m) => m.digest),
    state.graph,
  ).flat();
  const goingDigests = new Set<string>(going.map((a) => a.digest));
  const manifests = [...order.filter((d) => !goingDigests.has(d)), ...order.filter((d) => goingDigests.has(d))];
  // first what a killed removal left (its index is gone, so no tag reaches these), but what a tag reaches again
  const left = (request.unfinishedObjects ?? []).filter((d) => !kept.manifests.has(d as Digest) && !sizes.has(d));
  const objects = [...left.map((key) => ({ key, size: 0 })), ...manifests.map((key) => ({ key, size: sizes.get(key) ?? 0 }))];
  return {
    tags: [...request.tags],
    removing: [...removed].sort(),
    journal: [...removed].sort().map((t) => journalEntry(t, digestOf(t))),
    untag,
    attachments: going.map((a) => ({ tag: a.tag, subject: attachmentSubject(a.tag) as Digest, digest: a.digest })),
    objects,
    bytes: objects.reduce((n, o) => n + o.size, 0),
    blobs: { count: gone.blobs.length, bytes: gone.blobs.reduce((n, b) => n + b.size, 0) },
  };
}

/**
 * The deletes of a registry plan still to do, given what the tags that stay reach when read again
 * just before (`now`): a manifest a tag has come to reach since the plan (a push meanwhile) is
 * spared, and so are the referrers tag index and the signatures of such a manifest.
 */
export function registryDeletes(plan: RegistryRemovalPlan, now: Reach): string[] {
  const spared = new Set<string>([...now.manifests.keys(), ...[...now.referrersTags.values()].map((t) => t.digest)]);
  for (const a of plan.attachments) if (now.manifests.has(a.subject)) spared.add(a.digest);
  return plan.objects.map((o) => o.key).filter((d) => !spared.has(d));
}
