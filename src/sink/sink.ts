import type { Blob } from '../oci/graph.js';
import type { Descriptor } from '../oci/types.js';
import type { HeldLease, LeaseRecord } from '../lifecycle/lease.js';
import type { RemovalPlan, RemovalRequest } from '../lifecycle/removal-plan.js';

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
  /**
   * Told, once the walk knows the root is not held, of every blob and manifest it may store: a sink
   * may start asking what it holds of them all at once (one wave of HEADs instead of one per store),
   * and answer putBlob/putManifest from those answers (publish.ts).
   */
  prefetch?(nodes: { blobs: readonly Descriptor[]; manifests: readonly Descriptor[] }): void;
  /** Stores a config, layer or artifact blob. */
  putBlob(blob: Blob): Promise<StoreOutcome>;
  /** Stores a manifest or index by its digest; everything it references is already stored. */
  putManifest(blob: Blob): Promise<StoreOutcome>;
  /** Makes the referrer manifests (already stored) findable from their subject, e.g. through the `sha256-<hex>` tag. */
  linkReferrers(subject: Descriptor, referrers: readonly Descriptor[]): Promise<void>;
  /**
   * Before the links: stores what pointing `tags` at the root needs listed among the root's
   * referrers (a registry's push records, one per tag that moves) and returns their descriptors,
   * which the walk links with the root's own referrers in one go. Absent: nothing is needed.
   */
  tagReferrers?(tags: readonly string[], root: Descriptor): Promise<Descriptor[]>;
  /** Points `tag` at the root (already stored); 'skipped' when it already did. */
  tag(tag: string, root: Blob): Promise<StoreOutcome>;
  /** The manifest `tag` points at, when there is one: cosign's `sha256-<hex>.sig|.att` tags are merged with, not replaced (absent: nothing is ever there). */
  readTag?(tag: string): Promise<Buffer | undefined>;
  /** Points a signature or attestation tag at its manifest (already stored): not an image tag (no push record, not in tags/list); absent: tag(). */
  tagAttachment?(tag: string, manifest: Blob): Promise<void>;
  /**
   * Called after a walk's last tag (`ok`; again after each walk a removal sent it on, and beside the
   * removal check: publish.ts) or after a failure: a sink that stages its output commits or discards it here.
   */
  finish(ok: boolean): Promise<void>;
  /** Where removals can run (a registry, a bucket): the removal epoch now (lifecycle/lease.ts), read before a walk. */
  removalEpoch?(): Promise<string | undefined>;
  /**
   * After the tags: waits while a removal holds the store's lease; `ran` when a removal ran since
   * the epoch `before` was read (a lease was there, or the epoch changed), and the walk must then
   * store again whatever the removal took.
   */
  removalsSince?(before: string | undefined): Promise<{ ran: boolean; epoch: string | undefined }>;
  /**
   * True when a removal that deleted what the walk found stored can have caused `err` (a
   * registry refusing a manifest whose content it no longer holds): publish.ts then asks
   * removalsSince and walks again when one ran. Absent or false: the failure is the push's.
   */
  removalCanCause?(err: unknown): boolean;
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

/**
 * The tags of one image repository or static name in one medium (a registry, a static registry
 * on S3, the static binaries on S3), for `ls`, `rm` and `gc` (lifecycle/removal.ts). A removal
 * takes the store's lease first, then reads the state, and the pure planner of
 * lifecycle/removal-plan.ts decides; the store carries the plan out, checking its lease.
 */
export interface TagStore<P extends RemovalPlan = RemovalPlan> {
  /** The repository or name, as messages show it (no credentials). */
  readonly name: string;
  /** The tags, with what the store knows of each. */
  list(): Promise<TagFacts[]>;
  /** Announces a removal (see lifecycle/lease.ts): before any read a removal plans from. */
  lease(log?: (line: string) => void): Promise<HeldLease>;
  /** The lease there now, read without taking it (a dry run shows the journal a real run would finish). */
  leaseThere(): Promise<LeaseRecord | undefined>;
  /** Reads the state and plans removing the tags (changes nothing). */
  plan(request: RemovalRequest & { graceMs: number }, now?: number): Promise<P>;
  /** Carries out a plan of `plan()` under the lease (`pages: false`: leave a bucket's download pages alone; `log`: warnings). */
  remove(plan: P, lease: HeldLease, options?: { pages?: boolean; log?: (line: string) => void }): Promise<void>;
  /** Rebuilds the tag list from the tags the store holds whole (S3, where the list is a document of its own). */
  repair?(): Promise<{ tags: string[]; broken: string[] }>;
}

export type { RemovalPlan } from '../lifecycle/removal-plan.js';
