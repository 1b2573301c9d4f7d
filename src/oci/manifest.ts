import { digestOf } from './digest.js';
import { descriptorJson, jsonBlob, sortedRecord, type JsonBlob } from './json.js';
import { MediaType } from './media-types.js';
import type { Descriptor } from './types.js';

/** The bytes of the OCI empty blob (`{}`), used as the config of artifact manifests. */
export const EMPTY_JSON_BYTES: Buffer = Buffer.from('{}', 'utf8');

/** The descriptor of the OCI empty blob, its two bytes inlined as `data`; the blob is still stored wherever it is referenced. */
export const EMPTY_DESCRIPTOR: Descriptor = {
  mediaType: MediaType.empty,
  digest: digestOf(EMPTY_JSON_BYTES),
  size: EMPTY_JSON_BYTES.length,
  data: EMPTY_JSON_BYTES.toString('base64'),
};

/** What an image manifest references. */
export interface ImageManifestInput {
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  subject?: Descriptor;
}

/** The image manifest JSON value (members in the canonical order). */
export function imageManifest(input: ImageManifestInput): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config: descriptorJson(input.config),
    layers: input.layers.map(descriptorJson),
    subject: input.subject === undefined ? undefined : descriptorJson(input.subject),
    annotations: sortedRecord(input.annotations),
  };
}

/** The image manifest as a blob; `platform` goes on the descriptor, for use in an index. */
export function imageManifestBlob(input: ImageManifestInput, platform?: Descriptor['platform']): JsonBlob {
  return jsonBlob(imageManifest(input), MediaType.manifest, platform === undefined ? {} : { platform });
}

/** What an artifact manifest (SBOM, attestation…) holds; its config is the empty descriptor. */
export interface ArtifactManifestInput {
  artifactType: string;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An artifact manifest JSON value (OCI 1.1 "artifact" guidance: image manifest + artifactType + empty config). */
export function artifactManifest(input: ArtifactManifestInput): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    artifactType: input.artifactType,
    config: descriptorJson(EMPTY_DESCRIPTOR),
    layers: input.layers.map(descriptorJson),
    subject: input.subject === undefined ? undefined : descriptorJson(input.subject),
    annotations: sortedRecord(input.annotations),
  };
}

/** The artifact manifest as a blob; its descriptor carries the artifactType (as the referrers API lists it). */
export function artifactManifestBlob(input: ArtifactManifestInput): JsonBlob {
  const annotations = sortedRecord(input.annotations);
  return jsonBlob(artifactManifest(input), MediaType.manifest, {
    artifactType: input.artifactType,
    ...(annotations === undefined ? {} : { annotations }),
  });
}
