/**
 * Opening a file that must be a regular one (a blob of a layout or of the cache). A FIFO planted
 * where a blob should be would make a plain open wait for a writer forever, on one of libuv's
 * four pool threads: opened `O_NONBLOCK` (no effect on a regular file), it opens at once and is
 * refused.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { AlbaError } from '../errors.js';

/** `path` opened for reading; undefined when it cannot be opened (missing); error[LAYOUT_INVALID] naming it when it is not a regular file. */
export async function openRegularFile(path: string): Promise<FileHandle | undefined> {
  const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
  if (file === undefined) return undefined;
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
