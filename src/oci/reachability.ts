/**
 * What a set of root manifests reaches in a store: their platform manifests, configs and layers,
 * and the referrers of every reached manifest (with the referrers tag indexes that list them),
 * recursively. Reading (`readGraph`, through a GraphReader, so the same walk serves a bucket and
 * a registry) is apart from deciding (`reachIn`, pure, over what was read): removals read the
 * store's graph once, then plan from it. Anything the store holds that does not parse as what it
 * should be is an error the reader names (its key or URL): unreadable state never shrinks what
 * is reached, so it never makes anything deletable.
 */
import { AlbaError } from '../errors.js';
import { digestOf, isDigest, type Digest } from './digest.js';
import { parseManifestJson } from './manifest-json.js';
import type { Descriptor } from './types.js';
import { mapLimit } from '../util/map-limit.js';

/** The most manifests readGraph reads (a repository of thousands of tags, each with platforms and referrers, holds far fewer). */
export const MAX_GRAPH_MANIFESTS = 100_000;

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
  /**
   * The referrers of `subject`; throws when the store holds them in a form it cannot read. With
   * `artifactType`, a store that can filter (the referrers API) may list only those.
   */
  referrers(subject: Digest, artifactType?: string): Promise<StoredReferrers>;
  /** The error for manifest `digest`, held but not a manifest (`why`), naming where it is. */
  invalid(digest: Digest, why: string): Error;
}

/** One manifest of a store as read: its size, the manifests and blobs it names, its referrers. */
export interface StoredNode {
  size: number;
  /** Child manifests (an index's) and referrer manifests. */
  children: Digest[];
  blobs: Map<Digest, number>;
  referrersTag?: { digest: Digest; size: number };
}

/** The part of a store's graph some roots reach, as read: manifest digest -> node (absent: the store lacks it). */
export type StoredGraph = Map<Digest, StoredNode>;

/** Everything some roots reach, each digest with its size. */
export interface Reach {
  manifests: Map<Digest, number>;
  blobs: Map<Digest, number>;
  /** Subjects whose referrers tag exists, with that tag's index. */
  referrersTags: Map<Digest, { digest: Digest; size: number }>;
  /** Manifests reached in the order the walk met them, parents before children. */
  order: Digest[];
}

/** Reads what `roots` reach, level by level (the same order on every run); a manifest the store lacks is left out. */
export async function readGraph(roots: readonly Digest[], reader: GraphReader): Promise<StoredGraph> {
  const graph: StoredGraph = new Map();
  const seen = new Set<Digest>();
  let level = [...new Set(roots)].sort();
  const tooLarge = (): AlbaError =>
    new AlbaError('TOO_LARGE', `the manifests reached from ${roots.length} tag(s) are more than ${MAX_GRAPH_MANIFESTS}`, {
      hint: 'a store that lists referrers without end is broken or hostile; nothing was deleted',
    });
  while (level.length > 0) {
    for (const d of level) seen.add(d);
    // counted as each subject's referrers come: a level is not held whole in memory before the bound is checked
    let listed = seen.size;
    const read = await mapLimit(level, 8, async (digest) => {
      const one = { digest, bytes: await reader.manifest(digest), referrers: await reader.referrers(digest) };
      listed += one.referrers.entries.length;
      if (listed > MAX_GRAPH_MANIFESTS) throw tooLarge();
      return one;
    });
    const next = new Set<Digest>();
    for (const { digest, bytes, referrers } of read) {
      if (bytes === undefined) continue;
      if (digestOf(bytes) !== digest) throw reader.invalid(digest, `its content hashes to ${digestOf(bytes)}`);
      const json = parseManifestJson(bytes, (why) => reader.invalid(digest, why));
      const node: StoredNode = { size: bytes.length, children: [], blobs: new Map() };
      for (const d of [json.config, ...(json.layers ?? [])]) if (d !== undefined && isDigest(d.digest)) node.blobs.set(d.digest, d.size);
      if (referrers.tagIndex !== undefined) node.referrersTag = referrers.tagIndex;
      for (const d of [...(json.manifests ?? []), ...referrers.entries]) {
        if (!isDigest(d.digest)) continue;
        node.children.push(d.digest);
        if (!seen.has(d.digest)) next.add(d.digest);
      }
      graph.set(digest, node);
    }
    level = [...next].sort();
    if (seen.size + level.length > MAX_GRAPH_MANIFESTS) throw tooLarge();
  }
  return graph;
}

/** What `roots` reach within `graph` (pure): parents before children, level by level. */
export function reachIn(graph: StoredGraph, roots: readonly Digest[]): Reach {
  const out: Reach = { manifests: new Map(), blobs: new Map(), referrersTags: new Map(), order: [] };
  const seen = new Set<Digest>();
  let level = [...new Set(roots)].sort();
  while (level.length > 0) {
    for (const d of level) seen.add(d);
    const next = new Set<Digest>();
    for (const digest of level) {
      const node = graph.get(digest);
      if (node === undefined) continue;
      out.manifests.set(digest, node.size);
      out.order.push(digest);
      for (const [d, size] of node.blobs) out.blobs.set(d, size);
      if (node.referrersTag !== undefined) out.referrersTags.set(digest, node.referrersTag);
      for (const d of node.children) if (!seen.has(d)) next.add(d);
    }
    level = [...next].sort();
  }
  return out;
}

/** Reads and walks in one go. */
export async function reach(roots: readonly Digest[], reader: GraphReader): Promise<Reach> {
  return reachIn(await readGraph(roots, reader), roots);
}

/** What `removed` reaches that `kept` does not: the manifests (parents first) and blobs a removal may delete. */
export function unreachedBy(
  kept: Reach,
  removed: Reach,
): { manifests: { digest: Digest; size: number }[]; blobs: { digest: Digest; size: number }[]; referrersTags: Digest[] } {
  const manifests = removed.order
    .filter((d) => !kept.manifests.has(d))
    .map((digest) => ({ digest, size: removed.manifests.get(digest) ?? 0 }));
  const keptIndexes = new Set([...kept.referrersTags.values()].map((t) => t.digest));
  const tagIndexes = [...removed.referrersTags.entries()]
    .filter(([s, t]) => !kept.manifests.has(s) && !keptIndexes.has(t.digest))
    .map(([, t]) => t);
  const blobs = [...removed.blobs].filter(([d]) => !kept.blobs.has(d)).map(([digest, size]) => ({ digest, size }));
  return {
    manifests: [...manifests, ...tagIndexes],
    blobs,
    referrersTags: [...removed.referrersTags.keys()].filter((s) => !kept.manifests.has(s)).sort(),
  };
}
