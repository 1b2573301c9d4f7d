import { readFileSync } from 'node:fs';
import { lstat, rm, stat, writeFile } from 'node:fs/promises';
import { AlbaError } from '../errors.js';
import { isMissingFile, readSmallFile, type Refusal } from './regular-file.js';

/** How long a lock file may stay without its holder's pid before it counts as abandoned. */
const UNWRITTEN_MS = 5000;

/** How long a writer waits for another one before giving up. */
const MAX_WAIT_MS = 30 * 60 * 1000;

/**
 * Takes the lock file `path` (created exclusively, holding this process's pid and start time),
 * waiting while a live process holds it; a lock whose process is gone (killed) is taken over, and
 * so is one whose pid now names another process (started at another time). Something else at
 * `path` (a directory, a FIFO) is error[IO] naming it. `onWait` is told
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
  const self = processStart(process.pid);
  let told = false;
  for (;;) {
    try {
      await writeFile(path, `${process.pid}${self === undefined ? '' : ` ${self}`}\n`, { flag: 'wx' });
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let text: string;
    try {
      text = (await readSmallFile(path, 256, notALock(path))).toString('utf8');
    } catch (err) {
      if (!isMissingFile(err)) throw err;
      // released meanwhile, or a link to nothing (which the exclusive create refuses for ever)
      if ((await lstat(path).catch(() => undefined))?.isSymbolicLink() === true) throw notALock(path)('is a symbolic link to nothing');
      continue;
    }
    const holder = /^(\d+)(?: (\d+))?\n?$/.exec(text);
    const pid = Number(holder?.[1] ?? 0);
    // a lock file without a pid yet is being written by its holder: only an old one is abandoned
    const abandoned =
      holder !== null && pid > 0
        ? !alive(pid, holder[2])
        : Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0) > UNWRITTEN_MS;
    if (abandoned) {
      if (!(await breakStale(path, text))) await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    if (Date.now() - started > maxWaitMs) throw tooLong(pid);
    if (!told && pid > 0) {
      onWait(pid);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Removes the abandoned lock at `path`, which read `seen`, unless it changed meanwhile; false when
 * another waiter is doing it. Two waiters that both judged it abandoned took turns removing it: the
 * second removed the lock the first had just created, and both wrote the layout at once (a
 * layout left missing blobs). So the removal is itself done under a lock, `PATH.break`, created
 * exclusively and held for a read and a delete (one left by a killed waiter goes after UNWRITTEN_MS).
 */
async function breakStale(path: string, seen: string): Promise<boolean> {
  const breaker = `${path}.break`;
  try {
    await writeFile(breaker, `${process.pid}\n`, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const since = (await stat(breaker).catch(() => undefined))?.mtimeMs;
    if (since !== undefined && Date.now() - since > UNWRITTEN_MS) await rm(breaker, { force: true });
    return false;
  }
  try {
    const now = await readSmallFile(path, 256, notALock(path)).catch(() => undefined);
    if (now?.toString('utf8') === seen) await rm(path, { force: true });
    return true;
  } finally {
    await rm(breaker, { force: true });
  }
}

function notALock(path: string): Refusal {
  return (why, cause) =>
    new AlbaError('IO', `${path} ${why}: it is not a lock file alba wrote`, {
      hint: 'alba keeps the lock of that output there: remove it, if no alba is writing that output',
      ...(cause === undefined ? {} : { cause }),
    });
}

/**
 * True while process `pid` runs and, when the lock recorded its start time, is still the process
 * that started then: a pid used again by another process (a CI container's pid 1 after a killed
 * job) is not a holder.
 */
function alive(pid: number, start: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (start === undefined) return true;
  const now = processStart(pid);
  return now === undefined || now === start;
}

/** When process `pid` started (field 22 of /proc/PID/stat, clock ticks since boot); undefined where there is no /proc. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may hold spaces: fields 3.. follow its last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
