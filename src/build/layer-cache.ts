import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isCaCertificatePath } from '../layer/ca-bundle.js';
import { buildDebLayer, type DebLayer } from '../layer/deb-layer.js';
import type { BlobStore } from '../oci/blob-store.js';
import { parseDigest } from '../oci/digest.js';
import { writeFileAtomic } from '../util/atomic.js';

/** Bump when the bytes buildDebLayer writes change, so cached layers are rebuilt. */
const LAYER_FORMAT = 1;

/** What a package layer build needs. */
export interface PackageLayerRequest {
  debPath: string;
  debSha256: string;
  packageName: string;
  what: string;
  sourceDateEpoch: number;
}

interface CachedLayer extends Omit<DebLayer, 'captured'> {
  captured: Record<string, string>;
}

/**
 * The layer of one .deb, from the cache when the same .deb was turned into a layer with the same
 * format and SOURCE_DATE_EPOCH before (and the layer blob is still stored), else built and recorded.
 * ca-certificates' certificate files are captured for the CA bundle.
 */
export async function packageLayer(store: BlobStore, cacheDir: string, req: PackageLayerRequest): Promise<DebLayer> {
  const recordPath = join(cacheDir, 'layers', `${req.debSha256}-f${LAYER_FORMAT}-e${req.sourceDateEpoch}.json`);
  const cached = await readRecord(recordPath);
  if (cached !== undefined && (await store.has(parseDigest(cached.digest)))) return fromRecord(cached);
  const layer = await buildDebLayer({
    debPath: req.debPath,
    packageName: req.packageName,
    store,
    sourceDateEpoch: req.sourceDateEpoch,
    what: req.what,
    ...(req.packageName === 'ca-certificates' ? { capture: isCaCertificatePath } : {}),
  });
  await writeFileAtomic(recordPath, JSON.stringify(toRecord(layer)));
  return layer;
}

async function readRecord(path: string): Promise<CachedLayer | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as CachedLayer;
  } catch {
    return undefined;
  }
}

function toRecord(layer: DebLayer): CachedLayer {
  const captured: Record<string, string> = {};
  for (const [path, data] of layer.captured) captured[path] = data.toString('base64');
  return { ...layer, captured };
}

function fromRecord(record: CachedLayer): DebLayer {
  const captured = new Map(Object.entries(record.captured).map(([p, b64]) => [p, Buffer.from(b64, 'base64')] as const));
  return {
    ...record,
    digest: parseDigest(record.digest),
    diffId: parseDigest(record.diffId),
    captured,
  };
}
