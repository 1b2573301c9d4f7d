/**
 * Helpers shared by the benchmarks in bench/: statistics, table rows, timed child processes, the
 * benchmark's copy of recipes/base.yaml with its sources read from the host apt sources, and `alba lock`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { findArch, type TargetArch } from '../src/debian/arch.js';
import { readHostAptSources, type AptSource } from '../src/debian/apt-sources.js';
import type { LockTimings } from '../src/lock/lock.js';
import { repoRoot } from '../test/helpers/repo-root.js';
import { albaBin } from '../test/helpers/run-alba.js';

/** GNU time, used to read a child's peak resident set size. */
const GNU_TIME = '/usr/bin/time';

/** Prefix of the line GNU time appends to the child's stderr. */
const RSS_MARK = 'bench-peak-rss-kb:';

/** The architectures both benchmarks measure by default. */
export const BENCH_ARCHS: readonly string[] = ['amd64', 'arm64', 'arm/v7', '386'];

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Seconds with two decimals. */
export function fmt(seconds: number): string {
  return seconds.toFixed(2);
}

/** A Markdown table; columns after the first are right-aligned. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_h, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** One measured run of a benchmark case, with the tool's own stage timings when it reports them. */
export interface Sample<T extends object = object> {
  wall: number;
  peakRssMb: number;
  timings?: T;
}

/** Median wall seconds of the samples. */
export function medianWall(samples: readonly Sample[]): number {
  return median(samples.map((s) => s.wall));
}

/** Highest peak RSS (MB) of the samples. */
export function maxRss(samples: readonly Sample[]): number {
  return Math.max(...samples.map((s) => s.peakRssMb));
}

/** Table cells of one case: name, runs, median s, min s, peak RSS MB, then the median of each stage (– without timings). */
export function caseCells<K extends string>(
  name: string,
  samples: readonly Sample<Partial<Record<K, number>>>[],
  stages: readonly K[],
): string[] {
  const stage = (k: K): string => {
    const values = samples.flatMap((s) => s.timings?.[k] ?? []);
    return values.length === samples.length ? fmt(median(values)) : '–';
  };
  return [
    name,
    String(samples.length),
    fmt(medianWall(samples)),
    fmt(Math.min(...samples.map((s) => s.wall))),
    maxRss(samples).toFixed(0),
    ...stages.map(stage),
  ];
}

/** The header cells matching caseCells. */
export function caseHeader(stages: readonly string[]): string[] {
  return ['case', 'runs', 'median s', 'min s', 'peak RSS MB', ...stages];
}

/** How one child process went. */
export interface MeasuredRun {
  /** Exit status (null when killed by a signal or the timeout). */
  status: number | null;
  stdout: string;
  /** The child's stderr, without GNU time's line. */
  stderr: string;
  /** Wall seconds from spawn to exit. */
  wall: number;
  /** Peak RSS in MB of the child (or of its largest descendant), from GNU time's %M. */
  peakRssMb: number;
}

/** Throws unless GNU time is installed (Debian package `time`). */
export function requireGnuTime(): void {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} is missing: install the Debian package \`time\` (apt-get install -y time)`);
}

/** Runs `command args` under GNU time; resolves with its output, wall time and peak RSS. */
export function measure(
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number; cwd?: string } = {},
): Promise<MeasuredRun> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(GNU_TIME, ['-f', `${RSS_MARK}%M`, command, ...args], {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 600_000,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (status) => {
      const wall = (performance.now() - start) / 1000;
      const lines = Buffer.concat(err).toString('utf8').split('\n');
      const mark = lines.filter((l) => l.startsWith(RSS_MARK)).pop();
      const peakKb = mark === undefined ? Number.NaN : Number(mark.slice(RSS_MARK.length));
      const stderr = lines
        .filter((l) => !l.startsWith(RSS_MARK) && !/^Command (exited with non-zero status|terminated by signal)/.test(l))
        .join('\n');
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr, wall, peakRssMb: peakKb / 1024 });
    });
  });
}

/** The target arch named `name` (OCI name or alias); throws when unknown. */
export function archOf(name: string): TargetArch {
  const arch = findArch(name);
  if (arch === undefined) throw new Error(`unknown arch ${name}`);
  return arch;
}

/** The package sources the benchmarks use, read from the host apt sources at run time. */
export interface BenchSources {
  /** Recipe YAML replacing recipes/base.yaml's `snapshot:` and `dist:`. */
  yaml: string;
  /** The same suites as apt one-line entries (`deb [signed-by=…] URI SUITE COMPONENTS`), for apt-get and mmdebstrap. */
  aptLines: string[];
  /** The suites, for table captions. */
  suites: string[];
}

