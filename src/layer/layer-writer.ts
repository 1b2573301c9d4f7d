/**
 * Deterministic layer writing, shared by every layer alba makes.
 *
 * Choices (each one so that the same content gives the same digest on every machine):
 * - tar: ustar headers from tar-stream; a PAX record only for names/link targets that do not
 *   fit ustar (path/linkpath only — never atime/ctime/mtime records). uname/gname are empty:
 *   containers resolve owners by the numeric uid/gid, and empty names cannot differ between
 *   build hosts. devmajor/devminor 0. mtime is an integer number of seconds, clamped by callers.
 * - gzip: Node's zlib at level 6, default gzip header (mtime 0, no file name), and the OS byte
 *   (offset 9) forced to 3 (unix): zlib writes the build platform's code there otherwise.
 * - diff_id: sha256 of the uncompressed tar, computed in the same pass; digest and size of the
 *   gzip stream are computed by the BlobStore while it writes.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { isAlbaError } from '../errors.js';
import type { BlobStore, Stored } from '../oci/blob-store.js';
import { HashingStream, type Digest } from '../oci/digest.js';
import { deterministicGzip } from '../oci/gzip.js';
import { MediaType } from '../oci/media-types.js';

/** A stored layer blob: compressed digest and size, and the diff_id of its tar. */
export interface LayerBlob {
  digest: Digest;
  diffId: Digest;
  size: number;
  mediaType: string;
}

/** A tar-stream header as alba passes it to pack.entry(). */
export type TarHeader = Partial<tar.Header> & Pick<tar.Header, 'name'>;

/** One tar entry as alba writes it (path already normalised; see tar-path.ts). */
export interface TarEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link';
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Byte size of a file's content. */
  size?: number;
  /** Target of a symlink or hard link. */
  linkname?: string;
}

/** The tar header alba writes for an entry: nothing in it depends on the build host. */
export function tarHeader(e: TarEntry): TarHeader {
  return {
    name: e.path,
    type: e.type,
    mode: e.mode & 0o7777,
    uid: e.uid,
    gid: e.gid,
    size: e.type === 'file' ? (e.size ?? 0) : 0,
    mtime: new Date(Math.floor(e.mtime) * 1000),
    ...(e.linkname === undefined ? {} : { linkname: e.linkname }),
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
  };
}

/** Adds an entry with in-memory content (or none, for directories and links). */
export function addEntry(pack: tar.Pack, entry: TarEntry, content?: Buffer): Promise<void> {
  const header = tarHeader(content === undefined ? entry : { ...entry, size: content.length });
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (content === undefined) pack.entry(header, done);
    else pack.entry(header, content, done);
  });
}

/** Adds a file entry whose content is streamed from `source` (exactly `entry.size` bytes). */
export async function addStreamEntry(pack: tar.Pack, entry: TarEntry, source: Readable): Promise<void> {
  await pipeline(source, pack.entry(tarHeader(entry)) as unknown as NodeJS.WritableStream);
}

/**
 * Streams a layer into `store`: `fill` adds the entries to the tar pack, which flows through
 * the diff_id hash, gzip and the header fix into the store — one pipeline, flat memory.
 * If either side fails, the other is stopped; the error thrown is an AlbaError when either side
 * threw one, else the first error.
 */
export async function writeLayer(store: BlobStore, fill: (pack: tar.Pack) => Promise<void>): Promise<LayerBlob> {
  const pack = tar.pack();
  const diff = new HashingStream();
  let firstError: unknown;
  const fail = (err: unknown): never => {
    firstError ??= err;
    throw err;
  };
  const filling = fill(pack).then(
    () => pack.finalize(),
    (err: unknown) => {
      pack.destroy(err as Error);
      return fail(err);
    },
  );
  let stored: Stored | undefined;
  const storing = pipeline(
    Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false }),
    diff,
    ...deterministicGzip(),
    async (gz: AsyncIterable<Buffer>) => {
      // pipeline hands the last stream itself (a Readable) to its final function.
      stored = await store.write(gz as Readable);
    },
  ).catch((err: unknown) => {
    pack.destroy(err as Error);
    return fail(err);
  });
  const [filled, written] = await Promise.allSettled([filling, storing]);
  if (filled.status === 'rejected' || written.status === 'rejected' || stored === undefined) {
    // An AlbaError explains the failure better than the stream error it caused on the other side.
    const errors = [filled, written].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    throw errors.find((e) => isAlbaError(e)) ?? firstError;
  }
  return { digest: stored.digest, size: stored.size, diffId: diff.digest(), mediaType: MediaType.layerGzip };
}
