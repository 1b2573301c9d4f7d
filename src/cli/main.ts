import { AlbaError } from '../errors.js';
import { printError } from './print-error.js';
import { exitOnBrokenPipe, exitSoon, takeQuiet } from './process-end.js';

async function main(args: string[]): Promise<number> {
  // --quiet (-q) anywhere: errors and the final result only
  const argv = takeQuiet(args);
  // `alba --version` answers without loading the command tree (half of alba's start-up)
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(`${(await import('../version.js')).version}\n`);
    return 0;
  }
  // `alba build` with nothing changed since its last run: answered from its stamp (warm-build.ts).
  // bin/alba.cjs asked first (warm-entry.ts); asked again here, so that a build records its stamp
  if (argv[0] === 'build' && (await import('./warm-build.js')).tryWarmBuild(argv)) return 0;
  const [{ CommanderError }, { program }] = await Promise.all([import('commander'), import('./program.js')]);
  const root = program();
  if (argv.length === 0) {
    root.outputHelp();
    return 0;
  }
  try {
    await root.parseAsync(argv, { from: 'user' });
    // a command may end with a status of its own (`alba lock --check`: 3 when packages would change)
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode === 0) return 0;
    printError(err);
    return err instanceof AlbaError && err.code === 'USAGE' ? 2 : 1;
  }
}

exitOnBrokenPipe();
// no top-level await: the bundle is CommonJS (scripts/bundle.mjs)
void main(process.argv.slice(2)).then(exitSoon);
