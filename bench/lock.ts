/**
 * Benchmark of `alba lock` against the host's Debian mirror, with `apt-get update` as the peer.
 *
 *   npm run bench:lock                                 (tsc -p . && node dist/bench/lock.js)
 *   node dist/bench/lock.js --archs amd64,arm64        (other architectures)
 *   node dist/bench/lock.js --with-security            (the recipe's sources as written, see bench/util.ts)
 *
 * alba: the benchmark's copy of recipes/base.yaml (bench/util.ts benchRecipe) for amd64, arm64, arm/v7
 * and 386 (or --archs), `--mirror apt --update --json`, under GNU time for the peak RSS:
 *   - cold: a fresh, empty cache each run;
 *   - warm, new resolution: the indexes cached, `<cache>/resolutions` deleted before each run;
 *   - warm, unchanged: the same cache with its resolution, which alba reuses without reading an index.
 * apt: `apt-get update` of the same architectures and suites with a private sources list and state
 * dir (the host's apt state is not touched), cold (empty lists) and warm (lists present).
 * Each case runs RUNS times, the cold runs of alba and apt-get in turn; the table shows medians.
 * Then issue 22's row (coldLockRow, also run by bench/table.ts): the cold ratio, its target and the peak RSS.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ratioRow, ratioTable, rssRow, rssTable, type RatioRow, type RssRow } from './rows.js';
import {
  albaLock,
  archOf,
  BENCH_ARCHS,
  benchRecipe,
  caseCells,
  caseHeader,
  markdownTable,
  measure,
  medianWall,
  requireGnuTime,
  type LockRun,
  type Sample,
} from './util.js';

const RUNS = 5;
/** Issue 22's targets: a cold lock of 4 archs at least 4× faster than apt-get update of the same sources; peak RSS under 128 MB. */
const TARGET = { coldSpeedup: 4, peakRssMb: 128 };

/** The row `cold alba lock, N archs` (alba vs apt-get update, cold runs alternating) and the peak RSS of alba's runs. */
export interface ColdLockRows {
  row: RatioRow;
  rss: RssRow;
}

/**
 * Issue 22's row "cold `alba lock`, 4 archs": `runs` cold `alba lock` (empty cache) and cold
 * `apt-get update` (empty lists) of the same archs and suites, alternating; with the peak RSS of alba's runs.
 */
