import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** How old a temp file must be before a later run removes it: a concurrent run writes to its own temp files far more often than this. */
export const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * Removes the entries of `dir` that `isTemp` recognises and that nothing has written to for
 * `olderThanMs` (temp files and directories a killed run left); returns how many went. Errors
 * (a missing dir, an entry another run removed first) are ignored.
 */
export async function removeStaleTemps(
  dir: string,
  isTemp: (name: string) => boolean,
  olderThanMs = STALE_TEMP_MS,
  now = Date.now(),
): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names.filter(isTemp)) {
    const info = await lstat(join(dir, name)).catch(() => undefined);
    if (info === undefined || now - info.mtimeMs < olderThanMs) continue;
    await rm(join(dir, name), { recursive: true, force: true }).then(
      () => removed++,
      () => undefined,
    );
  }
  return removed;
}
