import { join } from 'node:path';
import { isCaCertificatePath } from '../layer/ca-bundle.js';
import { buildDebsLayer, type DebContent, type DebsLayer } from '../layer/deb-layer.js';
import type { LayerBlob } from '../layer/layer-writer.js';
import type { BlobStore } from '../oci/blob-store.js';
import { digestHex, digestOf, parseDigest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import { writeFileAtomic } from '../util/atomic.js';
import { cacheArea } from '../cache.js';
import { CACHED_FILE_BYTES, readSmallFile } from '../util/regular-file.js';
import { AlbaError } from '../errors.js';

/** What a bundle-only ca-certificates layer keeps of the package (the bundle itself is in the base layer). */
const CA_COPYRIGHT = 'usr/share/doc/ca-certificates/copyright';

/** Bump when the bytes buildDebsLayer writes, or what it returns (DebContent), change, so cached layers are rebuilt. */
const LAYER_FORMAT = 2;

/** One package of a package layer. */
export interface PackageLayerDeb {
  debPath: string;
  debSha256: string;
  /** The .deb's size (the lock's), when known: a cached file of another size is corrupt unread. */
  debSize?: number;
  packageName: string;
  what: string;
}

/** What a package layer build needs: its packages, in layer order. */
export interface PackagesLayerRequest {
  debs: readonly PackageLayerDeb[];
  sourceDateEpoch: number;
  /**
   * SHA256 (hex) of blobs of the store this process wrote or hashed moments ago — .debs downloaded,
   * layers the build prefetch built — not hashed again (the others are checked before use).
   */
  fresh: ReadonlySet<string>;
  /** What of ca-certificates goes into its layer (recipe `ca-certificates`). */
  caCertificates: 'bundle' | 'package';
  /** Evicts a corrupt cached .deb and fetches it again. */
  refetch(debSha256: string): Promise<void>;
  log(line: string): void;
}

/** A package's cached DebContent: captured files in base64. */
interface CachedContent extends Omit<DebContent, 'captured'> {
  captured: Record<string, string>;
}

/** The record of a one-package layer (the format of one-layer-per-package builds, kept so their caches stay valid). */
type SingleRecord = LayerBlob & CachedContent;

/** The record of a layer of several packages. */
interface GroupRecord extends LayerBlob {
  packages: CachedContent[];
}

/**
 * The layer of one or more .debs, from the cache when the same .debs in the same order were turned
 * into a layer with the same format and SOURCE_DATE_EPOCH before (and the layer blob is still
 * stored), else built and recorded. The record of a one-package layer is keyed by the .deb's
 * sha256, that of a group by the sha256 of its .debs' sha256s, one per line, in layer order.
 * A cached layer or .deb is trusted by its name only after its bytes are hashed again: a corrupt
 * one is evicted, with a note, and rebuilt or fetched again. ca-certificates' certificate files
 * are captured for the CA bundle.
 */
export async function packagesLayer(store: BlobStore, cacheDir: string, req: PackagesLayerRequest): Promise<DebsLayer> {
  const bundleOnly = req.caCertificates === 'bundle' && req.debs.some((d) => d.packageName === 'ca-certificates');
  const recordPath = layerRecordPath(cacheDir, layerRecordName(req));
  const cached = await readLayerRecord(recordPath, req.debs.length);
  if (cached !== undefined && cached.packages.length === req.debs.length && (await store.has(cached.digest))) {
    if (req.fresh.has(digestHex(cached.digest)) || (await store.verify(cached.digest, cached.size))) return cached;
    req.log(
      `note: the cached layer ${store.path(cached.digest)} is corrupt (its bytes no longer hash to its name): removed and built again`,
    );
    await store.evict(cached.digest);
  }
  for (const deb of req.debs) {
    const digest = parseDigest(`sha256:${deb.debSha256}`);
    if (req.fresh.has(deb.debSha256) || (await store.verify(digest, deb.debSize))) continue;
    // not downloaded at all: the build skipped it, expecting this layer from the remote cache (remote-cache.ts)
    if (!(await store.has(digest))) {
      await req.refetch(deb.debSha256);
      continue;
    }
    req.log(`note: the cached ${deb.what} ${store.path(digest)} is corrupt (its bytes no longer hash to its name): fetched again`);
    await store.evict(digest);
    await req.refetch(deb.debSha256);
  }
  const layer = await buildDebsLayer({
    debs: req.debs.map((d) => ({
      debPath: d.debPath,
      packageName: d.packageName,
      what: d.what,
      ...(d.packageName === 'ca-certificates' ? { capture: isCaCertificatePath } : {}),
      ...(d.packageName === 'ca-certificates' && bundleOnly ? { only: [CA_COPYRIGHT] } : {}),
    })),
    store,
    sourceDateEpoch: req.sourceDateEpoch,
  });
  await writeFileAtomic(recordPath, layerRecordJson(layer));
  return layer;
}

/**
 * The name of a layer's record in the cache: keyed by what decides its bytes — the .debs (one
 * package: its sha256; a group: the sha256 of their sha256s, one per line, in layer order), the
 * layer format, SOURCE_DATE_EPOCH and whether ca-certificates is reduced to the bundle.
 */
export function layerRecordName(req: Pick<PackagesLayerRequest, 'debs' | 'sourceDateEpoch' | 'caCertificates'>): string {
  const single = req.debs.length === 1;
  const key = single ? req.debs[0]!.debSha256 : `group-${digestHex(digestOf(req.debs.map((d) => d.debSha256).join('\n')))}`;
  const bundleOnly = req.caCertificates === 'bundle' && req.debs.some((d) => d.packageName === 'ca-certificates');
  return `${key}-f${LAYER_FORMAT}-e${req.sourceDateEpoch}${bundleOnly ? '-cabundle' : ''}.json`;
}

/** The serialized record of a built layer (the local cache's format, also the remote cache's payload). */
export function layerRecordJson(layer: DebsLayer): string {
  return JSON.stringify(layer.packages.length === 1 ? toSingleRecord(layer) : toGroupRecord(layer));
}

/** A record's text parsed as a layer of `count` packages, or undefined when it is not one. */
export function parseLayerRecord(text: string, count: number): DebsLayer | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return layerRecord(parsed, count);
}