export async function coldLockRow(
  options: { archs?: readonly string[]; runs?: number; withSecurity?: boolean } = {},
): Promise<ColdLockRows> {
  requireGnuTime();
  const archs = options.archs ?? BENCH_ARCHS;
  const work = await mkdtemp(join(tmpdir(), 'alba-bench-lock-'));
  try {
    const setup = await lockSetup(work, archs, options.withSecurity ?? false);
    const { cold, aptCold } = await coldRuns(work, setup, options.runs ?? RUNS);
    return coldRows(archs, cold, aptCold);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function coldRows(archs: readonly string[], cold: LockRun[], aptCold: Sample[]): ColdLockRows {
  return {
    row: ratioRow(`cold \`alba lock\`, ${archs.length} archs`, cold, { name: 'apt-get update', samples: aptCold }, TARGET.coldSpeedup),
    rss: rssRow('alba lock (cold)', cold, TARGET.peakRssMb),
  };
}

/** The recipe and apt's sources list of a lock benchmark, written under `work`. */
interface LockSetup {
  recipe: string;
  sourcesList: string;
  sourceParts: string;
  aptArchs: string[];
  suites: string[];
}

async function lockSetup(work: string, archs: readonly string[], withSecurity: boolean): Promise<LockSetup> {
  const { text, sources } = await benchRecipe(archs, withSecurity);
  const recipe = join(work, 'base.yaml');
  await writeFile(recipe, text);
  const sourcesList = join(work, 'apt-sources.list');
  await writeFile(sourcesList, `${sources.aptLines.join('\n')}\n`);
  const sourceParts = join(work, 'apt-source-parts');
  await mkdir(sourceParts);
  return { recipe, sourcesList, sourceParts, aptArchs: archs.map((name) => archOf(name).debian), suites: sources.suites };
}

/** The cold runs of both tools, alternating, so that a change in the mirror's or the machine's speed meets both alike. */
async function coldRuns(work: string, setup: LockSetup, runs: number): Promise<{ cold: LockRun[]; aptCold: Sample[] }> {
  const cold: LockRun[] = [];
  const aptCold: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    cold.push(expectReuse(await albaLock(setup.recipe, join(work, `cache-cold-${i}`)), false, 'cold'));
    aptCold.push(await aptUpdate(join(work, `apt-cold-${i}`), setup));
  }
  return { cold, aptCold };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { archs: { type: 'string', default: BENCH_ARCHS.join(',') }, 'with-security': { type: 'boolean', default: false } },
  });
  const albaArchs = values.archs.split(',');
  requireGnuTime();
  const work = await mkdtemp(join(tmpdir(), 'alba-bench-lock-'));
  try {
    const setup = await lockSetup(work, albaArchs, values['with-security']);
    const { recipe } = setup;
    const { cold, aptCold } = await coldRuns(work, setup, RUNS);
    const warmCache = join(work, `cache-cold-${RUNS - 1}`);
    const warmNew: LockRun[] = [];
    for (let i = 0; i < RUNS; i++) {
      await rm(join(warmCache, 'resolutions'), { recursive: true, force: true });
      warmNew.push(expectReuse(await albaLock(recipe, warmCache), false, 'warm, new resolution'));
    }
    const warmSame: LockRun[] = [];
    for (let i = 0; i < RUNS; i++) warmSame.push(expectReuse(await albaLock(recipe, warmCache), true, 'warm, unchanged'));

    const aptWarm: Sample[] = [];
    for (let i = 0; i < RUNS; i++) aptWarm.push(await aptUpdate(join(work, `apt-cold-${RUNS - 1}`), setup));

    const stages = ['releases', 'indexes', 'resolve'] as const;
    const rows = [
      caseCells('alba lock, cold (empty cache)', cold, stages),
      caseCells('alba lock, warm, new resolution', warmNew, stages),
      caseCells('alba lock, warm, unchanged (resolution reused)', warmSame, stages),
      caseCells('apt-get update, cold', aptCold, stages),
      caseCells('apt-get update, warm', aptWarm, stages),
    ];
    const ratio = (a: readonly Sample[], b: readonly Sample[]): string => (medianWall(a) / medianWall(b)).toFixed(2);
    const issue = coldRows(albaArchs, cold, aptCold);
    const out = [
      `alba lock of recipes/base.yaml for ${albaArchs.join(', ')} (--mirror apt) vs apt-get update of ${setup.aptArchs.join(', ')}; ` +
        `suites ${setup.suites.join(', ')}; node ${process.version}, ${availableParallelism()} CPUs; median of ${RUNS} runs, seconds, peak RSS in MB (max over runs)`,
      '',
      ...markdownTable(caseHeader([...stages]), rows),
      '',
      `(releases, indexes, resolve: alba lock's own stage timings from --json, medians; indexes and resolve are summed over the archs, which run up to four at a time)`,
      `ratio alba / apt-get update (wall): cold ${ratio(cold, aptCold)}, warm new resolution ${ratio(warmNew, aptWarm)}, warm unchanged ${ratio(warmSame, aptWarm)}`,
      '',
      'issue 22 (cold runs alternating with the peer):',
      '',
      ...ratioTable([issue.row]),
      '',
      ...rssTable([issue.rss, rssRow('alba lock (every case)', [...cold, ...warmNew, ...warmSame], TARGET.peakRssMb)]),
      '(apt-get update only downloads the indexes and builds its binary cache; alba lock also verifies, parses, caches and resolves them, and its wall time includes starting node)',
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The run, after checking that alba did (or did not) reuse an earlier resolution. */
function expectReuse(run: LockRun, reused: boolean, name: string): LockRun {
  if (run.resolutionCached !== reused)
    throw new Error(`${name}: alba lock reported resolutionCached ${run.resolutionCached}, expected ${reused}`);
  return run;
}

/** One `apt-get update` of the setup's archs from its sources list only, with the private state under `dir` (created when absent). */
async function aptUpdate(dir: string, setup: LockSetup): Promise<Sample> {
  for (const sub of ['lists/partial', 'cache/archives/partial']) await mkdir(join(dir, sub), { recursive: true });
  const options = [
    `APT::Architecture=${setup.aptArchs[0]}`,
    `APT::Architectures=${setup.aptArchs.join(',')}`,
    `Dir::Etc::SourceList=${setup.sourcesList}`,
    `Dir::Etc::SourceParts=${setup.sourceParts}`,
    `Dir::State::Lists=${join(dir, 'lists')}`,
    `Dir::Cache=${join(dir, 'cache')}`,
    'Dir::State::status=/dev/null',
    // The private dirs are root's and mode 0700: download as root rather than as _apt.
    'APT::Sandbox::User=root',
  ].flatMap((o) => ['-o', o]);
  const run = await measure('apt-get', ['-q', ...options, 'update']);
  if (run.status !== 0 || /^(E|W): /m.test(run.stderr))
    throw new Error(`apt-get update failed (status ${run.status}); try fewer --archs:\n${run.stderr}`);
  return { wall: run.wall, peakRssMb: run.peakRssMb };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    await main();
  } catch (err) {
    process.stderr.write(`bench/lock: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
