/**
 * cosign's tags in a removal (pure): `sha256-<hex>.sig|.att|.sbom` is attached to the manifest
 * `sha256:<hex>` (its subject) and lives exactly as long as that manifest does. Its manifest
 * names no subject (cosign's tag-based form has no `subject` field), so the reachability walk
 * never meets it from the image: the removal plans (removal-plan.ts) ask here what a set of kept
 * roots keeps once the attachments of every kept manifest are kept too (an attachment's own
 * manifest may in turn be signed: the walk runs until nothing more is kept).
 */
import type { Digest } from '../oci/digest.js';
import { ATTACHMENT_TAG_RE } from '../oci/names.js';
import { reachIn, type Reach, type StoredGraph } from '../oci/reachability.js';

/** A cosign tag of a repository and the manifest it holds. */
export interface AttachmentTag {
  tag: string;
  digest: Digest;
}

/** The manifest `tag` is attached to (`sha256-<hex>.sig` → `sha256:<hex>`); undefined when `tag` is not cosign's. */
export function attachmentSubject(tag: string): Digest | undefined {
  return ATTACHMENT_TAG_RE.test(tag) ? (`sha256:${tag.slice('sha256-'.length, 'sha256-'.length + 64)}` as Digest) : undefined;
}

/** What `roots` reach in `graph` with the attachments of every manifest reached, and which attachments that keeps. */
export function reachWithAttachments(
  graph: StoredGraph,
  roots: readonly Digest[],
  attachments: readonly AttachmentTag[],
): { kept: Reach; attachments: AttachmentTag[] } {
  const from = new Set(roots);
  const keptAttachments: AttachmentTag[] = [];
  let pending = [...attachments];
  for (;;) {
    const kept = reachIn(graph, [...from]);
    const now = pending.filter((a) => kept.manifests.has(attachmentSubject(a.tag) as Digest));
    if (now.length === 0) return { kept, attachments: keptAttachments };
    keptAttachments.push(...now);
    pending = pending.filter((a) => !now.includes(a));
    for (const a of now) from.add(a.digest);
  }
}
