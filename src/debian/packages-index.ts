import { createHash } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AlbaError, isAlbaError, redactUrl } from '../errors.js';
import { checkExpected } from '../oci/blob-store.js';
import { parseDigest } from '../oci/digest.js';
import { withRetry } from '../http/retry.js';
import { compressionOf, decompressor, type Compression } from './decompress.js';
import { DEBIAN_RETRY, fetchStream, isBodyCut } from './http.js';
import { CORRUPT, indexCachePath, IndexTableWriter, openCachedTable } from './index-cache.js';
import type { IndexTable } from './index-table.js';
import type { Release } from './release.js';

/** One Packages file chosen from a Release's SHA256 list. */
export interface IndexFile {
  /** Path relative to `dists/<suite>/`, e.g. `main/binary-amd64/Packages.xz`. */
  path: string;
  url: string;
  /** Plain-path URL to try when `url` (the by-hash one) is missing on the mirror. */
  fallbackUrl?: string;
  size: number;
  sha256: string;
  compression: Compression;
}

/** A loaded Packages index. */
export interface LoadedIndex {
  file: IndexFile;
  table: IndexTable;
  /** True when served from the parsed-index cache (nothing downloaded or decoded). */
  fromCache: boolean;
  /** Said of the cache on the way (a corrupt entry evicted). */
  notes: string[];
}

/** How to load an index. */
export interface LoadIndexOptions {
  /** Cache root (see cache-dir.ts); without it nothing is cached. */
  cacheDir?: string;
  timeoutMs?: number;
  /** Which compressed file to fetch (default xz). */
  prefer?: IndexCompression;
}

/** Which compressed index to fetch when the Release lists both: xz is the smaller (8.8 vs 12.1 MB for bookworm amd64), gz decodes 3 times faster. */
export type IndexCompression = 'xz' | 'gz';

/**
 * Picks `<component>/binary-<arch>/Packages` compressed as `prefer` says (else xz, gz, zst, plain)
 * from the Release, fetched by hash when the Release says `Acquire-By-Hash: yes`; INDEX_MISSING
 * when none is listed.
 */
export function pickPackagesIndex(release: Release, component: string, arch: string, prefer: IndexCompression = 'xz'): IndexFile {
  const base = `${component}/binary-${arch}/Packages`;
  for (const suffix of prefer === 'gz' ? (['.gz', '.xz', '.zst', ''] as const) : (['.xz', '.gz', '.zst', ''] as const)) {
    const entry = release.files.get(base + suffix);
    if (entry === undefined) continue;
    const path = base + suffix;
    const dir = `${release.fetchedFrom}/dists/${release.suite}/${component}/binary-${arch}`;
    // By hash when the archive offers it: a mirror caught mid-update still serves the file the signed Release names.
    const plain = `${release.fetchedFrom}/dists/${release.suite}/${path}`;
    const common = { path, size: entry.size, sha256: entry.sha256, compression: compressionOf(path) };
    return release.acquireByHash
      ? { ...common, url: `${dir}/by-hash/SHA256/${entry.sha256}`, fallbackUrl: plain }
      : { ...common, url: plain };
  }
  throw new AlbaError('INDEX_MISSING', `${redactUrl(release.url)} ${release.suite} lists no ${base}(.xz|.gz) in its Release file`, {
    hint:
      `check the component and architecture: the suite has components [${release.components.join(' ')}] ` +
      `and architectures [${release.architectures.join(' ')}]`,
  });
}

/**
 * Loads the Packages index of one component/arch of a verified Release: from the parsed-index
 * cache when present, else streamed (download → hash → decompress → parse). The download is
 * checked against the Release's size and SHA256 (SIZE_MISMATCH / DIGEST_MISMATCH, reported in
 * preference to a DECOMPRESS_FAILED it may cause); the cache is written only on success.
 */
