/**
 * Read-modify-write of a small document in a bucket (`tags/list`, `df-dist-v1/NAME`, an image's
 * referrers tags) that concurrent pushes must not lose each other's changes to. Each write is
 * conditional (`If-Match` the ETag read, `If-None-Match: *` for a new document); a server that
 * refuses the condition (412) makes alba read again and redo the change. A server that refuses
 * every If-Match (Ceph RGW 16 does, even for the right ETag) but honours If-None-Match gets a lock
 * instead: an object `KEY.alba-lock` created with `If-None-Match: *` around the read and the
 * write, so writers take turns; its holder rewrites it every LOCK_RENEW_MS, and a lock left by a
 * killed writer is broken once it has not changed for LOCK_STALE_MS (a holder that finds it was
 * broken into neither renews nor removes the new holder's lock). Servers that ignore both
 * conditions are covered by reading the document again after a short random pause and repairing
 * it while it lacks this push's change; that re-read is left out where the server was seen
 * enforcing the condition used (S3Store.conditionalWrites).
 */
import { randomUUID } from 'node:crypto';
import { AlbaError } from '../../errors.js';
import { MUTABLE, singlePartEtag, type ObjectBytes, type S3Store } from './s3-store.js';

/** How to change one document. */
export interface DocumentChange<T> {
  key: string;
  contentType: string;
  cacheControl: string;
  /** The document to write given the current one (undefined when there is none), or undefined when it needs no change. */
  change(current: T | undefined): T | undefined;
  /** True when `doc` holds this push's change (checked after writing). */
  holds(doc: T | undefined): boolean;
  /** The document in the bytes read from `key`; throws error[S3] naming the key when they are not one (nothing is written over it). */
  parse(bytes: Buffer): T;
  /** The bytes written for `doc` (default: its JSON and a newline). */
  encode?(doc: T): Buffer;
  /** Run before each write of the document: what it names is stored first. */
  before?(doc: T, bytes: Buffer): Promise<void>;
  /** The largest document read (default MAX_DOCUMENT_BYTES). */
  maxBytes?: number;
  /** The lock object on a server that refuses If-Match (default: `key` + LOCK_SUFFIX). */
  lockKey?: string;
  /** The caller saw no document there: the first write is a create (`If-None-Match: *`) without a read. */
  absent?: boolean;
}

/** What follows a document's key in the key of its lock (sweeps leave such objects alone). */
export const LOCK_SUFFIX = '.alba-lock';
/** The largest document alba reads (a tag list of ~100k tags). */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
/** The most tags a tag-list document may list (as a registry's tag list: MAX_TAGS); each is read by `ls` and `gc`. */
export const MAX_TAG_LIST_TAGS = 100_000;
const ATTEMPTS = 8;
/** A lock unchanged for this long belongs to a writer that died (its holder renews it every LOCK_RENEW_MS). */
const LOCK_STALE_MS = 10_000;
/** How often a holder rewrites its lock while it holds it. */
const LOCK_RENEW_MS = 2_000;
/** The largest lock body read back (alba's are a UUID and a newline). */
const LOCK_MAX_BYTES = 1024;
/** How long a writer waits for a lock before giving up. */
const LOCK_WAIT_MS = 60_000;

/** Applies the change (see the file comment); throws S3 when it cannot make it stick. True when this call wrote the document. */
export async function updateDocument<T>(store: S3Store, change: DocumentChange<T>): Promise<boolean> {
  let wrote = false;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const current = attempt === 0 && change.absent === true ? undefined : await read(store, change);
    const next = change.change(current?.doc);
    if (next === undefined) return wrote;
    const condition = current?.etag === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: current.etag };
    const bytes = encode(change, next);
    await change.before?.(next, bytes);
    if (!(await store.put(change.key, bytes, { ...writeOptions(change), ...condition }))) {
      // refused although the ETag is unchanged: this server refuses every If-Match (Ceph RGW 16)
      if ('ifMatch' in condition && (await read(store, change))?.etag === current?.etag)
        return (await withLock(store, change.key, (held) => changeLocked(store, change, held), change.lockKey)) || wrote;
      continue;
    }
    wrote = true;
    // on a server seen enforcing this condition, the write was atomic: another writer's change is
    // refused or was read first, so there is nothing to look for after a pause
    const enforced = await store.conditionalWrites();
    if ('ifMatch' in condition ? enforced.ifMatch : enforced.ifNoneMatch) return true;
    await pause(30 + Math.random() * 120);
    // asked as "unless it is still what this call wrote" (304: no body to read)
    if (change.holds((await read(store, change, { bytes, etag: singlePartEtag(bytes) }))?.doc)) return true;
  }
  throw tooBusy(store, change.key);
}

