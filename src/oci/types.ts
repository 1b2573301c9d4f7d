import type { Readable } from 'node:stream';
import type { Digest } from './digest.js';

/** An OCI platform as it appears in index entries. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  artifactType?: string;
  /** The content itself, base64, for tiny blobs (the OCI empty config). */
  data?: string;
}

/** Content with a known descriptor; open() returns a fresh stream each call. */
export interface Blob {
  descriptor: Descriptor;
  open(): Promise<Readable>;
}

/** A layer blob plus the digest of its uncompressed tar. */
export interface Layer extends Blob {
  diffId: Digest;
}
