/**
 * Opening a file that must be a regular one (a blob of a layout or of the cache). A FIFO planted
 * where a blob should be would make a plain open wait for a writer forever, on one of libuv's
 * four pool threads: opened `O_NONBLOCK` (no effect on a regular file), it opens at once and is
 * refused.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { AlbaError } from '../errors.js';

/**
 * `path` opened for reading. Rejects with the system's error when it does not exist (isMissingFile),
 * error[LAYOUT_INVALID] naming it when it cannot be read otherwise or is not a regular file.
 */
export async function openRegularFile(path: string): Promise<FileHandle> {
  const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch((err: unknown) => {
    if (isMissingFile(err)) throw err;
    throw new AlbaError('LAYOUT_INVALID', `${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, {
      hint: 'check its permissions, and those of the folders above it',
      cause: err,
    });
  });
  const info = await file.stat().catch(async (err: unknown) => {
    await file.close();
    throw err;
  });
  if (info.isFile()) return file;
  await file.close();
  throw new AlbaError('LAYOUT_INVALID', `${path} is not a regular file (a FIFO, a device or a directory where a blob should be)`, {
    hint: 'a blob is a plain file named by its digest; remove that entry and write the blob again',
  });
}

/** True when `err` says a file (or a folder on its path) does not exist. */
export function isMissingFile(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The largest JSON record of alba's own cache read (a lock, a layer's record). */
export const CACHED_FILE_BYTES = 64 * 1024 * 1024;

/** Why readSmallFile refuses a file, made into the caller's error. */
export type Refusal = (why: string, cause?: unknown) => Error;

/**
 * The bytes of a file a user named (a recipe, a lock, a keyring, a CA file, a docker config), at
 * most `maxBytes`: a FIFO is never waited on (opened `O_NONBLOCK`), a directory or a device
 * (`/dev/zero`) is refused before any read, and a file that grows past `maxBytes` while read
 * (`/proc`) is refused once past it. A missing file rejects with the system's error
 * (isMissingFile); anything else with `refuse(why)`.
 */
export async function readSmallFile(path: string, maxBytes: number, refuse: Refusal): Promise<Buffer> {
  const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch((err: unknown) => {
    throw isMissingFile(err) ? err : refuse(`cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
  });
  try {
    checkSmallFile(await file.stat(), maxBytes, refuse);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const { bytesRead, buffer } = await file.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, null);
      if (bytesRead === 0) return Buffer.concat(chunks);
      chunks.push(buffer.subarray(0, bytesRead));
      if ((total += bytesRead) > maxBytes) throw refuse(`has more than ${maxBytes} bytes`);
    }
  } finally {
    await file.close();
  }
}

/** readSmallFile for synchronous callers (start-up paths: the TLS options, the warm-build check). */
export function readSmallFileSync(path: string, maxBytes: number, refuse: Refusal): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw isMissingFile(err) ? err : refuse(`cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
  }
  try {
    checkSmallFile(fstatSync(fd), maxBytes, refuse);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.alloc(64 * 1024);
      const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
      if (bytesRead === 0) return Buffer.concat(chunks);
      chunks.push(buffer.subarray(0, bytesRead));
      if ((total += bytesRead) > maxBytes) throw refuse(`has more than ${maxBytes} bytes`);
    }
  } finally {
    closeSync(fd);
  }
}

function checkSmallFile(info: { isFile(): boolean; size: number }, maxBytes: number, refuse: Refusal): void {
  if (!info.isFile()) throw refuse('is not a regular file (a directory, a FIFO or a device)');
  if (info.size > maxBytes) throw refuse(`has ${info.size} bytes, more than the ${maxBytes} alba reads`);
}
