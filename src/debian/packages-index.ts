import { createHash } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AlbaError, isAlbaError, redactUrl } from '../errors.js';
import { checkExpected } from '../oci/blob-store.js';
import { parseDigest } from '../oci/digest.js';
import { withRetry } from '../http/retry.js';
import { Deb822Parser, type Stanza } from './deb822.js';
import { compressionOf, decompressor, type Compression } from './decompress.js';
import { DEBIAN_RETRY, fetchStream, isBodyCut } from './http.js';
import { CORRUPT, indexCachePath, readIndexCache, writeIndexCache } from './index-cache.js';
import type { Release } from './release.js';
import type { IndexPackage } from './types.js';
import { versionProblem } from './version.js';

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
  packages: IndexPackage[];
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
}

const SUFFIXES = ['.xz', '.gz', '.zst', ''] as const;

/**
 * Picks `<component>/binary-<arch>/Packages.xz` (else .gz, .zst, plain) from the Release, fetched by hash
 * when the Release says `Acquire-By-Hash: yes`; INDEX_MISSING when none is listed.
 */
export function pickPackagesIndex(release: Release, component: string, arch: string): IndexFile {
  const base = `${component}/binary-${arch}/Packages`;
  for (const suffix of SUFFIXES) {
    const entry = release.files.get(base + suffix);
    if (entry === undefined) continue;
    const path = base + suffix;
    const dir = `${release.fetchedFrom}/dists/${release.suite}/${component}/binary-${arch}`;
    // By hash when the archive offers it: a mirror caught mid-update still serves the file the signed Release names.
    const plain = `${release.fetchedFrom}/dists/${release.suite}/${path}`;
    const common = { path, size: entry.size, sha256: entry.sha256, compression: compressionOf(path) };
    return release.acquireByHash ? { ...common, url: `${dir}/by-hash/SHA256/${entry.sha256}`, fallbackUrl: plain } : { ...common, url: plain };
  }
  throw new AlbaError('INDEX_MISSING', `${release.url} ${release.suite} lists no ${base}(.xz|.gz) in its Release file`, {
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
export async function loadPackagesIndex(release: Release, component: string, arch: string, options: LoadIndexOptions = {}): Promise<LoadedIndex> {
  const file = pickPackagesIndex(release, component, arch);
  const notes: string[] = [];
  if (options.cacheDir !== undefined) {
    const cached = await readIndexCache(options.cacheDir, file.sha256);
    if (cached === CORRUPT) notes.push(`note: the parsed index ${indexCachePath(options.cacheDir, file.sha256)} of ${file.path} is corrupt (its checksum does not match): removed, fetched and parsed again`);
    else if (cached !== undefined) return { file, packages: cached, fromCache: true, notes };
  }
  // A body cut midway is fetched again from the start (the partial parse is dropped).
  const packages = await withRetry(() => downloadIndex(file, options.timeoutMs), DEBIAN_RETRY, undefined, isBodyCut);
  if (options.cacheDir !== undefined) await writeIndexCache(options.cacheDir, file.sha256, packages);
  return { file, packages, fromCache: false, notes };
}

async function downloadIndex(file: IndexFile, timeoutMs: number | undefined): Promise<IndexPackage[]> {
  const { body, url } = await fetchWithFallback(file, timeoutMs);
  const what = redactUrl(url);
  const expected = { digest: parseDigest(`sha256:${file.sha256}`), size: file.size, what };
  const decoder = decompressor(file.compression, what);
  const packages: IndexPackage[] = [];
  const parser = new Deb822Parser((stanza) => packages.push(toIndexPackage(stanza, what)), INDEX_FIELDS, what);
  let decodeError: unknown;
  const parsed = (async () => {
    const text = new TextDecoder('utf-8');
    for await (const chunk of decoder) parser.push(text.decode(chunk as Buffer, { stream: true }));
    parser.push(text.decode());
    parser.end();
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
        done(new AlbaError('SIZE_MISMATCH', `${what}: expected ${file.size} bytes, got more`, { hint: 'the file changed upstream or the mirror is broken; retry later' }));
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
  } catch (err) {
    decoder.destroy();
    await parsed;
    throw err;
  }
  await parsed;
  checkExpected(expected, parseDigest(`sha256:${hash.digest('hex')}`), size);
  if (decodeError !== undefined) throw decodeError;
  return packages;
}

/** The Packages fields toIndexPackage reads; the parser skips the others. */
const INDEX_FIELDS = ['Package', 'Version', 'Architecture', 'Source', 'Depends', 'Pre-Depends', 'Provides', 'Multi-Arch', 'Maintainer', 'Filename', 'Size', 'SHA256'];

/** Opens the by-hash URL, or the plain path when the mirror lacks the by-hash file (as apt does). */
async function fetchWithFallback(file: IndexFile, timeoutMs: number | undefined): Promise<{ body: Readable; url: string }> {
  try {
    return { body: (await fetchStream(file.url, { timeoutMs })).body, url: file.url };
  } catch (err) {
    if (file.fallbackUrl === undefined || !isAlbaError(err, 'HTTP_STATUS')) throw err;
    return { body: (await fetchStream(file.fallbackUrl, { timeoutMs })).body, url: file.fallbackUrl };
  }
}

/** Keeps the fields alba needs from one Packages stanza (strings are copies, not slices of the index text). */
export function toIndexPackage(stanza: Stanza, where: string): IndexPackage {
  const f: Record<string, string> = {};
  for (const [key, value] of stanza) f[key.toLowerCase()] = value;
  const name = f['package'];
  const version = f['version'];
  const missing = ['package', 'version', 'architecture', 'filename', 'size', 'sha256'].filter((k) => f[k] === undefined);
  if (name === undefined || version === undefined || missing.length > 0 || !/^\d+$/.test(f['size'] ?? '')) {
    throw new AlbaError('INDEX_INVALID', `${where}: stanza of ${name ?? '(no Package field)'} ${missing.length > 0 ? `lacks ${missing.join(', ')}` : `has a bad Size ${f['size']}`}`, {
      hint: 'the repository index is broken; report it to the repository maintainers',
    });
  }
  const bad = (fieldName: string, problem: string): AlbaError =>
    new AlbaError('INDEX_INVALID', `${where}: stanza of ${name} ${version}: ${fieldName} ${problem}`, { hint: 'the repository index is broken or hostile; report it to the repository maintainers' });
  const versionIssue = versionProblem(version);
  if (versionIssue !== undefined) throw bad('Version', `${JSON.stringify(version)} is not a Debian version: ${versionIssue}`);
  if (!/^[0-9a-fA-F]{64}$/.test(f['sha256'] as string)) throw bad('SHA256', `${JSON.stringify((f['sha256'] as string).slice(0, 80))} is not 64 hex digits`);
  const [source, sourceVersion] = splitSource(f['source'], name, version);
  const sourceIssue = versionProblem(sourceVersion);
  if (sourceIssue !== undefined) throw bad('Source', `version ${JSON.stringify(sourceVersion)} is not a Debian version: ${sourceIssue}`);
  const p: IndexPackage = {
    name,
    version,
    architecture: f['architecture'] as string,
    source,
    sourceVersion,
    filename: f['filename'] as string,
    size: Number(f['size']),
    sha256: (f['sha256'] as string).toLowerCase(),
  };
  if (f['depends'] !== undefined) p.depends = f['depends'];
  if (f['pre-depends'] !== undefined) p.preDepends = f['pre-depends'];
  if (f['provides'] !== undefined) p.provides = f['provides'];
  if (f['multi-arch'] !== undefined) p.multiArch = f['multi-arch'];
  if (f['maintainer'] !== undefined) p.maintainer = f['maintainer'];
  return p;
}

/** `Source: name (version)` → [name, version]; absent → the binary's own name and version. */
function splitSource(value: string | undefined, name: string, version: string): [string, string] {
  if (value === undefined) return [name, version];
  const m = /^(\S+)\s*\((.+)\)$/.exec(value);
  return m === null ? [value, version] : [m[1] as string, (m[2] as string).trim()];
}
