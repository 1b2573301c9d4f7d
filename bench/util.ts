/** Helpers shared by the benchmarks in bench/: statistics, table formatting and timed child processes. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** GNU time, used to read a child's peak resident set size. */
const GNU_TIME = '/usr/bin/time';

/** Prefix of the line GNU time appends to the child's stderr. */
const RSS_MARK = 'bench-peak-rss-kb:';

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
export function measure(command: string, args: readonly string[], options: { timeoutMs?: number; cwd?: string } = {}): Promise<MeasuredRun> {
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
      const stderr = lines.filter((l) => !l.startsWith(RSS_MARK) && !/^Command (exited with non-zero status|terminated by signal)/.test(l)).join('\n');
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr, wall, peakRssMb: peakKb / 1024 });
    });
  });
}
