import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { Duplex, PassThrough, Readable, Writable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import type * as XzWasm from 'xz-decompress';
import { AlbaError } from '../errors.js';

/** Compression formats found in Debian indexes and .deb members. */
export type Compression = 'xz' | 'gz' | 'zst' | 'none';

/** The compression implied by a file name's extension. */
export function compressionOf(fileName: string): Compression {
  if (fileName.endsWith('.xz')) return 'xz';
  if (fileName.endsWith('.gz')) return 'gz';
  if (fileName.endsWith('.zst')) return 'zst';
  return 'none';
}

const CORRUPT_HINT = 'the file is truncated or corrupt; fetch it again, or report the repository';

/** How to decompress one input. */
export interface DecompressOptions {
  /** zlib's output chunk: each chunk costs a round trip through libuv's thread pool, so a 50 MB index decodes in 256 KiB or 1 MiB chunks far faster than in the default 64 KiB. */
  chunkBytes?: number;
  /** The compressed size, when known: xz input up to IN_PROCESS_XZ_BYTES is decoded in-process. */
  inputBytes?: number;
}

/**
 * xz input up to this size is decoded in this process (xz-embedded built to WebAssembly): spawning
 * `xz` costs about 13 ms of the main thread (the fork of a large process), more than decoding a
 * .deb's control.tar.xz (under 1 ms), a small package's data.tar.xz or a small index takes; above it, a child
 * process decodes as fast and on the other core.
 */
export const IN_PROCESS_XZ_BYTES = 256 * 1024;

/**
 * A duplex stream that decompresses what is written to it; truncated or corrupt input is an
 * AlbaError DECOMPRESS_FAILED naming `what`. gzip runs in zlib on libuv's threads; xz and zstd as
 * child processes (`xz -dc -T0`, `zstd -dc`): they stream, use a second core, and are as fast as
 * any Node binding (docs/architecture.md), except small xz input (IN_PROCESS_XZ_BYTES).
 */
export function decompressor(kind: Compression, what: string, options: DecompressOptions = {}): Duplex {
  if (kind === 'none') return new PassThrough();
  if (kind === 'gz') {
    const gunzip = createGunzip({ chunkSize: options.chunkBytes ?? 64 * 1024 });
    const decoder = new Decoder(gunzip, gunzip);
    gunzip.on('error', (err) => decoder.destroy(failure(what, `gzip says ${err.message}`, err)));
    gunzip.on('end', () => decoder.finish());
    return decoder;
  }
  if (kind === 'xz' && options.inputBytes !== undefined && options.inputBytes <= IN_PROCESS_XZ_BYTES) return inProcessXz(what);
  const [tool, args] = kind === 'xz' ? ['xz', ['-dc', '-T0', '-q']] : ['zstd', ['-dc', '-q']];
  const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const decoder = new Decoder(child.stdin, child.stdout);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.on('error', () => undefined); // reported through the exit status
  child.on('error', (err: NodeJS.ErrnoException) => {
    decoder.destroy(
      err.code === 'ENOENT'
        ? new AlbaError('DECOMPRESS_FAILED', `cannot decompress ${what}: the \`${tool}\` program is not installed`, {
            hint: `install it (Debian: apt-get install ${tool === 'xz' ? 'xz-utils' : 'zstd'})`,
            cause: err,
          })
        : failure(what, err.message, err),
    );
  });
  child.on('close', (code) => {
    if (code === 0) decoder.finish();
    else decoder.destroy(failure(what, `${tool} says ${stderr.trim() || `exit status ${code}`}`));
  });
  decoder.on('close', () => child.kill());
  return decoder;
}

/** xz-decompress, loaded on first use (a build whose layers are cached never needs it). */
let xzWasm: typeof XzWasm | undefined;

/** xz decoded by xz-decompress (WebAssembly) on the main thread, a chunk at a time. */
function inProcessXz(what: string): Duplex {
  xzWasm ??= createRequire(import.meta.url)('xz-decompress') as typeof XzWasm;
  const pipe = new TransformStream<Uint8Array, Uint8Array>();
  // fed by hand: Node 20's Writable.fromWeb rejects a promise nobody handles when destroyed with writes pending
  const writer = pipe.writable.getWriter();
  const input = new Writable({
    write: (chunk: Buffer, _enc, done) => void writer.write(chunk).then(() => done(), done),
    final: (done) => void writer.close().then(() => done(), done),
    destroy: (err, done) => {
      writer.abort(err).catch(() => undefined);
      done(err);
    },
  });
  const output = Readable.fromWeb(new xzWasm.XzReadableStream(pipe.readable) as WebReadableStream<Uint8Array>);
  const decoder = new Decoder(input, output);
  input.on('error', () => undefined); // the decoding fails with it, and says why
  output.on('error', (err) => decoder.destroy(failure(what, `xz says ${xzProblem(err.message)}`, err)));
  output.on('end', () => decoder.finish());
  decoder.on('close', () => {
    input.destroy();
    output.destroy();
  });
  return decoder;
}

/** xz-decompress reports xz-embedded's status codes ("… failed with error code 7"): their meaning, as xz(1) words it. */
function xzProblem(message: string): string {
  const code = /error code (\d+)/.exec(message)?.[1];
  const meaning = code === undefined ? undefined : XZ_EMBEDDED_STATUS[Number(code)];
  return meaning === undefined ? message : `${meaning} (${message})`;
}

const XZ_EMBEDDED_STATUS: Record<number, string> = {
  2: 'unsupported type of integrity check',
  3: 'cannot allocate memory',
  4: 'memory usage limit reached',
  5: 'file format not recognized',
  6: 'unsupported options',
  7: 'compressed data is corrupt',
  8: 'unexpected end of input',
};

function failure(what: string, detail: string, cause?: unknown): AlbaError {
  return new AlbaError('DECOMPRESS_FAILED', `cannot decompress ${what}: ${detail}`, { hint: CORRUPT_HINT, cause });
}

/** Joins a writable input and a readable output; ends only when told the decoder succeeded. */
class Decoder extends Duplex {
  private outputEnded = false;
  private succeeded = false;

  constructor(
    private readonly input: Writable,
    private readonly output: Readable,
  ) {
    super();
    output.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) output.pause();
    });
    output.on('end', () => {
      this.outputEnded = true;
      this.maybeEnd();
    });
  }

  /** Marks the decoder as successful; the stream ends once all output was read. */
  finish(): void {
    this.succeeded = true;
    this.maybeEnd();
  }

  private maybeEnd(): void {
    if (this.succeeded && this.outputEnded) this.push(null);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.input.write(chunk)) done();
    else this.input.once('drain', () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.input.end();
    done();
  }

  override _read(): void {
    this.output.resume();
  }
}
