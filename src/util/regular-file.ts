/**
 * Opening a file that must be a regular one (a blob of a layout or of the cache). A FIFO planted
 * where a blob should be would make a plain open wait for a writer forever, on one of libuv's
 * four pool threads: opened `O_NONBLOCK` (no effect on a regular file), it opens at once and is
 * refused.
 */
import { constants } from 'node:fs';
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
