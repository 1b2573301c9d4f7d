import { AlbaError } from '../errors.js';

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

/** Writes one line to stdout. */
export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A repeatable option's values, for commander: `.option('--mirror <m>', '…', repeatable)`. */
export function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The value of `--index-compression` (`auto` when absent); anything else is a USAGE error. */
export function indexCompressionOption(command: string, value: string | undefined): 'auto' | 'xz' | 'gz' {
  if (value === undefined || value === 'auto' || value === 'xz' || value === 'gz') return value ?? 'auto';
  throw new AlbaError('USAGE', `alba ${command}: --index-compression ${value}: expected auto, xz or gz`, {
    hint: 'auto takes xz from snapshot.debian.org and gz from mirrors; force one for a link of unusual speed',
  });
}

/**
 * A positive integer option: a count (`--concurrency 8`), or, for a size (a flag ending in
 * `-size`: `--chunk-size 8m`), a number of bytes that may end in k, m or g (powers of 1024).
 */
export function positiveInt(text: string, flag: string, unit: 'bytes' | 'count' = flag.endsWith('-size') ? 'bytes' : 'count'): number {
  const m = (unit === 'bytes' ? /^(\d+)([kmg]?)(i?b?)$/i : /^(\d+)()()$/).exec(text.trim());
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m?.[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g'];
  const value = m === null ? NaN : Number(m[1]) * scale;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw unit === 'bytes'
      ? new AlbaError('USAGE', `${flag} ${text}: expected a positive number of bytes`, {
          hint: `e.g. ${flag} 8m (k, m, g: powers of 1024)`,
        })
      : new AlbaError('USAGE', `${flag} ${text}: expected a positive whole number`, { hint: `e.g. ${flag} 8` });
  }
  return value;
}

/** The most nodes a push stores at once: each holds a connection and a file open. */
export const MAX_CONCURRENCY = 64;

/** `--concurrency N`: a whole number from 1 to MAX_CONCURRENCY. */
export function concurrencyOption(text: string): number {
  const n = positiveInt(text, '--concurrency');
  if (n > MAX_CONCURRENCY)
    throw new AlbaError('USAGE', `--concurrency ${text}: at most ${MAX_CONCURRENCY}`, {
      hint: 'a push gains little past 8–16 at once; each holds a connection and an open file',
    });
  return n;
}

/** `{ [key]: value }` when value is defined, else `{}`: for optional properties built from options. */
export function given<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** `--annotation KEY=VALUE` options (e.g. org.opencontainers.image.revision=$GIT_SHA) as a map. */
export function parseAnnotations(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0)
      throw new AlbaError('USAGE', `--annotation ${v}: expected KEY=VALUE`, {
        hint: 'e.g. --annotation org.opencontainers.image.revision=$(git rev-parse HEAD)',
      });
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/**
 * A comma-separated option (`--arch amd64, arm64`) as its non-empty items; undefined when not
 * given. Given but naming nothing (`--arch ''`, `--arch ,,`) is USAGE: it would mean "all" unsaid.
 */
export function listOption(value: string | undefined, flag: string, example: string): string[] | undefined {
  const items = value
    ?.split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (items !== undefined && items.length === 0) {
    throw new AlbaError('USAGE', `${flag} ${JSON.stringify(value)}: names nothing`, {
      hint: `name one or more, separated by commas (e.g. ${flag} ${example}), or leave ${flag} out for all`,
    });
  }
  return items;
}
