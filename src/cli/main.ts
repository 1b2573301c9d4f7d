import { AlbaError } from '../errors.js';
import { beQuiet } from './args.js';
import { printError } from './print-error.js';

async function main(args: string[]): Promise<number> {
  // --quiet (-q) anywhere: errors and the final result only
  const argv = args.filter((a) => a !== '--quiet' && a !== '-q');
  if (argv.length !== args.length) beQuiet();
  // `alba --version` answers without loading the command tree (half of alba's start-up)
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(`${(await import('../version.js')).version}\n`);
    return 0;
  }
  // `alba build` with nothing changed since its last run: answered from its stamp (warm-build.ts)
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

// A reader that goes away (`alba … | head`) ends alba quietly, as SIGPIPE ends a C program: 128 + 13.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(141);
});

// Ends after one more turn of the event loop rather than when it drains: the connection pools'
// sockets and the heap's teardown cost 50-150 ms after the work is done. stdout and stderr are
// written synchronously (files, pipes and terminals on Linux), every write alba makes is awaited
// before main() returns, and the turn lets a write to a reader that went away report its EPIPE (141 above).
const status = await main(process.argv.slice(2));
setImmediate(() => process.exit(status));
