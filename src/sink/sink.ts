import type { Blob } from '../oci/graph.js';
import type { Descriptor } from '../oci/types.js';

/** What storing one node did: uploaded, already there, or mounted from another repository. */
export type StoreOutcome = 'sent' | 'skipped' | 'mounted';

/**
 * A destination of the publish walk (an OCI layout, a registry, an S3 bucket). The walk calls it
 * children first and tags last; each sink decides how (links, mounts, multipart) and skips what it holds.
 */
export interface Sink {
  /** The destination as the user wrote it, without credentials (for messages). */
  readonly name: string;
  /**
   * True when the sink holds this manifest or index and, by its own guarantees, everything it
   * references (a registry accepts a manifest only once its blobs and children are there; alba's
   * S3 sink writes children first): the walk then skips that part of the graph.
   */
  holdsComplete(descriptor: Descriptor): Promise<boolean>;
  /** Stores a config, layer or artifact blob. */
  putBlob(blob: Blob): Promise<StoreOutcome>;
  /** Stores a manifest or index by its digest; everything it references is already stored. */
  putManifest(blob: Blob): Promise<StoreOutcome>;
  /** Makes the referrer manifests (already stored) findable from their subject, e.g. through the `sha256-<hex>` tag. */
  linkReferrers(subject: Descriptor, referrers: readonly Descriptor[]): Promise<void>;
  /** Points `tag` at the root (already stored); 'skipped' when it already did. */
  tag(tag: string, root: Blob): Promise<StoreOutcome>;
  /** Called once after the last tag (`ok`) or after a failure: a sink that stages its output commits or discards it here. */
  finish(ok: boolean): Promise<void>;
}

/** What a store knows of one tag (`ls`). */
export interface TagFacts {
  tag: string;
  /** When the tag got its content, when the store knows it. */
  pushed?: Date;
  /** The digest the tag points at (images). */
  digest?: string;
  /** `os/arch[/variant]` of each flavor (static binaries). */
  flavors?: string[];
  /** Bytes of everything the tag reaches. */
  size?: number;
}

/** What a removal (`rm`, `gc`) deletes, in order. */
export interface RemovalPlan {
  tags: string[];
  /** What goes, with its size: S3 keys (tag objects, unreachable content), or a registry's manifest digests. */
  objects: { key: string; size: number }[];
  bytes: number;
}