/** The read-change-write of a writer holding the lock (`held` throws once it is not): unconditional, checked by a re-read. */
async function changeLocked<T>(store: S3Store, change: DocumentChange<T>, held: () => Promise<void>): Promise<boolean> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const next = change.change((await read(store, change))?.doc);
    if (next === undefined) return attempt > 0; // an earlier attempt wrote
    const bytes = encode(change, next);
    await change.before?.(next, bytes);
    await held(); // an unconditional write is made only under the lock
    await store.put(change.key, bytes, writeOptions(change));
    if (change.holds((await read(store, change))?.doc)) return true;
  }
  throw tooBusy(store, change.key);
}

function tooBusy(store: S3Store, key: string): AlbaError {
  return new AlbaError('S3', `${store.where(key)}: could not update it after ${ATTEMPTS} tries (other pushes kept changing it)`, {
    hint: 'run the push again; its content is in place, only this index is behind',
  });
}

/**
 * Runs `work` while holding the lock object of `key` (see the file comment), `lock` when given;
 * `work` calls `held()` before each write, which throws error[S3] once another writer broke in.
 */
export async function withLock<T>(
  store: S3Store,
  key: string,
  work: (held: () => Promise<void>) => Promise<T>,
  lock = `${key}${LOCK_SUFFIX}`,
): Promise<T> {
  const started = Date.now();
  // the bodies this call wrote to the lock: the lock is still its own while it holds one of them
  const written: Buffer[] = [];
  const body = (): Buffer => {
    const made = Buffer.from(`${randomUUID()}\n`);
    written.push(made);
    return made;
  };
  let seen: { etag: string | undefined; since: number } | undefined;
  while (!(await store.put(lock, body(), { contentType: 'text/plain', cacheControl: 'no-store', ifNoneMatch: '*' }))) {
    const holder = (await store.head(lock))?.etag;
    const now = Date.now();
    // first, so that no answer of the server (a lock that never goes, a refusal that never ends) keeps alba here
    if (now - started > LOCK_WAIT_MS) {
      throw new AlbaError('S3', `${store.where(lock)}: another push has held this lock for over ${LOCK_WAIT_MS / 1000} s`, {
        hint: 'if no other push or gc is running, delete that object and run again',
      });
    }
    if (seen === undefined || seen.etag !== holder) seen = { etag: holder, since: now };
    else if (holder !== undefined && now - seen.since > LOCK_STALE_MS) {
      await store.remove(lock);
      seen = undefined; // the next holder seen is judged afresh
      continue;
    }
    await pause(50 + Math.random() * 150);
  }
  // a holder stopped for longer than LOCK_STALE_MS (its renewals did not land) was broken into by
  // a waiter, which now holds the lock: neither written over nor removed (asked "unless it is
  // still the body written last": 304, no body to wait for)
  const own = async (): Promise<boolean> => {
    const last = written[written.length - 1] as Buffer;
    const now = await store.get(lock, LOCK_MAX_BYTES, { bytes: last, etag: singlePartEtag(last) });
    return now !== undefined && written.some((b) => b.equals(now.bytes));
  };
  // renewed while held (a new body, so a new ETag): a holder that is slow, not dead — a write held
  // up by the network for longer than LOCK_STALE_MS — is not taken for a killed one, whose lock a
  // waiter would break and whose late write would then land over the waiter's change
  let lost = false;
  let renewal: Promise<unknown> = Promise.resolve();
  const renew = setInterval(() => {
    renewal = renewal
      .then(async () => {
        if (lost) return;
        if (!(await own())) lost = true;
        else await store.put(lock, body(), { contentType: 'text/plain', cacheControl: 'no-store' });
      })
      .catch(() => undefined);
  }, LOCK_RENEW_MS);
  const held = async (): Promise<void> => {
    if (!lost && (await own())) return;
    lost = true;
    throw new AlbaError(
      'S3',
      `${store.where(lock)}: another push broke this lock while alba was held up (over ${LOCK_STALE_MS / 1000} s)`,
      {
        hint: 'nothing was written under it; run the push again',
      },
    );
  };
  try {
    return await work(held);
  } finally {
    clearInterval(renew);
    await renewal; // a renewal landing after the removal would leave the lock behind
    // a failure here is not the work's: the lock, left, goes stale and is broken by the next writer
    await (async () => {
      if (!lost && (await own())) await store.remove(lock);
    })().catch(() => undefined);
  }
}

function writeOptions(change: DocumentChange<unknown>): { contentType: string; cacheControl: string } {
  return { contentType: change.contentType, cacheControl: change.cacheControl };
}

