import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AlbaError } from '../errors.js';

/** A `sha256:<64 hex>` content digest; made only by parseDigest() or hashing. */
export type Digest = string & { readonly __digest: unique symbol };

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** True when `value` is a `sha256:<64 lowercase hex>` digest. */
export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

/** Validates and brands a digest string. */
export function parseDigest(value: string): Digest {
  if (!isDigest(value)) {
    throw new AlbaError('DIGEST_MISMATCH', `not a sha256 digest: ${JSON.stringify(value)}`, {
      hint: 'digests look like sha256:<64 lowercase hex characters>',
    });
  }
  return value as Digest;
}

/** Digest of a whole in-memory value. */
export function digestOf(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
}

/** The hex part of a digest. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

/** A pass-through stream that hashes and counts the bytes flowing through it. */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    done(null, chunk);
  }

  /** The digest of everything that went through; call after the stream finished. */
  digest(): Digest {
    return `sha256:${this.hash.digest('hex')}` as Digest;
  }
}
