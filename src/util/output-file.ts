/**
 * Files a user names as outputs (an archive's `--out`, `--digest-file` and the other push
 * outputs, the lock beside a recipe). A regular file, or none, is replaced through a temp file and
 * a rename, so readers never see half of one; a symbolic link is followed, hop by hop (the file it
 * names is replaced, or made, not the link); a device, a FIFO, or anything under /dev or /proc
 * (`/dev/stdout` — possibly a link to the file stdout is redirected to —, Kubernetes'
 * `/dev/termination-log`, a bind-mounted file) is appended to, never replaced: the rename put a
 * regular file where `/dev/null` was, and replaced the file behind `/dev/stdout > log`.
 */
import { appendFile, lstat, readlink, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { AlbaError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { isMissingFile } from './regular-file.js';

/** How to write an output: replace the file at `replace` (temp file and rename), or append `through` it. */
export type OutputPath = { replace: string } | { through: string };

/** Links followed before giving up (the kernel's own limit). */
const MAX_HOPS = 40;

/** Where and how the output file `path` is written (see the file comment). */
export async function outputPath(path: string): Promise<OutputPath> {
  let current = resolve(path);
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    if (/^\/(dev|proc)\//.test(current)) return { through: path };
    let info;
    try {
      info = await lstat(current);
    } catch (err) {
      // nothing there (or a link to nothing yet): the file is made there
      if (isMissingFile(err)) return { replace: current };
      throw err;
    }
    if (info.isSymbolicLink()) current = resolve(dirname(current), await readlink(current));
    else if (info.isFile()) return { replace: current };
    else if (info.isDirectory()) throw new AlbaError('IO', `${path} is a directory`, { hint: 'name a file to write, not a directory' });
    else return { through: path };
  }
  throw new AlbaError('IO', `${path}: more than ${MAX_HOPS} symbolic links`, { hint: 'the links loop: name the file itself' });
}

/** Writes `data` to the output file `path` (see the file comment). */
export async function writeOutputFile(path: string, data: string | Uint8Array): Promise<void> {
  const where = await outputPath(path);
  if ('through' in where) return appendFile(where.through, data);
  try {
    await writeFileAtomic(where.replace, data);
  } catch (err) {
    // a file bind-mounted into a container cannot be renamed over (EBUSY), nor a temp file made
    // beside one in a folder alba may not write: written into, as the shell's `>` would
    if (!['EBUSY', 'EXDEV', 'EACCES', 'EPERM', 'EROFS'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    await writeFile(where.replace, data);
  }
}
