/**
 * The one publish walk: every blob (the images' and the referrers'), then the platform manifests,
 * then the root, then the referrer manifests after their subject, then the referrers' links, then
 * the tags, so that no reader ever sees a manifest whose content is missing, or a tag before its image.
 */
import { mergeAttachment } from '../oci/cosign.js';
import { memoryBlob, type Blob, type ImageGraph, type ManifestNode, type Referrer } from '../oci/graph.js';
import type { Descriptor, Platform } from '../oci/types.js';
import { mapLimit } from '../util/map-limit.js';
import { settleAll } from '../util/settle-all.js';
import type { Sink, StoreOutcome } from './sink.js';

/** What the walk tells as it goes. */
export interface PublishEvent {
  /** `blob`, `manifest`, `referrer`, `attachment` (a cosign signature or attestation manifest) or `tag`. */
  kind: 'blob' | 'manifest' | 'referrer' | 'attachment' | 'tag';
  /** The node's descriptor (the root's for a tag). */
  descriptor: Descriptor;
  outcome: StoreOutcome;
  /** The platform whose image the node belongs to, when it is one image's. */
  platform?: Platform;
  tag?: string;
}

/** How to walk. */
export interface PublishOptions {
  /** Nodes stored at once (default 8). */
  concurrency?: number;
  onEvent?: (event: PublishEvent) => void;
}

/** Counts of what the walk did, by outcome. */
export type PublishCounts = Record<StoreOutcome, number>;

/** What was published. */
export interface PublishResult {
  root: Descriptor;
  tags: string[];
  /** Blobs (configs, layers, artifact blobs) by outcome, each digest counted once. */
  blobs: PublishCounts;
  /** Manifests and indexes (the root and referrers included) by outcome. */
  manifests: PublishCounts;
}

/**
 * Stores `graph` in `sink` and points `tags` at its root. When the sink already holds the root
 * (or a referrer) complete, that part is skipped without a request per blob. Each digest is stored once even when
 * several images share it; up to `concurrency` nodes are stored at a time (also the referrers'
 * links of several subjects). On failure the sink is told to discard what it staged and no tag is written.
 */
export async function publish(
  graph: ImageGraph,
  sink: Sink,
  tags: readonly string[],
  options: PublishOptions = {},
): Promise<PublishResult> {
  let epoch = await sink.removalEpoch?.();
  let result: PublishResult | undefined;
  // a removal that ran meanwhile (or still runs) may have taken what this push found already
  // stored: once it ends, the walk goes again without trusting what it found, storing whatever is
  // missing. Each walk's tags are written: the sink's last writes (tags/list, pages) go out while
  // the removal lease and epoch are read. A walk that fails in a way a removal can cause goes again
  // too, when one ran: a registry refuses a tag whose image the removal deleted after the walk
  // found it stored (MANIFEST_BLOB_UNKNOWN); any other failure is thrown as it came.
  for (let round = 0; ; round++) {
    let walked: PublishResult;
    try {
      walked = await walk(graph, sink, tags, options, round > 0);
    } catch (err) {
      const since =
        round < 3 && sink.removalCanCause?.(err) === true ? await sink.removalsSince?.(epoch).catch(() => undefined) : undefined;
      if (since?.ran !== true) throw err;
      epoch = since.epoch;
      continue;
    }
    if (result === undefined) result = walked;
    else
      for (const k of ['sent', 'mounted'] as const) {
        result.blobs[k] += walked.blobs[k];
        result.manifests[k] += walked.manifests[k];
      }
    const [since] = await settleAll([round < 3 ? sink.removalsSince?.(epoch) : undefined, sink.finish(true)]);
    if (since?.ran !== true) return result;
    epoch = since.epoch;
  }
}

