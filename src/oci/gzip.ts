import { Transform, type TransformCallback } from 'node:stream';
import { createGzip } from 'node:zlib';

/** gzip level of every layer alba writes. */
export const GZIP_LEVEL = 6;

/** The OS byte written in every gzip header: 3 = Unix, whatever the build platform. */
export const GZIP_OS_UNIX = 3;

/** Input is handed to zlib in chunks of at least this size, and zlib's output comes in chunks of this size. */
const ZLIB_CHUNK_BYTES = 128 * 1024;

/**
 * The stages of alba's deterministic gzip: small chunks joined (each write to zlib is a round trip
 * through libuv's thread pool, and a tar stream is mostly 512-byte headers and small files; deflate's
 * output does not depend on how its input is cut), Node's zlib at GZIP_LEVEL with its default
 * header (mtime 0, no name), then the header's OS byte forced to GZIP_OS_UNIX.
 */
export function deterministicGzip(): [Transform, Transform, Transform] {
  return [new JoinChunks(ZLIB_CHUNK_BYTES), createGzip({ level: GZIP_LEVEL, chunkSize: ZLIB_CHUNK_BYTES }), new GzipOsByte()];
}

/** Passes its input on in chunks of at least `bytes` (the last one may be shorter), except chunks of a quarter of that or more, passed on as they are, in order. */
class JoinChunks extends Transform {
  private held: Buffer[] = [];
  private size = 0;

  constructor(private readonly bytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (chunk.length >= this.bytes / 4) {
      // large enough alone: passed on as it is (no copy)
      if (this.size > 0) this.release();
      this.push(chunk);
      return done();
    }
    this.held.push(chunk);
    this.size += chunk.length;
    if (this.size >= this.bytes) this.release();
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.size > 0) this.release();
    done();
  }

  private release(): void {
    this.push(this.held.length === 1 ? this.held[0] : Buffer.concat(this.held, this.size));
    this.held = [];
    this.size = 0;
  }
}

/** Sets byte 9 of a gzip stream (the OS field of its header) to GZIP_OS_UNIX. */
class GzipOsByte extends Transform {
  private seen = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const at = 9 - this.seen;
    if (at >= 0 && at < chunk.length) chunk[at] = GZIP_OS_UNIX;
    this.seen += chunk.length;
    done(null, chunk);
  }
}
