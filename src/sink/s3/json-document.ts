/**
 * Read-modify-write of a small JSON document in a bucket (`tags/list`, `df-dist-v1/NAME`) that
 * concurrent pushes must not lose each other's changes to. Each write is conditional
 * (`If-Match` the ETag read, `If-None-Match: *` for a new document); a server that refuses the
 * condition (412) makes alba read again and redo the change. Servers that ignore the conditions,
 * or refuse every If-Match (Ceph RGW 16 does, even for the right ETag), are covered by reading the
 * document again after a short random pause and repairing it while it lacks this push's change:
 * two writers converge.
 */
import { AlbaError } from '../../errors.js';
import { MUTABLE, type S3Store } from './s3-store.js';

/** How to change one document. */
export interface DocumentChange<T> {
  key: string;
  contentType: string;
  cacheControl: string;
  /** The document to write given the current one (undefined when there is none), or undefined when it needs no change. */
  change(current: T | undefined): T | undefined;
  /** True when `doc` holds this push's change (checked after writing). */
  holds(doc: T | undefined): boolean;
}

const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
const ATTEMPTS = 8;

/** Applies the change (see the file comment); throws S3 when it cannot make it stick. */
export async function updateDocument<T>(store: S3Store, change: DocumentChange<T>): Promise<void> {
  let ifMatchWorks = true;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const current = await read<T>(store, change.key);
    const next = change.change(current?.doc);
    if (next === undefined) return;
    const bytes = Buffer.from(`${JSON.stringify(next)}\n`, 'utf8');
    const condition = current?.etag === undefined ? { ifNoneMatch: '*' as const } : ifMatchWorks ? { ifMatch: current.etag } : {};
    const written = await store.put(change.key, bytes, { contentType: change.contentType, cacheControl: change.cacheControl, ...condition });
    if (!written) {
      // Ceph RGW 16 answers 412 to every If-Match, even the right ETag: then write without it and rely on the repair below.
      if ('ifMatch' in condition && (await read<T>(store, change.key))?.etag === current?.etag) ifMatchWorks = false;
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, 30 + Math.random() * 120));
    if (change.holds((await read<T>(store, change.key))?.doc)) return;
  }
  throw new AlbaError('S3', `${store.where(change.key)}: could not update it after ${ATTEMPTS} tries (other pushes kept changing it)`, {
    hint: 'run the push again; its content is in place, only this index is behind',
  });
}

async function read<T>(store: S3Store, key: string): Promise<{ doc: T; etag?: string } | undefined> {
  const got = await store.get(key, MAX_DOCUMENT_BYTES);
  if (got === undefined) return undefined;
  try {
    return { doc: JSON.parse(got.bytes.toString('utf8')) as T, ...(got.etag === undefined ? {} : { etag: got.etag }) };
  } catch (cause) {
    throw new AlbaError('S3', `${store.where(key)} is not JSON`, { hint: 'this object was not written by alba; remove it or choose another prefix', cause });
  }
}

/** A `{"name", "tags": [...]}` document: `tags/list`, `df-dist-v1/NAME`. */
export interface TagListDocument {
  name: string;
  tags: string[];
}

/** The tags of the tag-list document at `key`; [] when there is none. */
export async function readTagList(store: S3Store, key: string): Promise<string[]> {
  return (await read<Partial<TagListDocument>>(store, key))?.doc.tags ?? [];
}

/** Adds and removes tags of the tag-list document at `key` (see updateDocument); tags sorted by `order` (default: code units). */
export function updateTagList(store: S3Store, key: string, name: string, edit: { add?: readonly string[]; remove?: readonly string[] }, order?: (a: string, b: string) => number): Promise<void> {
  const add = edit.add ?? [];
  const remove = new Set(edit.remove ?? []);
  const holds = (doc: TagListDocument | undefined): boolean => add.every((t) => doc?.tags.includes(t) === true) && !(doc?.tags ?? []).some((t) => remove.has(t));
  return updateDocument<TagListDocument>(store, {
    key,
    contentType: 'application/json',
    cacheControl: MUTABLE,
    change: (current) => {
      if (current?.name === name && holds(current)) return undefined;
      if (current === undefined && add.length === 0) return undefined;
      const tags = [...new Set([...(current?.tags ?? []), ...add])].filter((t) => !remove.has(t)).sort(order);
      return { name, tags };
    },
    holds,
  });
}
