import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AlbaError } from '../errors.js';
import { HashingStream, digestHex, parseDigest, type Digest } from './digest.js';
import { MediaType } from './media-types.js';
import type { Descriptor } from './types.js';

/** The annotation that names a ref in an OCI layout's index.json. */
export const REF_NAME = 'org.opencontainers.image.ref.name';

/** The top-level index.json of an OCI layout. */
export interface LayoutIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** An OCI image layout on disk, opened for reading. */
export interface OciLayout {
  dir: string;
  index: LayoutIndex;
  /** Path of a blob (it may not exist). */
  blobPath(digest: Digest): string;
  /** Reads a whole blob (for manifests, configs, small artifacts). */
  readBlob(digest: Digest): Promise<Buffer>;
  /** Parses a JSON blob. */
  readJson<T = unknown>(digest: Digest): Promise<T>;
  /** Streams a blob (for layers). */
  openBlob(digest: Digest): Readable;
  /** The index.json entry whose ref name is `name`. */
  findRef(name: string): Descriptor | undefined;
}

/** Opens the OCI layout in `dir`: checks `oci-layout` and parses `index.json`. */
export async function readLayout(dir: string): Promise<OciLayout> {
  const marker = await readJsonFile<{ imageLayoutVersion?: string }>(join(dir, 'oci-layout'), dir);
  if (typeof marker.imageLayoutVersion !== 'string') throw invalid(dir, 'oci-layout has no imageLayoutVersion');
  const index = await readJsonFile<LayoutIndex>(join(dir, 'index.json'), dir);
  if (index.schemaVersion !== 2 || !Array.isArray(index.manifests)) throw invalid(dir, 'index.json is not an OCI image index');
  return layoutOf(dir, index);
}

/** The layout of the blobs under `dir` as `index` would list them (for checking an index before it is written). */
export function layoutOf(dir: string, index: LayoutIndex): OciLayout {
  const blobPath = (digest: Digest): string => join(dir, 'blobs', 'sha256', digestHex(digest));
  const readBlob = (digest: Digest): Promise<Buffer> =>
    readFile(blobPath(digest)).catch((err: unknown) => {
      throw invalid(dir, `blob ${digest} is missing`, err);
    });
  return {
    dir,
    index,
    blobPath,
    readBlob,
    readJson: async <T>(digest: Digest) => JSON.parse((await readBlob(digest)).toString('utf8')) as T,
    openBlob: (digest: Digest) => createReadStream(blobPath(digest)),
    findRef: (name: string) => index.manifests.find((d) => d.annotations?.[REF_NAME] === name),
  };
}

/**
 * Walks the graph from index.json (indexes → manifests → config, layers) and checks that every
 * referenced blob exists with the descriptor's size — and, with `hashes`, its digest.
 * Throws LAYOUT_INVALID naming the first broken descriptor.
 */
export async function checkLayout(layout: OciLayout, options: { hashes?: boolean } = {}): Promise<void> {
  const seen = new Set<string>();
  const visit = async (d: Descriptor, from: string): Promise<void> => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    const digest = parseDigest(d.digest);
    const info = await stat(layout.blobPath(digest)).catch(() => undefined);
    if (info === undefined) throw invalid(layout.dir, `${from} references ${d.digest}, which is missing`);
    if (info.size !== d.size) throw invalid(layout.dir, `${from} says ${d.digest} has ${d.size} bytes; the blob has ${info.size}`);
    if (options.hashes === true) {
      const hasher = new HashingStream();
      await pipeline(layout.openBlob(digest), hasher, async (s: AsyncIterable<unknown>) => {
        for await (const _ of s);
      });
      if (hasher.digest() !== digest) throw invalid(layout.dir, `blob ${d.digest} does not match its digest (it hashes to ${hasher.digest()})`);
    }
    if (d.mediaType === MediaType.index) {
      const child = await layout.readJson<LayoutIndex>(digest);
      for (const m of child.manifests ?? []) await visit(m, `index ${d.digest}`);
    } else if (d.mediaType === MediaType.manifest) {
      const manifest = await layout.readJson<{ config?: Descriptor; layers?: Descriptor[] }>(digest);
      if (manifest.config !== undefined) await visit(manifest.config, `manifest ${d.digest}`);
      for (const l of manifest.layers ?? []) await visit(l, `manifest ${d.digest}`);
    }
  };
  for (const d of layout.index.manifests) await visit(d, 'index.json');
}

async function readJsonFile<T>(path: string, dir: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw invalid(dir, `${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw invalid(dir, `${path} is not JSON`, err);
  }
}

function invalid(dir: string, detail: string, cause?: unknown): AlbaError {
  return new AlbaError('LAYOUT_INVALID', `${dir} is not a valid OCI layout: ${detail}`, {
    hint: 'rebuild the layout with `alba build`',
    cause,
  });
}
