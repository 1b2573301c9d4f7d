import { pipeline, Transform } from 'node:stream';
import { AlbaError, redactUrl } from '../errors.js';
import type { BlobStore } from '../oci/blob-store.js';
import { parseDigest, type Digest } from '../oci/digest.js';
import { mapLimit } from '../util/map-limit.js';
import { withRetry } from '../http/retry.js';
import { DEBIAN_RETRY, fetchStream, isBodyCut } from './http.js';

/** One .deb to fetch, with the size and SHA256 its (verified) index promised. */
export interface DebDownload {
  url: string;
  /** Hex SHA256 from the Packages index or the lock. */
  sha256: string;
  size: number;
  /** Names the package in errors and progress, e.g. `libc6 2.36-9+deb12u10 (amd64)`. */
  what: string;
}

/** Where a .deb now is. */
export interface DownloadedDeb {
  digest: Digest;
  /** Path of the blob in the store. */
  path: string;
  /** True when it was already in the store (nothing downloaded). */
  cached: boolean;
}

/** Progress after each finished item. */
export interface DownloadProgress {
  done: number;
  total: number;
  item: DebDownload;
  cached: boolean;
}

/** .deb downloads in flight: parallelism pays on mirror cache misses; more only holds more buffers and connections. */
export const DEB_DOWNLOADS = 6;

/** How to download. */
export interface DownloadOptions {
  /** Store of the cache dir (`<cacheDir>/blobs`). */
  store: BlobStore;
  /** Downloads in flight (default DEB_DOWNLOADS). */
  concurrency?: number;
  onProgress?: (progress: DownloadProgress) => void;
  timeoutMs?: number;
}

/**
 * Brings every .deb into the content-addressed store, results in input order. A stored blob is
 * trusted by its name alone (the store names files by the digest of their content and writes
 * atomically). A download that does not match its size or SHA256 is SIZE_MISMATCH /
 * DIGEST_MISMATCH naming the package, URL, expected and actual values, and leaves nothing behind.
 */
export async function downloadDebs(items: readonly DebDownload[], options: DownloadOptions): Promise<DownloadedDeb[]> {
  let done = 0;
  return mapLimit(items, options.concurrency ?? DEB_DOWNLOADS, async (item) => {
    const digest = parseDigest(`sha256:${item.sha256.toLowerCase()}`);
    const cached = await options.store.has(digest);
    // A download cut midway left nothing in the store: it is safe to start it again.
    if (!cached) await withRetry(() => downloadOne(item, digest, options), DEBIAN_RETRY, undefined, isBodyCut);
    options.onProgress?.({ done: ++done, total: items.length, item, cached });
    return { digest, path: options.store.path(digest), cached };
  });
}

async function downloadOne(item: DebDownload, digest: Digest, options: DownloadOptions): Promise<void> {
  const what = `${item.what} (${redactUrl(item.url)})`;
  const { body } = await fetchStream(item.url, { timeoutMs: options.timeoutMs });
  // The callback form returns the last stream and destroys both ends when either fails.
  const limited = pipeline(body, sizeLimit(item.size, what), () => undefined);
  await options.store.write(limited, { digest, size: item.size, what });
}

/** Fails as soon as more than `limit` bytes flow, so a runaway response does not fill the disk. */
function sizeLimit(limit: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, next) {
      seen += chunk.length;
      if (seen > limit)
        next(
          new AlbaError('SIZE_MISMATCH', `${what}: expected ${limit} bytes, got more`, {
            hint: 'the file changed upstream or the mirror is broken; retry, or re-lock with `alba lock --update`',
          }),
        );
      else next(null, chunk);
    },
  });
}
