/**
 * cosign's storage of signatures and attestations (its SIGNATURE_SPEC, "tag-based discovery"):
 * a manifest under the tag `sha256-<hex of the subject>.sig` (or `.att`), whose layers are the
 * signed payloads (simple signing JSON, or DSSE envelopes) with the signature in the
 * `dev.cosignproject.cosign/signature` annotation, and a config listing them as diff_ids. Several
 * signatures of one digest are layers of that one manifest: a new signer appends (pure merging here;
 * the publish walk reads the tag and stores the merged manifest).
 */
import { digestHex, type Digest } from './digest.js';
import type { Blob } from './graph.js';
import { descriptorJson, jsonBlob, type JsonBlob } from './json.js';
import { MediaType } from './media-types.js';
import type { Descriptor } from './types.js';

export const Cosign = {
  simpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  dsse: 'application/vnd.dsse.envelope.v1+json',
  signature: 'dev.cosignproject.cosign/signature',
  predicateType: 'predicateType',
  /** alba's own layer annotation: the sha256 of the signer's public key, so a re-push replaces its own attestation of a type. */
  signer: 'dev.alba.signer',
} as const;

/** `sha256-<hex>.sig` or `.att`: where cosign looks for the signatures or attestations of `subject`. */
export function attachmentTag(subject: Digest, kind: 'sig' | 'att'): string {
  return `sha256-${digestHex(subject)}.${kind}`;
}

/** One layer to add to an attachment manifest. */
export interface AttachmentLayer {
  blob: Blob;
  /** True when `existing` (a layer already under the tag) already says what this layer says: this one is not added. */
  present(existing: Descriptor): boolean;
  /** True when `existing` is an older layer this one replaces (the same signer's attestation of the same type). */
  replaces(existing: Descriptor): boolean;
}

/** Signatures or attestations of one subject, stored under attachmentTag(). */
export interface Attachment {
  tag: string;
  subject: Descriptor;
  layers: AttachmentLayer[];
}

/** What to store for an attachment: the manifest, its config and the layers that are new; undefined when the tag already says it all. */
export interface MergedAttachment {
  manifest: JsonBlob;
  config: JsonBlob;
  added: Blob[];
}

/** The layers of a manifest found under the tag (none when there is none, or it is not a manifest with layers). */
export function attachmentLayers(existing: Buffer | undefined): Descriptor[] {
  if (existing === undefined) return [];
  try {
    const layers = (JSON.parse(existing.toString('utf8')) as { layers?: unknown }).layers;
    return Array.isArray(layers) ? layers.filter(isLayer) : [];
  } catch {
    return [];
  }
}

/** The manifest listing the existing layers (minus those replaced) and then the new ones. */
export function mergeAttachment(existing: Buffer | undefined, attachment: Attachment): MergedAttachment | undefined {
  const before = attachmentLayers(existing);
  const added = attachment.layers.filter((l) => !before.some((d) => l.present(d)));
  const kept = before.filter((d) => !added.some((l) => l.replaces(d)));
  if (added.length === 0 && kept.length === before.length) return undefined;
  const layers = [...kept, ...added.map((l) => l.blob.descriptor)];
  const config = jsonBlob(
    {
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: [{ created: '0001-01-01T00:00:00Z' }],
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      config: {},
    },
    MediaType.config,
  );
  const manifest = jsonBlob(
    {
      schemaVersion: 2,
      mediaType: MediaType.manifest,
      config: descriptorJson(config.descriptor),
      layers: layers.map(descriptorJson),
    },
    MediaType.manifest,
  );
  return { manifest, config, added: added.map((l) => l.blob) };
}

function isLayer(v: unknown): v is Descriptor {
  const d = v as Descriptor | null;
  return (
    typeof d === 'object' && d !== null && typeof d.digest === 'string' && typeof d.mediaType === 'string' && typeof d.size === 'number'
  );
}
