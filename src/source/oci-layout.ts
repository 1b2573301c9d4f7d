/**
 * The one reader of OCI image layouts on disk (`oci-layout`, `index.json`, `blobs/sha256/*`):
 * opening and checking a layout, choosing the root a ref names, reading blobs checked against
 * their digest, finding the referrers stored only as blobs (as `alba build` stores them), and the
 * layout as a graph reader (oci/artifacts.ts) for `alba sbom`. Anything malformed is
 * LAYOUT_INVALID naming the layout, a blob whose bytes are not its digest DIGEST_MISMATCH.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { AlbaError } from '../errors.js';
import type { ArtifactReader } from '../oci/artifacts.js';
import { BlobStore, checkHeld } from '../oci/blob-store.js';
import { digestOf, isDigest, parseDigest, type Digest } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../oci/graph.js';
import { Annotation, INDEX_MEDIA_TYPES, isDescriptor, parseManifestJson, type ManifestJson } from '../oci/manifest-json.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import { openRegularFile } from '../util/regular-file.js';

/** The top-level index.json of an OCI layout. */
export interface LayoutIndex extends ManifestJson {
  schemaVersion: number;
  manifests: Descriptor[];
}

/** A referrer manifest the layout holds: its descriptor (artifactType and annotations from the manifest), the manifest, its subject. */
export interface LayoutReferrer {
  descriptor: Descriptor;
  manifest: ManifestJson & { config: Descriptor; subject: Descriptor };
}

/** An OCI image layout on disk, opened for reading. */
export interface OciLayout {
  dir: string;
  index: LayoutIndex;
  /** The layout's `blobs/` as a content store. */
  blobs: BlobStore;
  /** Path of a blob (it may not exist). */
  blobPath(digest: Digest): string;
  /** A whole blob (manifests, configs, artifacts), checked against its digest; refused above `max` bytes (default: a manifest's cap). */
  readBlob(digest: Digest, max?: number): Promise<Buffer>;
  /** Parses a JSON blob (checked against its digest). */
  readJson<T = unknown>(digest: Digest): Promise<T>;
  /** The manifest or index `d` names, checked against its size and digest and parsed (manifest-json.ts). */
  readManifest(d: Descriptor): Promise<ManifestJson>;
  /** Streams a blob (for layers). */
  openBlob(digest: Digest): Readable;
  /** The index.json entry whose ref name is `name`. */
  findRef(name: string): Descriptor | undefined;
  /** Every referrer manifest among the layout's blobs (read once), by digest. */
  referrers(): Promise<LayoutReferrer[]>;
}

