/**
 * The removal lease of a bucket (see lifecycle/lease.ts): one object per image repository
 * (`[PREFIX/]v2/NAME/.alba-removal-lease`) or static NAME (`PREFIX/NAME/.alba-removal-lease`),
 * created with `If-None-Match: *` (honoured by AWS S3, MinIO and Ceph RGW), renewed while the
 * removal runs, deleted at its end. A leading `.` is outside the grammar of repository path
 * components and of static tags, so the key is nobody's content; sweeps never see it (they
 * consider only `blobs/` and `manifests/`).
 */
import { randomUUID } from 'node:crypto';
import { type HeldLease, type LeaseMedium, type LeaseRecord, parseLeaseRecord } from '../../lifecycle/lease.js';
import type { BucketRemovalPlan } from '../../lifecycle/removal-plan.js';
import { mapLimit } from '../../util/map-limit.js';
import { isStrongEtag, type S3Store } from './s3-store.js';

/** The last path segment of a lease object's key. */
export const LEASE_OBJECT = '.alba-removal-lease';
/** The last path segment of the removal epoch's key (see LeaseMedium.epoch): kept, a few bytes, nobody's content. */
export const EPOCH_OBJECT = '.alba-removal-epoch';

/** The removal lease of the repository or static name whose keys start with `base` (ending in `/`). */
export function removalLease(store: S3Store, base: string): LeaseMedium {
  const epochKey = `${base}${EPOCH_OBJECT}`;
  return {
    ...bucketLease(store, `${base}${LEASE_OBJECT}`),
    // by HEAD: its strong ETag changes with every bump (a new random body). A GET of a small object
    // costs Ceph RGW ~40 ms more than a HEAD (docs/architecture.md), and a push asks twice; a
    // server that gives no ETag, or a weak one (which may stay while the bytes change), is read
    epoch: async () => {
      const info = await store.head(epochKey);
      if (info === undefined) return undefined;
      return info.etag !== undefined && isStrongEtag(info.etag) ? info.etag : (await store.get(epochKey, 1024))?.bytes.toString('utf8');
    },
    bumpEpoch: async () =>
      void (await store.put(epochKey, Buffer.from(randomUUID()), { contentType: 'text/plain', cacheControl: 'no-store' })),
  };
}

/**
 * Carries out a bucket's removal plan under `lease`, in the one order a reader never sees a tag
 * without its content: the journal, the tags' document (`unlist`), the pages (which no longer list
 * the removed tags), each phase with the lease checked before it, the uploads aborted, the pages again.
 */
export async function carryOutRemoval(
  store: S3Store,
  plan: BucketRemovalPlan,
  lease: HeldLease,
  steps: { unlist: (tags: readonly string[]) => Promise<void>; refreshPages?: () => Promise<void> },
): Promise<void> {
  await lease.journal(plan.journal);
  await lease.check();
  if (plan.unlist.length > 0) await steps.unlist(plan.unlist);
  await steps.refreshPages?.();
  for (const phase of plan.phases) {
    await lease.check();
    await store.removeAll(phase, lease.guard);
  }
  await mapLimit(plan.uploads, 4, (u) => store.abortUpload(u.key, u.uploadId));
  await steps.refreshPages?.();
}

/** A lease held as the object `key` (the removal lease; a static push's lock on its tag). */
export function bucketLease(store: S3Store, key: string): LeaseMedium {
  const body = (record: LeaseRecord): Buffer => Buffer.from(`${JSON.stringify(record)}\n`);
  const options = { contentType: 'application/json', cacheControl: 'no-store' };
  return {
    where: store.where(key),
    code: 'S3',
    create: (record) => store.put(key, body(record), { ...options, ifNoneMatch: '*' }),
    write: async (record) => void (await store.put(key, body(record), options)),
    present: async () => (await store.head(key)) !== undefined,
    async read() {
      const got = await store.get(key, 64 * 1024);
      if (got === undefined) return undefined;
      let record: LeaseRecord | undefined;
      try {
        record = parseLeaseRecord(JSON.parse(got.bytes.toString('utf8')));
      } catch {
        record = undefined;
      }
      return { version: got.etag ?? got.bytes.toString('base64'), record };
    },
    remove: () => store.remove(key),
  };
}
