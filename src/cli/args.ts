import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AlbaError } from '../errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's argv; unknown options and missing values are USAGE errors. */
export function parseCommandArgs<T extends Options>(command: string, argv: string[], options: T): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new AlbaError('USAGE', `alba ${command}: ${(err as Error).message}`, {
      hint: 'run `alba --help` for the options',
      cause: err,
    });
  }
}

/** The one positional argument a command needs. */
export function onePositional(command: string, positionals: string[], what: string): string {
  const [first] = positionals;
  if (positionals.length !== 1 || first === undefined) {
    throw new AlbaError('USAGE', `alba ${command} needs exactly one ${what}, got ${positionals.length}`, {
      hint: `alba ${command} ${what.toUpperCase()}`,
    });
  }
  return first;
}

let quiet = false;

/** `--quiet`: from now on stderrLog prints nothing and no progress is drawn (errors still are). */
export function beQuiet(): void {
  quiet = true;
}

/** True after beQuiet(). */
export function isQuiet(): boolean {
  return quiet;
}

/** A logger that writes progress lines to stderr (nothing with `--quiet`). */
export function stderrLog(line: string): void {
  if (!quiet) process.stderr.write(`${line}\n`);
}

/** The value of `--index-compression` (`auto` when absent); anything else is a USAGE error. */
export function indexCompressionOption(command: string, value: string | undefined): 'auto' | 'xz' | 'gz' {
  if (value === undefined || value === 'auto' || value === 'xz' || value === 'gz') return value ?? 'auto';
  throw new AlbaError('USAGE', `alba ${command}: --index-compression ${value}: expected auto, xz or gz`, {
    hint: 'auto takes xz from snapshot.debian.org and gz from mirrors; force one for a link of unusual speed',
  });
}
