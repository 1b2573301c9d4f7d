/**
 * An OCI registry as a sink: blobs are looked for with HEAD and skipped, mounted from another
 * repository of the same registry when one is known to hold them, else uploaded; manifests go by
 * digest with their exact media type; referrers are linked to their subject through the
 * referrers API when the registry has one, else through the `sha256-<hex>` referrers tag, merged
 * with what is already there so other tools' referrers are kept; tags go last, each moved tag
 * with a push record (push-record.ts) first.
 */
import type { Digest } from '../../oci/digest.js';
import type { Blob } from '../../oci/graph.js';
import { mergedReferrersIndex, referrersIndex, referrersTag } from '../../oci/referrers.js';
import { namesMissingContent } from './registry-error.js';
import { memoryBlob } from '../../oci/graph.js';
import { AlbaError } from '../../errors.js';
import { pushRecord } from './push-record.js';
import { EMPTY_DESCRIPTOR } from '../../oci/manifest.js';
import { Prefetched } from '../prefetch.js';
import type { Descriptor } from '../../oci/types.js';
import { countedBlob } from '../counted-blob.js';
import type { Sink, StoreOutcome } from '../sink.js';
import { LeaseWatch, removalsSince } from '../../lifecycle/lease.js';
import { registryLease } from './removal-lease.js';
import { RegistryClient, type RegistryClientOptions, type UploadOptions } from './client.js';
import type { MountHints } from './mount-hints.js';
import { formatReference, type ImageReference } from './reference.js';
import { mapLimit } from '../../util/map-limit.js';

/** How to push to a registry. */
export interface RegistrySinkOptions extends RegistryClientOptions, UploadOptions {
  /** Where blobs were seen before in this registry (for cross-repository mounts). */
  mounts?: MountHints;
  /** Told of every chunk of blob bytes sent (for a progress display). */
  onBytes?: (bytes: number) => void;
  /** Notes (waiting for a removal of the repository to end). */
  log?: (line: string) => void;
}

/** A registry sink, and what it learnt while pushing. */
export interface RegistrySink extends Sink {
  /** True when the registry answered the referrers API (no referrers tag was needed). */
  readonly referrersApi: () => boolean | undefined;
}

const LINK_ATTEMPTS = 5;

