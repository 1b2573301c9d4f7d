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
