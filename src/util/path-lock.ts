import { readFile, rm, stat, writeFile } from 'node:fs/promises';

/** How long a lock file may stay without its holder's pid before it counts as abandoned. */
const UNWRITTEN_MS = 5000;

/** How long a writer waits for another one before giving up. */
const MAX_WAIT_MS = 30 * 60 * 1000;

/**
 * Takes the lock file `path` (created exclusively, holding this process's pid), waiting while a
 * live process holds it; a lock whose process is gone (killed) is taken over. `onWait` is told
 * once who is waited for; `tooLong` makes the error thrown when the wait is over (a file-system
 * error, such as a directory alba may not write, is thrown as it is). Returns the release function.
 */
export async function acquirePathLock(
  path: string,
  onWait: (holderPid: number) => void,
  tooLong: (holderPid: number) => Error,
  maxWaitMs = MAX_WAIT_MS,
): Promise<() => Promise<void>> {
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    const written = Number.isInteger(holder) && holder > 0;
    // a lock file without a pid yet is being written by its holder: only an old one is abandoned
    const abandoned = written ? !alive(holder) : Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0) > UNWRITTEN_MS;
    if (abandoned) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() - started > maxWaitMs) throw tooLong(holder);
    if (!told && written) {
      onWait(holder);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