/** One walk; `recheck`: every node is looked at, none skipped because its parent is held. */
async function walk(
  graph: ImageGraph,
  sink: Sink,
  tags: readonly string[],
  options: PublishOptions,
  recheck: boolean,
): Promise<PublishResult> {
  const limit = options.concurrency ?? 8;
  const emit = options.onEvent ?? (() => undefined);
  const result: PublishResult = { root: graph.root.descriptor, tags: [...tags], blobs: counts(), manifests: counts() };
  const store = async (
    kind: PublishEvent['kind'],
    items: readonly (Owned & { held: boolean })[],
    put: (b: Blob, held: boolean) => Promise<StoreOutcome>,
  ): Promise<void> => {
    await mapLimit(unique(items), limit, async ({ blob, platform, held }) => {
      const outcome = await put(blob, held);
      (kind === 'blob' ? result.blobs : result.manifests)[outcome]++;
      emit({ kind, descriptor: blob.descriptor, outcome, ...(platform === undefined ? {} : { platform }) });
    });
  };
  const skip = async (): Promise<StoreOutcome> => 'skipped';
  try {
    const rootIsImage = graph.images.length === 1 && graph.images[0]?.manifest.descriptor.digest === graph.root.descriptor.digest;
    const [rootHeld, referrersHeld] = recheck
      ? [false, graph.referrers.map(() => false)]
      : await Promise.all([
          sink.holdsComplete(graph.root.descriptor),
          mapLimit(graph.referrers, limit, (r) => sink.holdsComplete(r.manifest.descriptor)),
        ]);
    const missing = graph.referrers.filter((_, i) => referrersHeld[i] !== true);
    // what may be stored, asked about at once (one wave of HEADs) while the blobs go
    if (!rootHeld || missing.length > 0)
      sink.prefetch?.({
        blobs: [...(rootHeld ? [] : graph.images), ...missing].flatMap((n) => n.blobs.map((b) => b.descriptor)),
        manifests: [
          ...(rootHeld ? [] : [...graph.images.map((i) => i.manifest.descriptor), graph.root.descriptor]),
          ...missing.map((r) => r.manifest.descriptor),
        ],
      });
    // every blob first (the images' and the referrers'), in one pool: nothing waits for a slow platform
    await store(
      'blob',
      [
        ...graph.images.flatMap(owned).map((o) => ({ ...o, held: rootHeld })),
        ...missing.flatMap(owned).map((o) => ({ ...o, held: false })),
      ],
      (b, held) => (held ? skip() : sink.putBlob(b)),
    );
    if (!rootIsImage)
      await store(
        'manifest',
        graph.images.map((i) => ({ blob: i.manifest, platform: platformOf(i), held: rootHeld })),
        (b, held) => (held ? skip() : sink.putManifest(b)),
      );
    // the root, and beside it the referrers whose subject is already stored; then each referrer once its subject is
    const heldReferrer = new Map(graph.referrers.map((r, i) => [r, referrersHeld[i] === true]));
    for (const [i, wave] of referrerWaves(graph, rootIsImage).entries())
      await Promise.all([
        i === 0 ? store('manifest', [{ blob: graph.root, held: rootHeld }], (b, held) => (held ? skip() : sink.putManifest(b))) : undefined,
        store(
          'referrer',
          wave.map((r) => ({ blob: r.manifest, held: heldReferrer.get(r) === true })),
          (b, held) => (held ? skip() : sink.putManifest(b)),
        ),
      ]);
    // signatures and attestations once what they sign is stored (beside the referrers' links), before the tags: a tag never names an image its signature is not yet beside
    // both end before a failure is thrown: nothing is in flight when the sink is told
    await settleAll([
      linkAll(graph, sink, tags, limit),
      mapLimit(graph.attachments ?? [], limit, async (attachment) => {
        const merged = mergeAttachment(await sink.readTag?.(attachment.tag), attachment);
        if (merged === undefined) return emit({ kind: 'attachment', descriptor: attachment.subject, outcome: 'skipped' });
        for (const outcome of await Promise.all([memoryBlob(merged.config), ...merged.added].map((b) => sink.putBlob(b))))
          result.blobs[outcome]++;
        const manifest = memoryBlob(merged.manifest);
        const outcome = await sink.putManifest(manifest);
        await (sink.tagAttachment === undefined ? sink.tag(attachment.tag, manifest) : sink.tagAttachment(attachment.tag, manifest));
        result.manifests[outcome]++;
        emit({ kind: 'attachment', descriptor: merged.manifest.descriptor, outcome });
      }),
    ]);
    for (const tag of tags) {
      const outcome = await sink.tag(tag, graph.root);
      emit({ kind: 'tag', descriptor: graph.root.descriptor, outcome, tag });
    }
  } catch (err) {
    await sink.finish(false);
    throw err;
  }
  return result;
}