export async function loadPackagesIndex(
  release: Release,
  component: string,
  arch: string,
  options: LoadIndexOptions = {},
): Promise<LoadedIndex> {
  const file = pickPackagesIndex(release, component, arch, options.prefer);
  const notes: string[] = [];
  if (options.cacheDir !== undefined) {
    const cached = openCachedTable(options.cacheDir, file.sha256, where(release, file));
    if (cached === CORRUPT)
      notes.push(
        `note: the parsed index ${indexCachePath(options.cacheDir, file.sha256)} of ${file.path} is corrupt (its checksum does not match): removed, fetched and parsed again`,
      );
    else if (cached !== undefined) return { file, table: cached, fromCache: true, notes };
  }
  const entry = options.cacheDir === undefined ? undefined : { cacheDir: options.cacheDir, sha256: file.sha256 };
  // A body cut midway is fetched again from the start (the partial parse is dropped).
  const table = await withRetry(() => downloadIndex(file, entry, options.timeoutMs), DEBIAN_RETRY, undefined, isBodyCut);
  return { file, table, fromCache: false, notes };
}

function where(release: Release, file: IndexFile): string {
  return redactUrl(`${release.fetchedFrom}/dists/${release.suite}/${file.path}`);
}

/**
 * zlib's output chunk for an index (see decompressor). 256 KiB: a 4-arch lock of a 159-package
 * image took 3.6-3.7 CPU-s and peaked at 111-119 MB with 1 MiB chunks, 3.1-3.5 CPU-s and 110-115 MB
 * with these (fewer bytes between collections; still few thread-pool round trips).
 */
const DECODED_CHUNK_BYTES = 1 << 18;

async function downloadIndex(
  file: IndexFile,
  entry: { cacheDir: string; sha256: string } | undefined,
  timeoutMs: number | undefined,
): Promise<IndexTable> {
  const { body, url } = await fetchWithFallback(file, timeoutMs);
  const what = redactUrl(url);
  const expected = { digest: parseDigest(`sha256:${file.sha256}`), size: file.size, what };
  const decoder = decompressor(file.compression, what, { chunkBytes: DECODED_CHUNK_BYTES, inputBytes: file.size });
  const writer = new IndexTableWriter(what, entry);
  let decodeError: unknown;
  const parsed = (async () => {
    for await (const chunk of decoder) writer.push(chunk as Buffer);
  })().catch((err: unknown) => {
    decodeError = err;
    decoder.destroy();
  });
  const hash = createHash('sha256');
  let size = 0;
  // Hashes every byte and feeds the decoder; if decoding fails, keeps hashing so a corrupt
  // download is reported as such rather than as the decoding failure it caused.
  const tee = new Writable({
    write(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      if (size > file.size) {
        done(
          new AlbaError('SIZE_MISMATCH', `${what}: expected ${file.size} bytes, got more`, {
            hint: 'the file changed upstream or the mirror is broken; retry later',
          }),
        );
      } else if (decoder.destroyed || decodeError !== undefined || decoder.write(chunk)) {
        done();
      } else {
        const go = (): void => {
          decoder.off('drain', go).off('close', go);
          done();
        };
        decoder.on('drain', go).on('close', go);
      }
    },
    final(done) {
      if (!decoder.destroyed) decoder.end();
      done();
    },
  });
  try {
    await pipeline(body, tee);
    await parsed;
    checkExpected(expected, parseDigest(`sha256:${hash.digest('hex')}`), size);
    if (decodeError !== undefined) throw decodeError;
    return writer.finish();
  } catch (err) {
    decoder.destroy();
    await parsed;
    writer.abort();
    throw err;
  }
}

/** Opens the by-hash URL, or the plain path when the mirror lacks the by-hash file (as apt does). */
async function fetchWithFallback(file: IndexFile, timeoutMs: number | undefined): Promise<{ body: Readable; url: string }> {
  try {
    return { body: (await fetchStream(file.url, { timeoutMs })).body, url: file.url };
  } catch (err) {
    if (file.fallbackUrl === undefined || !isAlbaError(err, 'HTTP_STATUS')) throw err;
    return { body: (await fetchStream(file.fallbackUrl, { timeoutMs })).body, url: file.fallbackUrl };
  }
}
