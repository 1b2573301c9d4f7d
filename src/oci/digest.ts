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

/**
 * Passes bytes through while hashing them and fails at the end (DIGEST_MISMATCH, SIZE_MISMATCH)
 * when they are not the expected content: a reader of a local file that should hold a blob never
 * passes on other bytes unnoticed.
 */
export class VerifyingStream extends Transform {
  private readonly hash = createHash('sha256');
  private size = 0;

  constructor(
    private readonly expected: { digest: string; size: number },
    /** Names the content in errors (a path). */
    private readonly what: string,
  ) {
    super();
  }

  /**
   * The last chunk read, passed on only once the next one comes or the whole is checked: a reader
   * that stores what it got once it has the size it was told (an S3 PUT) never gets all the bytes
   * of a blob that is not its digest (S3 stored them under the digest's name).
   */
  private held: Buffer | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    if (this.size > this.expected.size) return done(this.mismatch(`more than its ${this.expected.size} bytes`));
    const before = this.held;
    this.held = chunk;
    done(null, before);
  }

  override _flush(done: TransformCallback): void {
    const digest = `sha256:${this.hash.digest('hex')}`;
    if (this.size !== this.expected.size) done(this.mismatch(`${this.size} bytes, not ${this.expected.size}`));
    else if (digest !== this.expected.digest) done(this.mismatch(`its bytes hash to ${digest}`));
    else done(null, this.held);
  }

  private mismatch(detail: string): AlbaError {
    return new AlbaError(
      this.size !== this.expected.size ? 'SIZE_MISMATCH' : 'DIGEST_MISMATCH',
      `${this.what} should hold ${this.expected.digest}: ${detail}`,
      {
        hint: 'the file changed on disk (a disk error, or a tool touched it); for a build cache, build again: alba checks cached files and fetches or rebuilds corrupt ones',
      },
    );
  }
}