/** Opens the OCI layout in `dir`: checks `oci-layout` and parses `index.json` (each at most a manifest's cap). */
export async function readLayout(dir: string): Promise<OciLayout> {
  let marker: unknown;
  try {
    marker = JSON.parse((await readLayoutFile(dir, 'oci-layout')).toString('utf8'));
  } catch (cause) {
    if (cause instanceof AlbaError) throw cause;
    throw invalid(dir, 'oci-layout is not JSON', cause);
  }
  const version = (marker as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  if (typeof version !== 'string') throw invalid(dir, 'oci-layout has no imageLayoutVersion');
  // the one version the image-spec defines (1.1 of the spec still writes it), as skopeo and umoci read
  if (version !== '1.0.0')
    throw invalid(dir, `oci-layout says imageLayoutVersion ${JSON.stringify(version)}; alba reads layouts of version 1.0.0`);
  const index = parseManifestJson(await readLayoutFile(dir, 'index.json'), (why) => invalid(dir, `index.json cannot be read: ${why}`));
  if (index.schemaVersion !== 2 || !Array.isArray(index.manifests)) throw invalid(dir, 'index.json is not an OCI image index');
  return layoutOf(dir, index as LayoutIndex);
}

function layoutOf(dir: string, index: LayoutIndex): OciLayout {
  const blobs = new BlobStore(join(dir, 'blobs'));
  const readBlob = async (digest: Digest, max = MAX_MANIFEST_BYTES): Promise<Buffer> => {
    const bytes = await blobs.bytes(digest, max, (size) =>
      invalid(dir, `blob ${digest} has ${size} bytes, more than the ${max} alba reads into memory`),
    );
    if (bytes === undefined) throw invalid(dir, `blob ${digest} is missing`);
    const actual = digestOf(bytes);
    if (actual !== digest)
      throw new AlbaError('DIGEST_MISMATCH', `${blobs.path(digest)}: expected ${digest}, got ${actual}`, {
        hint: 'the layout is corrupt; rebuild it',
      });
    return bytes;
  };
  let scanned: Promise<LayoutReferrer[]> | undefined;
  return {
    dir,
    index,
    blobs,
    blobPath: (digest) => blobs.path(digest),
    readBlob,
    readJson: async <T>(digest: Digest) => {
      try {
        return JSON.parse((await readBlob(digest)).toString('utf8')) as T;
      } catch (cause) {
        if (cause instanceof AlbaError) throw cause;
        throw invalid(dir, `blob ${digest} is not JSON`, cause);
      }
    },
    async readManifest(d: Descriptor): Promise<ManifestJson> {
      const bytes = await readBlob(parseDigest(d.digest));
      if (bytes.length !== d.size) throw invalid(dir, `blob ${d.digest} has ${bytes.length} bytes, not the ${d.size} its descriptor says`);
      return parseManifestJson(bytes, (why) => invalid(dir, `manifest ${d.digest} cannot be read: ${why}`));
    },
    openBlob: (digest) => blobs.open(digest),
    findRef: (name) => index.manifests.find((d) => d.annotations?.[Annotation.refName] === name),
    referrers: () => (scanned ??= scanReferrers(dir, blobs)),
  };
}

/**
 * The root of the layout: the index.json entry named `ref`; without `ref`, the one image index
 * (or, failing that, the one entry) that is not an artifact. USAGE when that is not one entry.
 */
export function selectRoot(layout: OciLayout, ref?: string): Descriptor {
  const entries = layout.index.manifests;
  const names = entries.map((d) => d.annotations?.[Annotation.refName]).filter((n): n is string => n !== undefined);
  if (ref !== undefined) {
    const found = layout.findRef(ref);
    if (found === undefined)
      throw new AlbaError('USAGE', `${layout.dir} has no ref ${JSON.stringify(ref)}`, {
        hint: `its refs: ${names.join(', ') || '(none)'}`,
      });
    return found;
  }
  const unique = (list: Descriptor[]): Descriptor[] => [...new Map(list.map((d) => [d.digest, d])).values()];
  const indexes = unique(entries.filter((d) => INDEX_MEDIA_TYPES.has(d.mediaType) && d.artifactType === undefined));
  const candidates = indexes.length > 0 ? indexes : unique(entries.filter((d) => d.artifactType === undefined));
  if (candidates.length === 1) return candidates[0] as Descriptor;
  throw new AlbaError(
    'USAGE',
    candidates.length === 0 ? `${layout.dir} holds no image` : `${layout.dir} holds several images (${names.join(', ')})`,
    {
      hint: candidates.length === 0 ? 'build one with `alba build`' : 'name the one you want with --ref TAG',
    },
  );
}

/**
 * Checks that the layout holds everything index.json reaches (indexes -> manifests -> config,
 * layers) with the descriptors' sizes and, with `hashes`, digests. LAYOUT_INVALID naming the first broken descriptor.
 */
export async function checkLayout(layout: OciLayout, options: { hashes?: boolean } = {}): Promise<void> {
  await checkHeld(layout.blobs, layout.index.manifests, {
    ...options,
    maxManifest: MAX_MANIFEST_BYTES,
    invalid: (detail) => invalid(layout.dir, detail),
  });
}

/** The layout as oci/artifacts.ts reads any store: manifests and blobs checked against their digest, referrers from the blob scan. */
export function layoutArtifactReader(layout: OciLayout): ArtifactReader {
  return {
    manifest: async (digest) => ((await layout.blobs.has(digest)) ? layout.readBlob(digest) : undefined),
    referrers: async (subject) => ({
      entries: (await layout.referrers()).filter((r) => r.manifest.subject.digest === subject).map((r) => r.descriptor),
    }),
    invalid: (digest, why) => invalid(layout.dir, `manifest ${digest} cannot be read: ${why}`),
    blob: (d, max) => layout.readBlob(parseDigest(d.digest), max),
  };
}

/**
 * The referrer manifests of a layout read into memory at most, in all (each is at most a
 * manifest's cap): `alba build` writes two of about 600 bytes per image, so this is some 100 000.
 */
export const MAX_LAYOUT_REFERRER_BYTES = 64 * 1024 * 1024;

/**
 * Every blob of the layout small enough to be a manifest that starts like JSON and reads as an
 * image manifest with a subject and a config (whoever reads it then reads it checked against its
 * digest: readBlob, fileBlob). Other blobs (layers, configs) are passed over.
 */
async function scanReferrers(dir: string, blobs: BlobStore): Promise<LayoutReferrer[]> {
  const names = (await readdir(join(dir, 'blobs', 'sha256')).catch(() => [] as string[])).filter((n) => isDigest(`sha256:${n}`)).sort();
  const found: LayoutReferrer[] = [];
  let total = 0;
  for (const name of names) {
    const digest = `sha256:${name}` as Digest;
    const bytes = jsonBlob(blobs.path(digest));
    if (bytes === undefined) continue;
    let manifest: ManifestJson;
    try {
      manifest = parseManifestJson(bytes, (why) => new Error(why));
    } catch {
      continue;
    }
    if (manifest.mediaType !== MediaType.manifest || !isDescriptor(manifest.config) || !isDescriptor(manifest.subject)) continue;
    if ((total += bytes.length) > MAX_LAYOUT_REFERRER_BYTES)
      throw new AlbaError('TOO_LARGE', `${dir} holds more than ${MAX_LAYOUT_REFERRER_BYTES} bytes of referrer manifests`, {
        hint: 'alba reads them all into memory, and a build writes a few KB of them per image; check the layout',
      });
    const artifactType = manifest.artifactType ?? manifest.config.mediaType;
    const descriptor: Descriptor = {
      mediaType: MediaType.manifest,
      digest,
      size: bytes.length,
      artifactType,
      ...(manifest.annotations === undefined ? {} : { annotations: manifest.annotations }),
    };
    found.push({ descriptor, manifest: manifest as LayoutReferrer['manifest'] });
  }
  return found;
}

/**
 * The bytes of the file when it holds 2 to MAX_MANIFEST_BYTES bytes and starts with `{`, else
 * undefined. Synchronous: a layout's blobs are local files, and a push, `alba sbom` and `alba
 * verify` scan them before their first request; the four system calls of each (open, fstat, read,
 * close) take ~30 µs there, where four trips through libuv's thread pool took ~170 µs (the base
 * image's 55 blobs: 9.5 → 1.8 ms).
 */
function jsonBlob(path: string): Buffer | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted among the blobs opens at once (and is passed over), where a
    // plain open would wait for a writer forever
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile() || info.size > MAX_MANIFEST_BYTES || info.size < 2) return undefined;
    const size = info.size;
    const bytes = Buffer.allocUnsafe(size);
    if (readSync(fd, bytes, 0, 1, 0) !== 1 || bytes[0] !== 0x7b) return undefined;
    let at = 1;
    while (at < size) {
      const n = readSync(fd, bytes, at, size - at, at);
      if (n === 0) return undefined; // shorter than its size: changing under us, not a manifest to push
      at += n;
    }
    return bytes;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** `oci-layout` or `index.json`, refused above a manifest's cap. */
async function readLayoutFile(dir: string, name: string): Promise<Buffer> {
  const path = join(dir, name);
  try {
    const file = await openRegularFile(path); // a FIFO, a device: refused at once, not waited on or read forever
    try {
      const { size } = await file.stat();
      if (size > MAX_MANIFEST_BYTES) throw invalid(dir, `${name} has ${size} bytes, more than the ${MAX_MANIFEST_BYTES} alba reads`);
      return await file.readFile();
    } finally {
      await file.close();
    }
  } catch (err) {
    if (err instanceof AlbaError) throw err;
    throw invalid(dir, `${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
}

/** LAYOUT_INVALID naming the layout. */
export function invalid(dir: string, detail: string, cause?: unknown): AlbaError {
  return new AlbaError('LAYOUT_INVALID', `${dir} is not a valid OCI layout: ${detail}`, {
    hint: 'rebuild the layout with `alba build`',
    cause,
  });
}
