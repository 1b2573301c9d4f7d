import { digestOf } from './digest.js';
import type { Descriptor } from './types.js';

/**
 * Canonical JSON for everything alba hashes: keys in the order the builders write them,
 * undefined members dropped, no whitespace. Builders that take user maps sort them first
 * (see sortedRecord), so the bytes — and so the digest — depend only on the content.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value);
}

/** A copy of `record` with its keys in code-unit order; undefined when it is empty or absent. */
export function sortedRecord(record: Record<string, string> | undefined): Record<string, string> | undefined {
  if (record === undefined) return undefined;
  const keys = Object.keys(record).sort();
  if (keys.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const key of keys) out[key] = record[key] as string;
  return out;
}

/** A descriptor with its members in the canonical order (mediaType, artifactType, digest, size, data, platform, annotations). */
export function descriptorJson(d: Descriptor): Descriptor {
  const annotations = sortedRecord(d.annotations);
  return {
    mediaType: d.mediaType,
    ...(d.artifactType === undefined ? {} : { artifactType: d.artifactType }),
    digest: d.digest,
    size: d.size,
    ...(d.data === undefined ? {} : { data: d.data }),
    ...(d.platform === undefined
      ? {}
      : {
          platform: {
            architecture: d.platform.architecture,
            os: d.platform.os,
            ...(d.platform.variant === undefined ? {} : { variant: d.platform.variant }),
          },
        }),
    ...(annotations === undefined ? {} : { annotations }),
  };
}

/** An in-memory JSON blob: its exact bytes and the descriptor that names them. */
export interface JsonBlob {
  bytes: Buffer;
  descriptor: Descriptor;
}

/** Serialises `value` canonically and describes the bytes with `mediaType` (plus optional descriptor extras). */
export function jsonBlob(
  value: unknown,
  mediaType: string,
  extra: Pick<Descriptor, 'platform' | 'annotations' | 'artifactType'> = {},
): JsonBlob {
  const bytes = Buffer.from(canonicalJson(value), 'utf8');
  return { bytes, descriptor: descriptorJson({ mediaType, digest: digestOf(bytes), size: bytes.length, ...extra }) };
}
