import { createReadStream, createWriteStream, type BigIntStats } from 'node:fs';
import { copyFile, lstat, rename, rm, stat } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AlbaError } from '../errors.js';
import { isMissingFile, openRegularFile } from '../util/regular-file.js';
import { HashingStream, digestHex, parseDigest, type Digest } from './digest.js';
import type { StatIndex } from '../util/stat-index.js';
import { parseManifestJson } from './manifest-json.js';
import type { Descriptor } from './types.js';
import { MediaType } from './media-types.js';
import { whenClosed } from '../util/when-closed.js';
import { makeDirs } from '../util/make-dirs.js';

/** verify() reads a blob in chunks of this size. */
const VERIFY_READ_BYTES = 1024 * 1024;

/** What a blob is expected to be; a mismatch is an error naming `what`. */
export interface Expected {
  digest?: Digest;
  size?: number;
  /** Names the content in errors, e.g. `libc6 2.36-9 (http://…/libc6_2.36-9_amd64.deb)`. */
  what: string;
  /** A last check once digest and size hold, before the blob becomes visible (a layer's diff_id, computed as it streamed in); throws to refuse it. */
  check?: () => void | Promise<void>;
}

/** Digest and size of a stored blob. */
export interface Stored {
  digest: Digest;
  size: number;
}

/**
 * A directory of blobs named by their sha256 (`<root>/sha256/<hex>`), written atomically:
 * streamed to a temp file while hashed, verified, then renamed, so an entry is always whole.
 */
export class BlobStore {
  constructor(
    readonly root: string,
    /** Where blobs are written before their rename (default `<root>/tmp`; on the same filesystem). */
    private readonly tempDir = join(root, 'tmp'),
    /** verify(): a blob whose stat is the one recorded when it last hashed to its name is not read again (util/stat-index.ts). */
    private readonly verified?: StatIndex,
  ) {}

  /** The file verify() last found corrupt, by digest (fileIdentity): the one evict() removes. */
  private readonly corrupt = new Map<Digest, string>();

  /** Path of a blob in the store (it may not exist). */
  path(digest: Digest): string {
    return join(this.root, 'sha256', digestHex(digest));
  }

  /** True when the blob is stored. */
  async has(digest: Digest): Promise<boolean> {
    return stat(this.path(digest)).then(
      () => true,
      () => false,
    );
  }

  /** Opens a stored blob for reading. */
  open(digest: Digest): Readable {
    return createReadStream(this.path(digest));
  }

  /**
   * The whole content of a stored blob (a manifest, a config, an SBOM), undefined when the store
   * lacks it; `tooLarge` is thrown, unread, when it holds more than `max` bytes.
   */
  async bytes(digest: Digest, max: number, tooLarge: (size: number) => Error): Promise<Buffer | undefined> {
    const file = await openRegularFile(this.path(digest)).catch((err: unknown) => {
      if (isMissingFile(err)) return undefined;
      throw err;
    });
    if (file === undefined) return undefined;
    try {
      const info = await file.stat();
      if (info.size > max) throw tooLarge(info.size);
      const bytes = await file.readFile();
      if (bytes.length > max) throw tooLarge(bytes.length);
      return bytes;
    } finally {
      await file.close();
    }
  }

  /** Streams `source` into the store; verifies `expected` (digest, size, then its `check`) before the blob becomes visible. */
  async write(source: Readable, expected?: Expected): Promise<Stored> {
    const tmp = await this.tempPath();
    const hasher = new HashingStream();
    const out = createWriteStream(tmp);
    try {
      await pipeline(source, hasher, out);
      const digest = hasher.digest();
      checkExpected(expected, digest, hasher.size);
      await expected?.check?.();
      makeDirs(join(this.root, 'sha256'));
      await rename(tmp, this.path(digest));
      return { digest, size: hasher.size };
    } finally {
      await whenClosed(out);
      await rm(tmp, { force: true });
    }
  }

