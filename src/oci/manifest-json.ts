/**
 * The reading vocabulary of OCI JSON, one for every medium: the manifest and index members alba
 * reads, the parser that checks their shape, the annotation keys, the media types of indexes and
 * image manifests, the platform string. Whoever reads bytes (a layout, a registry, a bucket)
 * passes `invalid`, which builds the error of its medium naming where the bytes are (its key,
 * URL or path): garbage is that error, never an exception further on.
 */
import { MediaType } from './media-types.js';
import type { Descriptor, Platform } from './types.js';

/** The annotation keys alba reads and writes. */
export const Annotation = {
  /** When the content was made (RFC 3339); referrers are chosen newest first by it. */
  created: 'org.opencontainers.image.created',
  /** The name of a ref in an OCI layout's index.json. */
  refName: 'org.opencontainers.image.ref.name',
  /** A layer's file name (the SBOM layer's `amd64.spdx.json`). */
  title: 'org.opencontainers.image.title',
} as const;

/** The members of an image manifest or image index alba reads (an artifact manifest is an image manifest). */
export interface ManifestJson {
  schemaVersion?: number;
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** Media types of an image index (OCI, Docker manifest list). */
export const INDEX_MEDIA_TYPES: ReadonlySet<string> = new Set([MediaType.index, MediaType.dockerManifestList]);
/** Media types of an image manifest (OCI, Docker schema 2). */
export const IMAGE_MEDIA_TYPES: ReadonlySet<string> = new Set([MediaType.manifest, MediaType.dockerManifest]);

/** True when `value` has a descriptor's shape: a string mediaType and digest, a size that is a whole number. */
export function isDescriptor(value: unknown): value is Descriptor {
  if (!isRecord(value)) return false;
  const d = value;
  return (
    typeof d['mediaType'] === 'string' &&
    typeof d['digest'] === 'string' &&
    DIGEST_GRAMMAR.test(d['digest']) &&
    Number.isSafeInteger(d['size']) &&
    (d['size'] as number) >= 0 &&
    optional(d['artifactType'], (v) => typeof v === 'string') &&
    optional(d['data'], (v) => typeof v === 'string') &&
    optional(d['annotations'], isStringMap) &&
    optional(d['platform'], isPlatform)
  );
}

/** The image-spec's digest grammar (`algorithm:encoded`): no `/`, no `..`, so it never makes a path. */
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optional(value: unknown, check: (v: unknown) => boolean): boolean {
  return value === undefined || check(value);
}

function isStringMap(value: unknown): boolean {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
}

function isStringList(value: unknown): boolean {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** A descriptor's `platform`: os and architecture strings; variant, os.version strings; os.features, features string lists. */
function isPlatform(value: unknown): boolean {
  return (
    isRecord(value) &&
    typeof value['os'] === 'string' &&
    typeof value['architecture'] === 'string' &&
    optional(value['variant'], (v) => typeof v === 'string') &&
    optional(value['os.version'], (v) => typeof v === 'string') &&
    optional(value['os.features'], isStringList) &&
    optional(value['features'], isStringList)
  );
}

/**
 * Parses manifest or index bytes and checks the shape of what alba reads from them: a JSON
 * object whose `manifests` and `layers` are lists of descriptors, whose `config` and `subject`
 * are descriptors, whose `mediaType`/`artifactType` are strings and `annotations` a map of
 * strings. Anything else is `invalid(why)`, the caller's error naming where the bytes are.
 */
export function parseManifestJson(bytes: Uint8Array, invalid: (why: string) => Error): ManifestJson {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw invalid('it is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('it is not a JSON object');
  const m = json as Record<string, unknown>;
  const list = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.every(isDescriptor));
  const one = (v: unknown): boolean => v === undefined || isDescriptor(v);
  if (!list(m['manifests']) || !list(m['layers']) || !one(m['config']) || !one(m['subject']))
    throw invalid('its manifests, config, layers or subject are not descriptors');
  for (const key of ['mediaType', 'artifactType'] as const)
    if (m[key] !== undefined && typeof m[key] !== 'string') throw invalid(`its ${key} is not a string`);
  const annotations = m['annotations'];
  if (
    annotations !== undefined &&
    (typeof annotations !== 'object' ||
      annotations === null ||
      Array.isArray(annotations) ||
      !Object.values(annotations).every((v) => typeof v === 'string'))
  ) {
    throw invalid('its annotations are not a map of strings');
  }
  return m as ManifestJson;
}

/** `os/architecture[/variant]`, as people write platforms (`linux/arm/v7`). */
export function platformString(platform: Platform): string {
  return [platform.os, platform.architecture, ...(platform.variant === undefined ? [] : [platform.variant])].join('/');
}