/** The benchmark's copy of recipes/base.yaml: its text and sources. */
export interface BenchRecipe {
  /** recipes/base.yaml with `archs:` set and `snapshot:`/`dist:` replaced by `sources.yaml`. */
  text: string;
  sources: BenchSources;
}

/**
 * recipes/base.yaml (or another recipe `file` of recipes/) for `archs`. By default its `snapshot:`/`dist:` become one explicit snapshot source
 * of the `debian` archive with the suites the host apt source of that dist serves (bookworm,
 * bookworm-updates): the host mirror's bookworm-security indexes for armhf and i386 do not match its
 * InRelease (and by-hash is absent), so neither alba nor apt can use them. `withSecurity` keeps the
 * recipe's sources as written and uses every host apt source of the dist.
 */
export async function benchRecipe(archs: readonly string[], withSecurity: boolean, file = 'base.yaml'): Promise<BenchRecipe> {
  const original = await readFile(join(repoRoot(), 'recipes', file), 'utf8');
  const { snapshot, dist } = parse(original) as { snapshot?: string; dist?: string };
  if (snapshot === undefined || dist === undefined) throw new Error(`recipes/${file} has no \`snapshot:\` and \`dist:\``);
  const sources = await hostSources(snapshot, dist, withSecurity);
  const text = withArchs(`${original.replace(/^(snapshot|dist):.*\n/gm, '')}${sources.yaml}`, archs);
  return { text, sources };
}

/** The recipe text with its `archs:` line replaced. */
export function withArchs(recipeText: string, archs: readonly string[]): string {
  // (a test of the match, not of a change: the recipe may already name these archs)
  if (!/^archs:.*$/m.test(recipeText)) throw new Error('the recipe has no one-line `archs:` to replace');
  return recipeText.replace(/^archs:.*$/m, `archs: [${archs.join(', ')}]`);
}

async function hostSources(snapshot: string, dist: string, withSecurity: boolean): Promise<BenchSources> {
  const { sources, files } = await readHostAptSources();
  const ofDist = (suite: string): boolean => suite === dist || suite.startsWith(`${dist}-`) || suite.startsWith(`${dist}/`);
  const wanted = (suite: string): boolean => ofDist(suite) && (withSecurity || !/security|\/updates$/.test(suite));
  const used = sources
    .filter((s) => /^https?:\/\//.test(s.uri))
    .map((s) => ({ ...s, suites: s.suites.filter(wanted) }))
    .filter((s) => s.suites.length > 0);
  const main = used.find((s) => s.suites.includes(dist));
  if (main === undefined) throw new Error(`no http(s) deb entry for suite ${dist} in the host apt sources (${files.join(', ')})`);
  const chosen = withSecurity ? used : [main];
  const suites = chosen.flatMap((s) => s.suites);
  const yaml = withSecurity
    ? `snapshot: ${snapshot}\ndist: ${dist}\n`
    : `sources:\n  - url: https://snapshot.debian.org/archive/debian/${snapshot}\n    suites: [${main.suites.join(', ')}]\n`;
  return { yaml, aptLines: chosen.flatMap(oneLineEntries), suites };
}

function oneLineEntries(source: AptSource): string[] {
  const options = source.signedBy !== undefined && source.signedBy.startsWith('/') ? `[signed-by=${source.signedBy}] ` : '';
  return source.suites.map((suite) => `deb ${options}${source.uri} ${suite} ${source.components.join(' ')}`);
}

/** One `alba lock --update --json` run. */
export interface LockRun extends Sample<LockTimings> {
  timings: LockTimings;
  /** Path of the lock file written. */
  lockPath: string;
  /** True when alba reused an earlier resolution and read no index. */
  resolutionCached: boolean;
}

/** `alba lock RECIPE --mirror apt --cache CACHE --update --json`, under GNU time; throws when it fails. */
export async function albaLock(recipe: string, cache: string): Promise<LockRun> {
  const run = await measure(albaBin, ['lock', recipe, '--mirror', 'apt', '--cache', cache, '--update', '--json']);
  if (run.status !== 0) throw new Error(`alba lock ${recipe} failed (status ${run.status}):\n${run.stderr}`);
  const out = JSON.parse(run.stdout) as { lock: string; timings: LockTimings; resolutionCached: boolean };
  return { wall: run.wall, peakRssMb: run.peakRssMb, timings: out.timings, lockPath: out.lock, resolutionCached: out.resolutionCached };
}
