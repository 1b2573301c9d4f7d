import { digestHex, type Digest } from './digest.js';
import { imageIndexBlob } from './image-index.js';
import type { JsonBlob } from './json.js';
import type { Descriptor } from './types.js';

/** The tag of the OCI referrers tag schema fallback for `subject`: `sha256-<hex>`. */
export function referrersTag(subject: Digest): string {
  return `sha256-${digestHex(subject)}`;
}

/**
 * The image index pushed under referrersTag() when a registry has no referrers API: the given
 * referrer descriptors (with artifactType and annotations), one per digest, sorted by digest.
 */
export function referrersIndex(referrers: Descriptor[]): JsonBlob {
  const byDigest = new Map<string, Descriptor>();
  for (const d of referrers) byDigest.set(d.digest, d);
  const manifests = [...byDigest.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return imageIndexBlob({ manifests });
}

/** The referrers index listing `existing` and `added`, or undefined when `existing` already lists every one of `added`. */
export function mergedReferrersIndex(existing: readonly Descriptor[], added: readonly Descriptor[]): JsonBlob | undefined {
  const known = new Set(existing.map((d) => d.digest));
  return added.every((r) => known.has(r.digest)) ? undefined : referrersIndex([...existing, ...added]);
}
