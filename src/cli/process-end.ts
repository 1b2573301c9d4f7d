/**
 * How an alba process takes `--quiet` and ends, for both of its entries: cli/main.ts, and
 * cli/warm-entry.ts, which bin/alba.cjs runs first.
 */
import { beQuiet } from './args.js';

/** `args` without `--quiet` (`-q`), anywhere in them; beQuiet() when there was one. */
export function takeQuiet(args: readonly string[]): string[] {
  const argv = args.filter((a) => a !== '--quiet' && a !== '-q');
  if (argv.length !== args.length) beQuiet();
  return argv;
}

/** A reader that goes away (`alba … | head`) ends alba quietly, as SIGPIPE ends a C program: 128 + 13. */
function brokenPipe(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE') throw err;
  process.exit(141);
}

/** From now on, EPIPE on stdout ends the process with 141; the returned function undoes it. */
export function exitOnBrokenPipe(): () => void {
  process.stdout.on('error', brokenPipe);
  return () => void process.stdout.off('error', brokenPipe);
}

/**
 * Ends the process with `status` after one more turn of the event loop rather than when it drains:
 * the connection pools' sockets and the heap's teardown cost 50-150 ms after the work is done.
 * stdout and stderr are written synchronously (files, pipes and terminals on Linux), every write
 * alba makes is awaited before this is called, and the turn lets a write to a reader that went
 * away report its EPIPE (exitOnBrokenPipe).
 */
export function exitSoon(status: number): void {
  setImmediate(() => process.exit(status));
}
