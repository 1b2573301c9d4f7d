import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Creates directory `dir` and its missing parents (`mkdir -p`). Not Node's `mkdir(…, { recursive:
 * true })`, which loops forever where the kernel answers ENOENT for a directory made in one that
 * exists (/proc, /sys: `--out /proc/x` hung alba); here that ENOENT is thrown.
 * Synchronous: a few system calls, most often one (the directory exists).
 */
export function makeDirs(dir: string): void {
  if (made(dir, false)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeDirs(parent);
  made(dir, true);
}

/** True when `dir` is a directory now (made, or there already); false when its parent is missing and not `parentMade`. */
function made(dir: string, parentMade: boolean): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // a file (or a link to one) in the way: the EEXIST error names it
    if (code === 'EEXIST' && statSync(dir).isDirectory()) return true;
    if (code === 'ENOENT' && !parentMade) return false;
    throw err;
  }
}