  /**
   * Stores a copy of a local file (a blob of another store): copied by the kernel (copy_file_range;
   * a copy, never a link, so damage to one cannot spread to the other), then its copy hashed once
   * and checked against `expected` before it becomes visible. Rejects with the copy's error (ENOENT
   * when `file` is missing).
   */
  async copyIn(file: string, expected?: Expected): Promise<Stored> {
    const tmp = await this.tempPath();
    try {
      const source = await openRegularFile(file); // a FIFO would hold copyFile's open forever
      try {
        // a file of another size (a sparse file of a TiB) is refused before a byte is copied, not after filling the disk
        if (expected?.size !== undefined) checkSize(expected, (await source.stat()).size);
      } finally {
        await source.close();
      }
      await copyFile(file, tmp);
      const { digest, size } = await hashFile(tmp);
      checkExpected(expected, digest, size);
      await expected?.check?.();
      makeDirs(join(this.root, 'sha256'));
      await rename(tmp, this.path(digest));
      return { digest, size };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Stores an in-memory blob. */
  async writeBytes(data: Uint8Array): Promise<Stored> {
    const { Readable } = await import('node:stream');
    return this.write(Readable.from([Buffer.from(data)]));
  }

  /**
   * True when the stored blob is there and its bytes still hash to its name (a disk error or a tool
   * may have changed them). With `size` (the blob's, when known), a file of another size is corrupt
   * unread: a sparse file of a TiB planted there was hashed for an hour.
   */
  async verify(digest: Digest, size?: number): Promise<boolean> {
    const path = this.path(digest);
    const at = Date.now();
    const before =
      this.verified === undefined && size === undefined ? undefined : await stat(path, { bigint: true }).catch(() => undefined);
    if (before !== undefined && this.verified?.trusts(path, digest, before) === true) return true;
    const wrongSize = size !== undefined && before !== undefined && before.size !== BigInt(size);
    const hashed = wrongSize ? undefined : await hashFile(path).catch(() => undefined);
    const ok = hashed?.digest === digest;
    if (before !== undefined && ok) this.verified?.note(path, digest, before, at);
    if (!ok) this.verified?.forget(path);
    if (ok) this.corrupt.delete(digest);
    // what could not be hashed (another run evicted it, or it is no regular file): what was there then
    else this.corrupt.set(digest, hashed?.identity ?? (await identityAt(path)));
    return ok;
  }

  /**
   * Removes a stored blob found corrupt. After verify() found it so, only that file: another run
   * sharing the cache may have stored the blob anew since (its checked copy renamed over the corrupt
   * one), and removing that one failed the run that stored it as it copied it next (BLOB_MISSING).
   */
  async evict(digest: Digest): Promise<void> {
    const path = this.path(digest);
    const found = this.corrupt.get(digest);
    this.corrupt.delete(digest);
    if (found !== undefined) {
      const now = await identityAt(path);
      // nothing there then (another run evicted it) or another file now (stored anew since): not the one found
      if (found === ABSENT || now !== found) return;
    }
    // a directory planted there goes too (a plain rm failed with EISDIR, an internal error)
    await rm(path, { force: true, recursive: true });
  }

  private async tempPath(): Promise<string> {
    makeDirs(this.tempDir);
    return join(this.tempDir, `${process.pid}-${randomBytes(6).toString('hex')}`);
  }
}

/**
 * Read buffers of hashFile no hash is using, for the next ones: a buffer per file hashed was garbage
 * outside V8's heap that only a collection frees (a write of a large layout hashes hundreds of files,
 * eight at a time: 30 MB of such buffers at once).
 */
const spareBuffers: Buffer[] = [];
/** Spare read buffers kept at most (as many as hashes run at once in a publish walk). */
const SPARE_BUFFERS = 8;

/** verify() found no file at the blob's path. */
const ABSENT = 'absent';

/** fileIdentity of what `path` names (a link to nothing: the link's), or ABSENT. */
function identityAt(path: string): Promise<string> {
  return stat(path, { bigint: true }).then(fileIdentity, () => lstat(path, { bigint: true }).then(fileIdentity, () => ABSENT));
}

/**
 * Which file a path names: device, inode and ctime (a file renamed over it is another; one changed
 * in place keeps device and inode but not its ctime).
 */
function fileIdentity(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.ctimeNs}`;
}

/** The sha256 and size of a file, read whole, and the identity of the file read (fileIdentity, taken after the read). */
async function hashFile(path: string): Promise<Stored & { identity: string }> {
  const hash = createHash('sha256');
  // one buffer for the whole file, large reads: each read is a round trip through libuv's thread pool
  const buffer = spareBuffers.pop() ?? Buffer.allocUnsafe(VERIFY_READ_BYTES);
  let size = 0;
  let identity: string;
  try {
    const file = await openRegularFile(path);
    try {
      for (let got = 0; (got = (await file.read(buffer, 0, buffer.length, null)).bytesRead) > 0; size += got)
        hash.update(buffer.subarray(0, got));
      identity = fileIdentity(await file.stat({ bigint: true }));
    } finally {
      await file.close();
    }
  } finally {
    if (spareBuffers.length < SPARE_BUFFERS) spareBuffers.push(buffer);
  }
  return { digest: `sha256:${hash.digest('hex')}` as Digest, size, identity };
}

/** Throws DIGEST_MISMATCH / SIZE_MISMATCH when a written blob is not what was expected. */
export function checkExpected(expected: Expected | undefined, digest: Digest, size: number): void {
  if (expected === undefined) return;
  checkSize(expected, size);
  if (expected.digest !== undefined && expected.digest !== digest) {
    throw new AlbaError('DIGEST_MISMATCH', `${expected.what}: expected ${expected.digest}, got ${digest}`, {
      hint: 'the file is corrupt or was tampered with; retry, or re-lock with `alba lock --update` if the archive changed',
    });
  }
}

/** Throws SIZE_MISMATCH when a blob's size is not the one expected. */
function checkSize(expected: Expected, size: number): void {
  if (expected.size !== undefined && expected.size !== size) {
    throw new AlbaError('SIZE_MISMATCH', `${expected.what}: expected ${expected.size} bytes, got ${size}`, {
      hint: 'the download was truncated or the file changed upstream; retry, or re-lock with `alba lock --update`',
    });
  }
}

/**
 * Checks that `store` holds what `roots` reach (indexes -> manifests -> config and layers): every
 * descriptor's blob is there with its size and, with `hashes`, hashes to its digest; a manifest or
 * index read to follow it must parse (at most `maxManifest` bytes). `invalid(detail)` is the
 * caller's error; the first broken descriptor is named.
 */
export async function checkHeld(
  store: BlobStore,
  roots: readonly Descriptor[],
  options: { hashes?: boolean; maxManifest: number; invalid: (detail: string) => Error },
): Promise<void> {
  const { invalid } = options;
  const seen = new Set<string>();
  const visit = async (d: Descriptor, from: string): Promise<void> => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    const digest = parseDigest(d.digest);
    const info = await stat(store.path(digest)).catch(() => undefined);
    if (info === undefined) throw invalid(`${from} references ${d.digest}, which is missing`);
    if (info.size !== d.size) throw invalid(`${from} says ${d.digest} has ${d.size} bytes; the blob has ${info.size}`);
    if (options.hashes === true && !(await store.verify(digest))) throw invalid(`blob ${d.digest} does not match its digest`);
    if (d.mediaType !== MediaType.index && d.mediaType !== MediaType.manifest) return;
    const bytes = await store.bytes(digest, options.maxManifest, (size) =>
      invalid(`${d.digest} has ${size} bytes, more than the ${options.maxManifest} of a manifest`),
    );
    const json = parseManifestJson(bytes ?? Buffer.alloc(0), (why) =>
      invalid(`${d.mediaType === MediaType.index ? 'index' : 'manifest'} ${d.digest} cannot be read: ${why}`),
    );
    const kind = d.mediaType === MediaType.index ? 'index' : 'manifest';
    for (const child of [...(json.manifests ?? []), ...(json.config === undefined ? [] : [json.config]), ...(json.layers ?? [])])
      await visit(child, `${kind} ${d.digest}`);
  };
  for (const d of roots) await visit(d, 'index.json');
}
