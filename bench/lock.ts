/**
 * Benchmark of `alba lock` against the host's Debian mirror, with `apt-get update` as the peer.
 *
 *   npm run bench:lock                                 (tsc -p . && node dist/bench/lock.js)
 *   node dist/bench/lock.js --archs amd64,arm64        (other architectures)
 *
 * alba: a copy of recipes/base.yaml for amd64, arm64, arm/v7 and 386 (or --archs), `--mirror apt`,
 * cold (a fresh cache each run) and warm (the same cache, `--update`). apt: `apt-get update` of the
 * same architectures with a private state dir (the host's apt state is not touched), cold (empty
 * lists) and warm (lists present). Each case runs RUNS times; the table shows medians.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findArch } from '../src/arch.js';
import { repoRoot } from '../test/helpers/repo-root.js';
import { runAlba } from '../test/helpers/run-alba.js';

const RUNS = 3;
const { values } = parseArgs({ options: { archs: { type: 'string', default: 'amd64,arm64,arm/v7,386' } } });
const ALBA_ARCHS = values.archs.split(',');
const APT_ARCHS = ALBA_ARCHS.map((name) => {
  const arch = findArch(name);
  if (arch === undefined) throw new Error(`unknown arch ${name}`);
  return arch.debian;
});

/** Seconds per stage, as printed by `alba lock --json`. */
interface Timings {
  releases: number;
  indexes: number;
  resolve: number;
}

/** One measured run: wall seconds, and alba's own stage timings. */
interface Sample {
  wall: number;
  timings?: Timings;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'alba-bench-lock-'));
  try {
    const recipe = join(work, 'base.yaml');
    const base = await readFile(join(repoRoot(), 'recipes', 'base.yaml'), 'utf8');
    await writeFile(recipe, base.replace(/^archs:.*$/m, `archs: [${ALBA_ARCHS.join(', ')}]`));

    const albaCold: Sample[] = [];
    for (let i = 0; i < RUNS; i++) albaCold.push(await albaLock(recipe, join(work, `cache-cold-${i}`)));
    const warmCache = join(work, `cache-cold-${RUNS - 1}`);
    const albaWarm: Sample[] = [];
    for (let i = 0; i < RUNS; i++) albaWarm.push(await albaLock(recipe, warmCache));

    const aptCold: Sample[] = [];
    for (let i = 0; i < RUNS; i++) aptCold.push(await aptUpdate(join(work, `apt-cold-${i}`)));
    const aptWarm: Sample[] = [];
    for (let i = 0; i < RUNS; i++) aptWarm.push(await aptUpdate(join(work, `apt-cold-${RUNS - 1}`)));

    const rows: [string, Sample[]][] = [
      ['alba lock, cold', albaCold],
      ['alba lock, warm', albaWarm],
      ['apt-get update, cold', aptCold],
      ['apt-get update, warm', aptWarm],
    ];
    const out: string[] = [
      `alba lock of recipes/base.yaml for ${ALBA_ARCHS.join(', ')} (--mirror apt) vs apt-get update of ${APT_ARCHS.join(', ')}; median of ${RUNS} runs, seconds`,
      '',
      `| ${['case', 'wall', 'releases', 'indexes', 'resolve', 'runs (wall)'].join(' | ')} |`,
      '|---|---:|---:|---:|---:|---|',
    ];
    for (const [name, samples] of rows) {
      const stage = (k: keyof Timings): string => (samples[0]?.timings === undefined ? '–' : fmt(median(samples.map((s) => s.timings![k]))));
      out.push(`| ${[name, fmt(median(samples.map((s) => s.wall))), stage('releases'), stage('indexes'), stage('resolve'), samples.map((s) => fmt(s.wall)).join(' ')].join(' | ')} |`);
    }
    const ratio = (a: Sample[], b: Sample[]): string => (median(a.map((s) => s.wall)) / median(b.map((s) => s.wall))).toFixed(2);
    out.push('', `ratio alba/apt (wall): cold ${ratio(albaCold, aptCold)}, warm ${ratio(albaWarm, aptWarm)}`);
    out.push('(apt-get update only downloads the indexes; alba lock also verifies, parses, caches and resolves them, and its wall time includes starting node)');
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** One `alba lock --update --json` with this cache. */
async function albaLock(recipe: string, cache: string): Promise<Sample> {
  const start = performance.now();
  const run = await runAlba(['lock', recipe, '--mirror', 'apt', '--cache', cache, '--update', '--json'], { timeoutMs: 600_000 });
  const wall = (performance.now() - start) / 1000;
  if (run.status !== 0) throw new Error(`alba lock failed (status ${run.status}); try fewer --archs:\n${run.stderr}`);
  const { timings } = JSON.parse(run.stdout) as { timings: Timings };
  return { wall, timings };
}

/** One `apt-get update` of APT_ARCHS with the private state under `dir` (created when absent). */
async function aptUpdate(dir: string): Promise<Sample> {
  for (const sub of ['lists/partial', 'cache/archives/partial']) await mkdir(join(dir, sub), { recursive: true });
  const options = [
    `APT::Architecture=${APT_ARCHS[0]}`,
    `APT::Architectures=${APT_ARCHS.join(',')}`,
    `Dir::State::Lists=${join(dir, 'lists')}`,
    `Dir::Cache=${join(dir, 'cache')}`,
    'Dir::State::status=/dev/null',
  ].flatMap((o) => ['-o', o]);
  const start = performance.now();
  const { status, stderr } = await run('apt-get', ['-q', ...options, 'update']);
  const wall = (performance.now() - start) / 1000;
  if (status !== 0) throw new Error(`apt-get update failed (status ${status}); try fewer --archs:\n${stderr}`);
  return { wall };
}

function run(command: string, args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function fmt(seconds: number): string {
  return seconds.toFixed(2);
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench/lock: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
