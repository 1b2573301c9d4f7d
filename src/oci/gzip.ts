import { Transform, type TransformCallback } from 'node:stream';
import { createGzip } from 'node:zlib';

/** gzip level of every layer alba writes. */
export const GZIP_LEVEL = 6;

/** The OS byte written in every gzip header: 3 = Unix, whatever the build platform. */
export const GZIP_OS_UNIX = 3;

/**
 * The stages of alba's deterministic gzip: Node's zlib at GZIP_LEVEL with its default header
 * (mtime 0, no name), then the header's OS byte forced to GZIP_OS_UNIX.
 */
export function deterministicGzip(): [Transform, Transform] {
  return [createGzip({ level: GZIP_LEVEL }), new GzipOsByte()];
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