function encode<T>(change: DocumentChange<T>, doc: T): Buffer {
  return change.encode?.(doc) ?? Buffer.from(`${JSON.stringify(doc)}\n`, 'utf8');
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function read<T>(store: S3Store, change: DocumentChange<T>, known?: ObjectBytes): Promise<{ doc: T; etag?: string } | undefined> {
  const got = await store.get(change.key, change.maxBytes ?? MAX_DOCUMENT_BYTES, known);
  if (got === undefined) return undefined;
  return { doc: change.parse(got.bytes), ...(got.etag === undefined ? {} : { etag: got.etag }) };
}

/** The document in `bytes` (read from `key`); error[S3] naming the key when it is not JSON or not of the right shape. */
function parseDocument<T>(store: S3Store, key: string, bytes: Buffer, valid: (doc: unknown) => doc is T): T {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw damaged(store, key, 'is not JSON', cause);
  }
  if (!valid(doc)) throw damaged(store, key, 'is not the document alba writes there');
  return doc;
}

/** The error for a document of the bucket that alba cannot read: names the key and how to rebuild it. */
function damaged(store: S3Store, key: string, what: string, cause?: unknown): AlbaError {
  return new AlbaError('S3', `${store.where(key)} ${what}`, { hint: rebuildHint(key), ...(cause === undefined ? {} : { cause }) });
}

/** How to rebuild the tag-list document at `key` from the tags in the bucket. */
function rebuildHint(key: string): string {
  const repair = /\/tags\/list$/.test(key) ? 'alba container repair -t NAME TARGET' : 'alba static repair -t NAME TARGET';
  return `nothing was changed; rebuild it from the tags in the bucket with: ${repair}`;
}

/** A `{"name", "tags": [...]}` document: `tags/list`, `df-dist-v1/NAME`. */
export interface TagListDocument {
  name: string;
  tags: string[];
}

/** True when `doc` is a tag-list document. */
export function isTagList(doc: unknown): doc is TagListDocument {
  const d = doc as Partial<TagListDocument> | null;
  return (
    typeof d === 'object' && d !== null && typeof d.name === 'string' && Array.isArray(d.tags) && d.tags.every((t) => typeof t === 'string')
  );
}

/** The tags of the tag-list document at `key`; undefined when there is none; error[S3] naming the key when it is not one. */
export async function readTagList(store: S3Store, key: string): Promise<string[] | undefined> {
  const got = await store.get(key, MAX_DOCUMENT_BYTES);
  return got === undefined ? undefined : parseTagList(store, key, got.bytes);
}

/** The tags of a tag-list document read from `key` (its `bytes`), each once; error[S3] naming the key when it is not one. */
export function parseTagList(store: S3Store, key: string, bytes: Buffer): string[] {
  return [...new Set(boundedTagList(store, key, bytes).tags)]; // a tag listed twice (a hand-edited document) is one tag
}

/** The tag-list document in `bytes` (read from `key`): error[S3] when it is not one, TOO_LARGE past MAX_TAG_LIST_TAGS tags. */
function boundedTagList(store: S3Store, key: string, bytes: Buffer): TagListDocument {
  const doc = parseDocument(store, key, bytes, isTagList);
  if (doc.tags.length > MAX_TAG_LIST_TAGS)
    throw new AlbaError('TOO_LARGE', `${store.where(key)} lists ${doc.tags.length} tags, more than the ${MAX_TAG_LIST_TAGS} alba reads`, {
      hint: `each tag listed is read (at most ${MAX_TAG_LIST_TAGS}, as of a registry's tag list); ${rebuildHint(key)}`,
    });
  return doc;
}

/** Adds and removes tags of the tag-list document at `key` (see updateDocument); tags sorted by `order` (default: code units); true when this call wrote it. */
export function updateTagList(
  store: S3Store,
  key: string,
  name: string,
  edit: { add?: readonly string[]; remove?: readonly string[] },
  order?: (a: string, b: string) => number,
): Promise<boolean> {
  const add = edit.add ?? [];
  const remove = new Set(edit.remove ?? []);
  const holds = (doc: TagListDocument | undefined): boolean =>
    add.every((t) => doc?.tags.includes(t) === true) && !(doc?.tags ?? []).some((t) => remove.has(t));
  return updateDocument<TagListDocument>(store, {
    key,
    contentType: 'application/json',
    cacheControl: MUTABLE,
    parse: (bytes) => boundedTagList(store, key, bytes),
    change: (current) => {
      if (current?.name === name && holds(current)) return undefined;
      if (current === undefined && add.length === 0) return undefined;
      const tags = [...new Set([...(current?.tags ?? []), ...add])].filter((t) => !remove.has(t)).sort(order);
      return { name, tags };
    },
    holds,
  });
}
