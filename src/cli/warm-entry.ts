/**
 * The entry bin/alba.cjs runs before the CLI, as a CommonJS bundle of its own (dist/alba/warm.cjs,
 * scripts/bundle.mjs): `alba build` with nothing changed since its last run is answered from its
 * stamp (warm-build.ts) before the CLI's bundle is loaded (1.7 MB of code to compile or deserialize).
 * When it cannot answer, the CLI runs and asks warm-build.ts again in its own instance (a stamp
 * read, a few ms of a build), which then records the build's stamp.
 */
import { exitOnBrokenPipe, exitSoon, takeQuiet } from './process-end.js';
import { tryWarmBuild } from './warm-build.js';

/** True when `args` (the command line after `alba`) was answered, and the process is ending with 0. */
export function answerWarmBuild(args: readonly string[]): boolean {
  const argv = takeQuiet(args);
  if (argv[0] !== 'build') return false;
  const undo = exitOnBrokenPipe();
  if (!tryWarmBuild(argv)) {
    undo();
    return false;
  }
  exitSoon(0);
  return true;
}
