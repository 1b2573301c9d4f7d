/**
 * Files a user names as outputs (an archive's `--out`, `--digest-file` and the other push
 * outputs). A regular file, or none, is replaced through a temp file and a rename, so readers
 * never see half of one; a symbolic link is followed (the file it names is replaced, not the link);
 * a device or a FIFO (`/dev/stdout`, Kubernetes' `/dev/termination-log`, a pipe) is written
 * through, never replaced: the rename would have put a regular file where `/dev/null` was.
 */
import { lstat, realpath, writeFile } from 'node:fs/promises';
import { AlbaError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { isMissingFile } from './regular-file.js';

/** How to write `path`: replace the file at `replace` (temp file and rename), or open `through` and write into it. */
export type OutputPath = { replace: string } | { through: string };

/** Where and how the output file `path` is written (see the file comment). */
export async function outputPath(path: string): Promise<OutputPath> {
  let info;
  try {
    info = await lstat(path);
  } catch (err) {
    if (isMissingFile(err)) return { replace: path };
    throw err;
  }
  if (info.isSymbolicLink()) {
    let real: string;
    try {
      real = await realpath(path);
    } catch (err) {
      // a link to nothing yet: opening it creates the file it names
      if (isMissingFile(err)) return { through: path };
      throw err;
    }
    return outputPath(real);
  }
  if (info.isFile()) return { replace: path };
  if (info.isDirectory()) throw new AlbaError('IO', `${path} is a directory`, { hint: 'name a file to write, not a directory' });
  return { through: path };
}

/** Writes `data` to the output file `path` (see the file comment). */
export async function writeOutputFile(path: string, data: string | Uint8Array): Promise<void> {
  const where = await outputPath(path);
  if ('through' in where) await writeFile(where.through, data);
  else await writeFileAtomic(where.replace, data);
}