interface Owned {
  blob: Blob;
  platform?: Platform | undefined;
}

function owned(node: ManifestNode): Owned[] {
  const platform = platformOf(node);
  return node.blobs.map((blob) => ({ blob, ...(platform === undefined ? {} : { platform }) }));
}

function platformOf(node: ManifestNode): Platform | undefined {
  return node.manifest.descriptor.platform;
}

/** The first occurrence of each digest, in order. */
function unique<T extends Owned>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  return items.filter(({ blob }) => !seen.has(blob.descriptor.digest) && seen.add(blob.descriptor.digest) !== undefined);
}

/**
 * The referrers in waves, each after the wave that stores its subject: the first wave goes beside
 * the root (referrers of the platform manifests, stored before it), the next ones after the root
 * (its referrers, then referrers of referrers); a subject the graph does not store comes last.
 */
function referrerWaves(graph: ImageGraph, rootIsImage: boolean): Referrer[][] {
  const stored = new Set(rootIsImage ? [] : graph.images.map((i) => i.manifest.descriptor.digest));
  const waves: Referrer[][] = [];
  let left = [...graph.referrers];
  while (left.length > 0) {
    const wave = left.filter((r) => stored.has(r.subject.digest));
    if (waves.length > 0 && wave.length === 0) {
      waves.push(left);
      break;
    }
    waves.push(wave);
    if (waves.length === 1) stored.add(graph.root.descriptor.digest);
    for (const r of wave) stored.add(r.manifest.descriptor.digest);
    left = left.filter((r) => !wave.includes(r));
  }
  return waves.length === 0 ? [[]] : waves;
}

/**
 * Links the referrers of each subject, the root's with what its tags need (Sink.tagReferrers,
 * stored meanwhile): one link of the root, where a sink such as a registry's pauses to read it back.
 */
async function linkAll(graph: ImageGraph, sink: Sink, tags: readonly string[], limit: number): Promise<void> {
  const root = graph.root.descriptor;
  const forTags = sink.tagReferrers?.(tags, root);
  forTags?.catch(() => undefined); // awaited by the root's link below
  const subjects = [...bySubject(graph)];
  if (forTags !== undefined && !subjects.some(([subject]) => subject.digest === root.digest)) subjects.push([root, []]);
  try {
    await mapLimit(subjects, limit, async ([subject, referrers]) => {
      const all = subject.digest === root.digest ? [...referrers, ...((await forTags) ?? [])] : referrers;
      if (all.length > 0) await sink.linkReferrers(subject, all);
    });
  } finally {
    await forTags?.catch(() => undefined); // ended even when another link failed first: nothing in flight when the sink is told
  }
}

/** The referrer descriptors of each subject, in the graph's order. */
function bySubject(graph: ImageGraph): Map<Descriptor, Descriptor[]> {
  const subjects = new Map<string, { subject: Descriptor; referrers: Descriptor[] }>();
  for (const r of graph.referrers) {
    const entry = subjects.get(r.subject.digest) ?? { subject: r.subject, referrers: [] };
    entry.referrers.push(r.manifest.descriptor);
    subjects.set(r.subject.digest, entry);
  }
  return new Map([...subjects.values()].map((e) => [e.subject, e.referrers]));
}

function counts(): PublishCounts {
  return { sent: 0, skipped: 0, mounted: 0 };
}
