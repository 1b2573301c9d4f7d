import { descriptorJson, jsonBlob, sortedRecord, type JsonBlob } from './json.js';
import { MediaType } from './media-types.js';
import type { Descriptor } from './types.js';

/** What an image index lists: one manifest descriptor per platform (with `platform` set). */
export interface ImageIndexInput {
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The image index JSON value (members in the canonical order; manifests in the order given). */
export function imageIndex(input: ImageIndexInput): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MediaType.index,
    manifests: input.manifests.map(descriptorJson),
    annotations: sortedRecord(input.annotations),
  };
}

/** The image index as a blob. */
export function imageIndexBlob(input: ImageIndexInput): JsonBlob {
  return jsonBlob(imageIndex(input), MediaType.index);
}
