/**
 * The content-addressed graph every source reads into and every sink stores: blobs under
 * manifests under one root (an image index, or a single manifest), with referrers beside.
 */
import { createReadStream } from 'node:fs';
import { isMissingFile, openRegularFile } from '../util/regular-file.js';
import { pipeline, Readable } from 'node:stream';
import { VerifyingStream } from './digest.js';
import { AlbaError } from '../errors.js';
import type { Attachment } from './cosign.js';
import type { JsonBlob } from './json.js';
import type { Descriptor } from './types.js';

/** Content with a known descriptor; open() returns a fresh stream each call, so a retry can read it again. */
export interface Blob {
  descriptor: Descriptor;
  open(): Promise<Readable>;
  /** The bytes, when the blob is in memory (manifests, configs, SBOMs). */
  bytes?: Buffer;
  /** The local file holding exactly these bytes (the cache's blob store, a layout), named in messages about the blob. */
  file?: string;
}

/** A manifest and the blobs it references (config, then layers), all distinct nodes of the graph. */
export interface ManifestNode {
  manifest: Blob;
  blobs: Blob[];
}

/** A manifest whose `subject` is another manifest of the graph (an SBOM, a signature…). */
export interface Referrer extends ManifestNode {
  subject: Descriptor;
}

/** What one push or write stores: the root, its platform images (none when the root is itself an image), referrers. */
export interface ImageGraph {
  root: Blob;
  /** The platform manifests of an index root, with their config and layers; for a manifest root, that one image. */
  images: ManifestNode[];
  referrers: Referrer[];
  /** cosign signatures and attestations (oci/cosign.ts), merged into what the store's `sha256-<hex>.sig|.att` tags hold; only when signing was asked for. */
  attachments?: Attachment[];
}

/** One image of a graph as a graph of its own: that manifest as the root, with its referrers. */
export function imageGraphOf(graph: ImageGraph, image: ManifestNode): ImageGraph {
  return {
    root: image.manifest,
    images: [image],
    referrers: graph.referrers.filter((r) => r.subject.digest === image.manifest.descriptor.digest),
  };
}

/** A blob held in memory. */
export function memoryBlob(json: JsonBlob): Blob {
  return { descriptor: json.descriptor, bytes: json.bytes, open: async () => Readable.from([json.bytes]) };
}

/**
 * Bytes per read of a blob file: each read is a round trip through libuv's thread pool, and each
 * chunk one pass through the hash and the socket writes; 512 KiB instead of Node's 64 KiB takes a
 * first push of the base image from ~450 reads to ~60 (docs/architecture.md, "First pushes").
 */
export const FILE_READ_BYTES = 512 * 1024;

/** A blob stored in a local file; every full read of it is checked against the descriptor (VerifyingStream). */
export function fileBlob(descriptor: Descriptor, file: string): Blob {
  // The callback form returns the last stream and destroys both ends when either fails.
  const open = async (): Promise<Readable> => {
    const handle = await openRegularFile(file).catch((err: unknown) => {
      if (!isMissingFile(err)) throw err;
      throw new AlbaError('BLOB_MISSING', `${file} should hold ${descriptor.digest}: it is missing`, {
        hint: 'the file was removed meanwhile (another tool, or a cache cleanup); run again',
      });
    });
    const read = createReadStream(file, { fd: handle, highWaterMark: FILE_READ_BYTES });
    return pipeline(read, new VerifyingStream(descriptor, file), () => undefined);
  };
  return { descriptor, file, open };
}

/** The whole content of a blob, refused above `max` bytes (manifests, indexes: read to be sent or parsed). */
export async function blobBytes(blob: Blob, max: number): Promise<Buffer> {
  if (blob.descriptor.size > max) {
    throw new AlbaError(
      'TOO_LARGE',
      `${blob.descriptor.digest} has ${blob.descriptor.size} bytes, more than the ${max} alba reads into memory`,
      {
        hint: 'a manifest or index this large is not what alba expects; check the source',
      },
    );
  }
  if (blob.bytes !== undefined) return blob.bytes;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of await blob.open()) {
    total += (chunk as Buffer).length;
    if (total > max)
      throw new AlbaError('SIZE_MISMATCH', `${blob.descriptor.digest} is longer than its descriptor says (${blob.descriptor.size} bytes)`, {
        hint: 'the source is corrupt',
      });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The largest manifest or index alba reads or sends (the distribution spec's 4 MiB advice). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
