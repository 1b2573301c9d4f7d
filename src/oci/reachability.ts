/**
 * What a set of root manifests reaches in a store: their platform manifests, configs and layers,
 * and the referrers of every reached manifest (with the referrers tag indexes that list them),
 * recursively. The store is read through a GraphReader, so the same walk serves a bucket and a
 * registry; removals delete only what the kept roots do not reach.
 */
import { digestOf, isDigest, type Digest } from './digest.js';
import type { Descriptor } from './types.js';
import { mapLimit } from '../util/map-limit.js';

/** The referrers of one subject as a store holds them. */
export interface StoredReferrers {
  entries: Descriptor[];
  /** The referrers tag's index (`sha256-<hex>`) when the referrers come from one. */
  tagIndex?: { digest: Digest; size: number };
}

/** How the walk reads a store. */
export interface GraphReader {
  /** The bytes of manifest `digest`, undefined when the store does not hold it. */
  manifest(digest: Digest): Promise<Buffer | undefined>;
  referrers(subject: Digest): Promise<StoredReferrers>;
}

/** Everything some roots reach, each digest with its size. */
export interface Reach {
  manifests: Map<Digest, number>;
  blobs: Map<Digest, number>;
  /** Subjects whose referrers tag exists, with that tag's index. */
  referrersTags: Map<Digest, { digest: Digest; size: number }>;
  /** Manifests reached in the order the walk met them, parents before children. */
  order: Digest[];
}

interface ManifestJson {
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

/** Walks from `roots` (manifest or index digests), level by level so the order is the same on every run; a manifest the store lacks is skipped. */
export async function reach(roots: readonly Digest[], reader: GraphReader): Promise<Reach> {
  const out: Reach = { manifests: new Map(), blobs: new Map(), referrersTags: new Map(), order: [] };
  const seen = new Set<Digest>();
  let level = [...new Set(roots)].sort();
  while (level.length > 0) {
    for (const d of level) seen.add(d);
    const read = await mapLimit(level, 8, async (digest) => ({ digest, bytes: await reader.manifest(digest), referrers: await reader.referrers(digest) }));
    const next = new Set<Digest>();
    for (const { digest, bytes, referrers } of read) {
      if (bytes === undefined || digestOf(bytes) !== digest) continue;
      out.manifests.set(digest, bytes.length);
      out.order.push(digest);
      const json = parseManifest(bytes);
      for (const d of [json.config, ...(json.layers ?? [])]) if (d !== undefined && isDigest(d.digest)) out.blobs.set(d.digest, d.size);
      if (referrers.tagIndex !== undefined) out.referrersTags.set(digest, referrers.tagIndex);
      for (const d of [...(json.manifests ?? []), ...referrers.entries]) if (isDigest(d.digest) && !seen.has(d.digest)) next.add(d.digest);
    }
    level = [...next].sort();
  }
  return out;
}

/** What `removed` reaches that `kept` does not: the manifests (parents first) and blobs a removal may delete. */
export function unreachedBy(kept: Reach, removed: Reach): { manifests: { digest: Digest; size: number }[]; blobs: { digest: Digest; size: number }[]; referrersTags: Digest[] } {
  const manifests = removed.order.filter((d) => !kept.manifests.has(d)).map((digest) => ({ digest, size: removed.manifests.get(digest) ?? 0 }));
  const keptIndexes = new Set([...kept.referrersTags.values()].map((t) => t.digest));
  const tagIndexes = [...removed.referrersTags.entries()].filter(([s, t]) => !kept.manifests.has(s) && !keptIndexes.has(t.digest)).map(([, t]) => t);
  const blobs = [...removed.blobs].filter(([d]) => !kept.blobs.has(d)).map(([digest, size]) => ({ digest, size }));
  return {
    manifests: [...manifests, ...tagIndexes],
    blobs,
    referrersTags: [...removed.referrersTags.keys()].filter((s) => !kept.manifests.has(s)).sort(),
  };
}

function parseManifest(bytes: Buffer): ManifestJson {
  try {
    const json = JSON.parse(bytes.toString('utf8')) as unknown;
    return typeof json === 'object' && json !== null ? (json as ManifestJson) : {};
  } catch {
    return {};
  }
}