/** A parsed record (JSON of unknown shape) as a layer of `count` packages, or undefined when it is not one. */
export function layerRecord(parsed: unknown, count: number): DebsLayer | undefined {
  try {
    const record = parsed as SingleRecord | GroupRecord;
    if (typeof record !== 'object' || record === null) return undefined;
    const contents = count === 1 ? [record as SingleRecord] : (record as GroupRecord).packages;
    if (
      !Array.isArray(contents) ||
      contents.length !== count ||
      !Number.isSafeInteger(record.size) ||
      record.size < 0 ||
      record.mediaType !== MediaType.layerGzip
    )
      return undefined;
    for (const c of contents as unknown[]) if (!isCachedContent(c)) return undefined;
    return {
      digest: parseDigest(record.digest),
      diffId: parseDigest(record.diffId),
      size: record.size,
      mediaType: record.mediaType,
      packages: contents.map(fromCached),
    };
  } catch {
    return undefined;
  }
}

/** True when `c` has the shape of a package's cached content, every field of its type (a record from a remote cache is anyone's JSON). */
function isCachedContent(c: unknown): c is CachedContent {
  if (!isObject(c) || typeof c.control !== 'string' || !Number.isSafeInteger(c.fileCount)) return false;
  if (c.copyright !== undefined && typeof c.copyright !== 'string') return false;
  if (!isObject(c.captured) || !Object.values(c.captured).every((v) => typeof v === 'string')) return false;
  return c.maintainer === undefined || isMaintainerFacts(c.maintainer);
}

function isMaintainerFacts(m: unknown): boolean {
  const strings = (o: unknown, keys: readonly string[]): boolean => isObject(o) && keys.every((k) => typeof o[k] === 'string');
  return (
    isObject(m) &&
    Array.isArray(m.actions) &&
    m.actions.every((a) => strings(a, ['action', 'outcome', 'note'])) &&
    Array.isArray(m.alternatives) &&
    m.alternatives.every(
      (a) =>
        strings(a, ['name', 'link', 'path', 'from']) &&
        Number.isFinite((a as { priority?: unknown }).priority) &&
        Array.isArray((a as { slaves?: unknown }).slaves) &&
        (a as { slaves: unknown[] }).slaves.every((s) => strings(s, ['link', 'name', 'path'])),
    ) &&
    Array.isArray(m.jinfo) &&
    m.jinfo.every((j) => strings(j, ['path', 'text'])) &&
    Array.isArray(m.jvmFiles) &&
    m.jvmFiles.every((f) => typeof f === 'string')
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The local cache's record of a layer (at `cacheArea(cacheDir, 'layers')/<layerRecordName>`). */
export function layerRecordPath(cacheDir: string, name: string): string {
  // the name comes from a lock's sha256 (readLock checks it); never a path out of the cache
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes('..'))
    throw new AlbaError('LOCK_INVALID', `a layer record would be named ${JSON.stringify(name)}: not a file name of the cache`, {
      hint: "a package's sha256 must be 64 hex digits; lock the recipe again",
    });
  return join(cacheArea(cacheDir, 'layers'), name);
}

/** The recorded layer of `count` packages, or undefined when there is no record or it is not one (the layer is then rebuilt). */
export async function readLayerRecord(path: string, count: number): Promise<DebsLayer | undefined> {
  // a FIFO or a device planted in the cache is no record (the layer is rebuilt), never waited on
  const bytes = await readSmallFile(path, CACHED_FILE_BYTES, (why) => new Error(why)).catch(() => undefined);
  return bytes === undefined ? undefined : parseLayerRecord(bytes.toString('utf8'), count);
}

function toSingleRecord(layer: DebsLayer): SingleRecord {
  return { ...blobOf(layer), ...toCached(layer.packages[0]!) };
}

function toGroupRecord(layer: DebsLayer): GroupRecord {
  return { ...blobOf(layer), packages: layer.packages.map(toCached) };
}

function blobOf(layer: LayerBlob): LayerBlob {
  return { digest: layer.digest, diffId: layer.diffId, size: layer.size, mediaType: layer.mediaType };
}

function toCached(content: DebContent): CachedContent {
  const captured: Record<string, string> = {};
  for (const [path, data] of content.captured) captured[path] = data.toString('base64');
  return {
    control: content.control,
    ...(content.copyright === undefined ? {} : { copyright: content.copyright }),
    fileCount: content.fileCount,
    captured,
    ...(content.maintainer === undefined ? {} : { maintainer: content.maintainer }),
  };
}

function fromCached(cached: CachedContent): DebContent {
  const captured = new Map(Object.entries(cached.captured).map(([p, b64]) => [p, Buffer.from(b64, 'base64')] as const));
  return {
    control: cached.control,
    ...(cached.copyright === undefined ? {} : { copyright: cached.copyright }),
    fileCount: cached.fileCount,
    captured,
    ...(cached.maintainer === undefined ? {} : { maintainer: cached.maintainer }),
  };
}