/** Opens a sink on one repository of a registry; pings it first, so authentication fails early. */
export async function openRegistrySink(
  ref: Pick<ImageReference, 'registry' | 'repository'>,
  options: RegistrySinkOptions = {},
): Promise<RegistrySink> {
  const mountFrom = [...new Set([...(options.mountFrom ?? [])])].filter((r) => r !== ref.repository);
  const client = new RegistryClient(ref, { ...options, push: true, mountFrom });
  await client.ping();
  let api: boolean | undefined;
  let apiProbe: Promise<Descriptor[] | undefined> | undefined;
  const subjectsAnswered = new Set<string>();
  const blobsHeld = new Prefetched((digest) => client.hasBlob(digest as Digest));
  const manifestsHeld = new Prefetched((digest) => client.hasManifest(digest));

  /**
   * Lists `referrers` among the referrers of `subject`: nothing to do where the registry took the
   * subject itself; else the referrers tag, merged with what it holds, then read back after a
   * moment and merged again while another push's rewrite has dropped an entry (bounded).
   */
  const firstPause = 100 + Math.random() * 200;
  const link = async (subject: Descriptor, referrers: readonly Descriptor[]): Promise<void> => {
    if (subjectsAnswered.has(subject.digest)) {
      api = true;
      return;
    }
    for (let attempt = 0; ; attempt++) {
      // The referrers tag and (the first time) the referrers API asked at once; a tag that already
      // lists them all settles it whatever the API says (a re-push).
      const probe = api === undefined ? (apiProbe ??= client.referrersFromApi(subject.digest as Digest)) : undefined;
      probe?.catch(() => undefined);
      let listed = await client.referrersTagEntries(subject.digest as Digest);
      const index = mergedReferrersIndex(listed, referrers);
      if (index === undefined) return;
      if (attempt === LINK_ATTEMPTS) break;
      if (api !== false) {
        // the registry's answer for one subject tells whether it has the API; where it has, it
        // indexed every referrer it took (each manifest PUT with a subject), so nothing is left to link
        const fromApi = await (probe ?? client.referrersFromApi(subject.digest as Digest));
        if (fromApi !== undefined) {
          api = true;
          return;
        }
        api = false;
      }
      try {
        await client.putManifest(referrersTag(subject.digest as Digest), memoryBlob(index));
      } catch (err) {
        // the tag lists manifests the registry no longer holds (deleted by a removal or another tool): those entries go
        if (!namesMissingContent(err)) throw err;
        // 8 at a time: the tag is the registry's to fill, with as many entries as it likes
        listed = (await mapLimit(listed, 8, async (d) => ((await client.hasManifest(d.digest)) ? [d] : []))).flat();
        const pruned = mergedReferrersIndex(listed, referrers) ?? referrersIndex([...listed]);
        await client.putManifest(referrersTag(subject.digest as Digest), memoryBlob(pruned));
      }
      // long enough for another writer's read and rewrite to land (100-300 ms); the first pause is drawn
      // once per push, so the subjects linked at once wait as one, not for the longest of their draws
      await new Promise((r) => setTimeout(r, attempt === 0 ? firstPause : 100 + Math.random() * 200));
    }
    throw new AlbaError(
      'REGISTRY',
      `${formatReference({ registry: ref.registry, repository: ref.repository })}: the referrers tag of ${subject.digest} kept losing entries to other writers`,
      {
        hint: 'several pushes rewrite it at once; push again when they are done',
      },
    );
  };

  /** By root digest and tag: the tags tagReferrers found moving, whose push records are stored (and linked by the walk). */
  const recorded = new Set<string>();
  /** One watch for the push's checks: a lease seen going stale is not waited for again. */
  const leaseWatch = new LeaseWatch();
  const recordKey = (root: Descriptor, tag: string): string => `${root.digest} ${tag}`;
  /** Each tag's push record stored, unless the tag is already on the root (tags and the empty blob asked at once). */
  const tagReferrers = async (tags: readonly string[], root: Descriptor): Promise<Descriptor[]> => {
    if (tags.length === 0) return [];
    const [current, emptyHeld] = await Promise.all([
      Promise.all(tags.map((tag) => client.manifestDigest(tag).catch(() => undefined))),
      client.hasBlob(EMPTY_DESCRIPTOR.digest as Digest).catch(() => false),
    ]);
    const moving = tags.filter((_, i) => current[i] !== root.digest);
    for (const tag of moving) recorded.add(recordKey(root, tag));
    if (moving.length > 0 && !emptyHeld) await client.ensureEmptyBlob();
    const at = new Date();
    return Promise.all(
      moving.map(async (tag) => {
        const record = memoryBlob(pushRecord(root, tag, at));
        const subject = await client.putManifest(record.descriptor.digest, record);
        if (subject !== undefined) subjectsAnswered.add(subject);
        return record.descriptor;
      }),
    );
  };

  return {
    name: formatReference({ registry: ref.registry, repository: ref.repository }),
    referrersApi: () => api,
    async holdsComplete(d: Descriptor): Promise<boolean> {
      const held = await client.hasManifest(d.digest);
      // a manifest found missing is not asked about again by its store (a stale "missing" only sends it again; "held" is never kept)
      if (!held) manifestsHeld.remember(d.digest, false);
      return held;
    },
    prefetch({ blobs, manifests }) {
      blobsHeld.start(blobs.map((d) => d.digest));
      manifestsHeld.start(manifests.map((d) => d.digest));
    },
    async putBlob(blob: Blob): Promise<StoreOutcome> {
      const digest = blob.descriptor.digest as Digest;
      if (await blobsHeld.get(digest)) {
        options.mounts?.record(digest, ref.repository);
        return 'skipped';
      }
      for (const from of [...mountFrom, ...(options.mounts?.sources(digest, ref.repository) ?? [])]) {
        if (await client.mountBlob(digest, from).catch(() => false)) {
          options.mounts?.record(digest, ref.repository);
          return 'mounted';
        }
      }
      await client.uploadBlob(options.onBytes === undefined ? blob : countedBlob(blob, options.onBytes), options);
      options.mounts?.record(digest, ref.repository);
      return 'sent';
    },
    async putManifest(blob: Blob): Promise<StoreOutcome> {
      if (await manifestsHeld.get(blob.descriptor.digest)) return 'skipped';
      const subject = await client.putManifest(blob.descriptor.digest, blob);
      if (subject !== undefined) subjectsAnswered.add(subject);
      return 'sent';
    },
    linkReferrers: link,
    readTag: async (tag: string) => (await client.manifestIfFound(tag))?.bytes,
    tagAttachment: async (tag: string, manifest: Blob) => void (await client.putManifest(tag, manifest)),
    tagReferrers,
    async tag(tag: string, root: Blob): Promise<StoreOutcome> {
      // a tag the walk found moving has its push record stored and linked (tagReferrers, then the root's link);
      // any other is asked about now, right before it is written (it may have moved, or gone, since)
      if (!recorded.delete(recordKey(root.descriptor, tag))) {
        const records = await tagReferrers([tag], root.descriptor);
        if (records.length === 0) return 'skipped';
        await link(root.descriptor, records);
        recorded.delete(recordKey(root.descriptor, tag));
      }
      await client.putManifest(tag, root);
      return 'sent';
    },
    async finish(): Promise<void> {
      recorded.clear();
      // a later walk (publish.ts: a removal ran) asks again: what was held may be gone
      blobsHeld.clear();
      manifestsHeld.clear();
      await options.mounts?.save();
    },
    removalEpoch: async () => registryLease(client).epoch?.(),
    removalCanCause: namesMissingContent,
    removalsSince: (before) => removalsSince(registryLease(client), before, options.log, leaseWatch),
  };
}
