/**
 * An S3 bucket as a static OCI registry: the objects a pull by tag or digest reads, under
 * `[PREFIX/]v2/NAME/`: `blobs/sha256:<hex>`, `manifests/sha256:<hex>`, `manifests/<tag>`, the
 * referrers tag `manifests/sha256-<hex of subject>`, `tags/list`, and `v2/index.html` so that a
 * website endpoint answers the `/v2/` ping with 200. Content-addressed objects are immutable and
 * cached for a year; tags and tags/list for a minute. Children are written before parents and the
 * tags and tags/list last, so a reader never finds a tag whose content is missing. The download
 * pages follow tags/list; a push that wrote nothing leaves them alone when its own page already
 * shows its tags with this digest (src/site/page-shows.ts).
 */
import { blobBytes, MAX_MANIFEST_BYTES, memoryBlob, type Blob } from '../../oci/graph.js';
import { isDescriptor } from '../../oci/manifest-json.js';
import { MediaType } from '../../oci/media-types.js';
import { mergedReferrersIndex, referrersIndex, referrersTag } from '../../oci/referrers.js';
import type { Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/types.js';
import { countedBlob } from '../counted-blob.js';
import { Prefetched } from '../prefetch.js';
import type { Sink, StoreOutcome } from '../sink.js';
import { LeaseWatch, removalsSince } from '../../lifecycle/lease.js';
import { LOCK_SUFFIX, updateDocument, updateTagList } from './json-document.js';
import { removalLease } from './removal-lease.js';
import { IMMUTABLE, MUTABLE, S3Store, singlePartEtag } from './s3-store.js';
import { keyOf, type S3Target } from './s3-target.js';
import { settleAll } from '../../util/settle-all.js';

/** Opens the static registry of `name` in the target bucket (checking first that the bucket answers). */
export async function openStaticRegistrySink(
  target: S3Target,
  name: string,
  options: { onBytes?: (n: number) => void; log?: (line: string) => void; pages?: boolean } = {},
): Promise<Sink> {
  const store = new S3Store(target);
  await store.checkBucket();
  const key = (path: string): string => keyOf(target, `v2/${name}/${path}`);
  const tagged: { tag: string; digest: string }[] = [];
  /** Whether this push wrote an object (the pages are then refreshed). */
  let moved = false;
  /** One watch for the push's checks: a lease seen going stale is not waited for again. */
  const leaseWatch = new LeaseWatch();

  const held = new Prefetched((k) => store.head(k));
  /** Stores `blob` at `k` unless it is there; `inMemory` (manifests: small, capped) sends it from memory rather than from a stream. */
  const putOnce = async (k: string, blob: Blob, contentType: string, inMemory = false): Promise<StoreOutcome> => {
    const present = await held.get(k);
    if (present !== undefined && present.size === blob.descriptor.size) return 'skipped';
    const streamed = options.onBytes === undefined ? blob : countedBlob(blob, options.onBytes);
    const body =
      blob.bytes ??
      (inMemory ? await blobBytes(streamed, MAX_MANIFEST_BYTES) : { open: () => streamed.open(), size: blob.descriptor.size });
    moved = true;
    await store.put(k, body, { contentType, cacheControl: IMMUTABLE });
    return 'sent';
  };

  return {
    name: `${target.url.split('?')[0]}/v2/${name}`,
    async holdsComplete(d: Descriptor): Promise<boolean> {
      const info = await store.head(key(`manifests/${d.digest}`));
      return info !== undefined && info.size === d.size;
    },
    prefetch({ blobs, manifests }) {
      held.start([...blobs.map((d) => key(`blobs/${d.digest}`)), ...manifests.map((d) => key(`manifests/${d.digest}`))]);
    },
    putBlob: (blob) => putOnce(key(`blobs/${blob.descriptor.digest}`), blob, 'application/octet-stream'),
    // from memory, so that the store remembers what it wrote (S3Store.written): the pages' reads of
    // these manifests after the push are asked "unless unchanged" (304, no body to wait for)
    putManifest: (blob) => putOnce(key(`manifests/${blob.descriptor.digest}`), blob, blob.descriptor.mediaType, true),
    async linkReferrers(subject: Descriptor, referrers: readonly Descriptor[]): Promise<void> {
      const tag = referrersTag(subject.digest as Digest);
      const tagKey = key(`manifests/${tag}`);
      // a HEAD first: none there needs no read, and one that lists exactly these referrers (its ETag
      // the MD5 of the index they make alone: a re-push) needs nothing at all
      const there = await store.head(tagKey);
      if (there?.etag !== undefined && there.etag === singlePartEtag(referrersIndex([...referrers]).bytes)) return;
      // read, merged and written back as tags/list is, so that concurrent pushes attaching other
      // referrers to the same subject keep each other's (gc reaches referrers through this tag)
      const wrote = await updateDocument<Descriptor[]>(store, {
        key: tagKey,
        contentType: MediaType.index,
        cacheControl: MUTABLE,
        maxBytes: MAX_MANIFEST_BYTES,
        lockKey: key(`manifests/${referrersTagLock(subject.digest as Digest)}`),
        absent: there === undefined,
        // a referrers tag that is not an index (damaged, or not alba's) is rewritten with these referrers: it must not block every later push
        parse: referrersOf,
        change: (current) =>
          mergedReferrersIndex(current ?? [], referrers) === undefined ? undefined : [...(current ?? []), ...referrers],
        encode: (entries) => referrersIndex(entries).bytes,
        holds: (entries) => referrers.every((r) => entries?.some((e) => e.digest === r.digest) === true),
        before: async (entries, bytes) => {
          // by digest too, as for every manifest, so clients that resolve the tag can fetch it by digest
          const index = referrersIndex(entries);
          const byDigest = key(`manifests/${index.descriptor.digest}`);
          await putOnce(byDigest, memoryBlob(index), MediaType.index);
          // an object this push stored by its content: what tells which conditions the server enforces
          store.offerConditionProbe({ key: byDigest, bytes, contentType: MediaType.index, cacheControl: IMMUTABLE });
          void store.conditionalWrites(); // asked beside the tag's write
        },
      });
      if (wrote) moved = true;
    },
    readTag: async (tag) => (await store.get(key(`manifests/${tag}`), MAX_MANIFEST_BYTES))?.bytes,
    async tagAttachment(tag, m) {
      const bytes = await blobBytes(m, MAX_MANIFEST_BYTES);
      moved = true;
      await store.put(key(`manifests/${tag}`), bytes, { contentType: m.descriptor.mediaType, cacheControl: MUTABLE });
    },
    async tag(tag: string, root: Blob): Promise<StoreOutcome> {
      const bytes = await blobBytes(root, MAX_MANIFEST_BYTES);
      if (!tagged.some((t) => t.tag === tag)) tagged.push({ tag, digest: root.descriptor.digest });
      // the root by digest (stored by now, as putManifest wrote it) is what tells which
      // conditions the server enforces, for the tags/list write that follows
      store.offerConditionProbe({
        key: key(`manifests/${root.descriptor.digest}`),
        bytes,
        contentType: root.descriptor.mediaType,
        cacheControl: IMMUTABLE,
      });
      const present = await store.head(key(`manifests/${tag}`));
      if (present?.etag === singlePartEtag(bytes)) return 'skipped';
      moved = true;
      void store.conditionalWrites(); // asked beside the tag's write, not after tags/list's
      await store.put(key(`manifests/${tag}`), bytes, { contentType: root.descriptor.mediaType, cacheControl: MUTABLE });
      return 'sent';
    },
    removalEpoch: async () => removalLease(store, key('')).epoch?.(),
    removalsSince: (before) => removalsSince(removalLease(store, key('')), before, options.log, leaseWatch),
    async finish(ok: boolean): Promise<void> {
      if (!ok || tagged.length === 0) return;
      const pages = options.pages === false ? undefined : await import('../../site/bucket-pages.js');
      const ping = keyOf(target, 'v2/index.html');
      // tags/list, and the ping object that makes `/v2/` answer, at once
      const written = settleAll([
        updateTagList(store, key('tags/list'), name, { add: tagged.map((t) => t.tag) }),
        store.head(ping).then(async (there) => {
          if (there !== undefined) return false;
          await store.put(ping, Buffer.from('{}\n'), { contentType: 'application/json', cacheControl: MUTABLE });
          return true;
        }),
      ]).then((wrote) => (moved ||= wrote.includes(true)));
      if (pages === undefined) return void (await written);
      // the repository's page and the root page, written after tags/list (src/site/bucket-pages.ts)
      await pages.pagesAfterPush(store, key(''), {
        kind: 'image',
        moved: written,
        tags: tagged.map((t) => ({ kind: 'image', name, ...t })),
      });
    },
  };
}

/** The referrer descriptors a referrers tag lists; none when it is not an index of descriptors. */
function referrersOf(bytes: Buffer): Descriptor[] {
  try {
    const manifests = (JSON.parse(bytes.toString('utf8')) as { manifests?: unknown }).manifests;
    return Array.isArray(manifests) ? manifests.filter(isDescriptor) : [];
  } catch {
    return [];
  }
}

/** The name of the lock object of a referrers tag, beside it under `manifests/`: a leading dot is no tag name, so ls, gc and repair pass it over. */
export function referrersTagLock(subject: Digest): string {
  return `.${referrersTag(subject)}${LOCK_SUFFIX}`;
}
