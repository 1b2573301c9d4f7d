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
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  albaLock,
  archOf,
  BENCH_ARCHS,
  benchRecipe,
  caseCells,
  caseHeader,
  markdownTable,
  maxRss,
  measure,
  medianWall,
  requireGnuTime,
  type LockRun,
  type Sample,
} from './util.js';

const RUNS = 5;
const { values } = parseArgs({
  options: { archs: { type: 'string', default: BENCH_ARCHS.join(',') }, 'with-security': { type: 'boolean', default: false } },
});
const ALBA_ARCHS = values.archs.split(',');
const APT_ARCHS = ALBA_ARCHS.map((name) => archOf(name).debian);

async function main(): Promise<void> {
  requireGnuTime();
  const work = await mkdtemp(join(tmpdir(), 'alba-bench-lock-'));
  try {
    const { text, sources } = await benchRecipe(ALBA_ARCHS, values['with-security']);
    const recipe = join(work, 'base.yaml');
    await writeFile(recipe, text);

    const sourcesList = join(work, 'apt-sources.list');
    await writeFile(sourcesList, `${sources.aptLines.join('\n')}\n`);
    await mkdir(join(work, 'apt-source-parts'));
    // the cold runs of both tools alternate, so that a change in the mirror's or the machine's speed meets both alike
    const cold: LockRun[] = [];
    const aptCold: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      cold.push(expectReuse(await albaLock(recipe, join(work, `cache-cold-${i}`)), false, 'cold'));
      aptCold.push(await aptUpdate(join(work, `apt-cold-${i}`), sourcesList, join(work, 'apt-source-parts')));
    }
    const warmCache = join(work, `cache-cold-${RUNS - 1}`);
    const warmNew: LockRun[] = [];
    for (let i = 0; i < RUNS; i++) {
      await rm(join(warmCache, 'resolutions'), { recursive: true, force: true });
      warmNew.push(expectReuse(await albaLock(recipe, warmCache), false, 'warm, new resolution'));
    }
    const warmSame: LockRun[] = [];
    for (let i = 0; i < RUNS; i++) warmSame.push(expectReuse(await albaLock(recipe, warmCache), true, 'warm, unchanged'));

    const aptWarm: Sample[] = [];
    for (let i = 0; i < RUNS; i++)
      aptWarm.push(await aptUpdate(join(work, `apt-cold-${RUNS - 1}`), sourcesList, join(work, 'apt-source-parts')));

    const stages = ['releases', 'indexes', 'resolve'] as const;
    const rows = [
      caseCells('alba lock, cold (empty cache)', cold, stages),
      caseCells('alba lock, warm, new resolution', warmNew, stages),
      caseCells('alba lock, warm, unchanged (resolution reused)', warmSame, stages),
      caseCells('apt-get update, cold', aptCold, stages),
      caseCells('apt-get update, warm', aptWarm, stages),
    ];
    const ratio = (a: readonly Sample[], b: readonly Sample[]): string => (medianWall(a) / medianWall(b)).toFixed(2);
    const out = [
      `alba lock of recipes/base.yaml for ${ALBA_ARCHS.join(', ')} (--mirror apt) vs apt-get update of ${APT_ARCHS.join(', ')}; ` +
        `suites ${sources.suites.join(', ')}; node ${process.version}, ${availableParallelism()} CPUs; median of ${RUNS} runs, seconds, peak RSS in MB (max over runs)`,
      '',
      ...markdownTable(caseHeader([...stages]), rows),
      '',
      `(releases, indexes, resolve: alba lock's own stage timings from --json, medians; indexes and resolve are summed over the archs, which run up to four at a time)`,
      `ratio alba / apt-get update (wall): cold ${ratio(cold, aptCold)}, warm new resolution ${ratio(warmNew, aptWarm)}, warm unchanged ${ratio(warmSame, aptWarm)}`,
      `target cold alba lock ≥ 2× faster than apt-get update: ${(medianWall(aptCold) / medianWall(cold)).toFixed(2)}× ${medianWall(aptCold) / medianWall(cold) >= 2 ? 'met' : 'MISSED'}; ` +
        `peak RSS < 200 MB: ${maxRss([...cold, ...warmNew, ...warmSame]).toFixed(0)} MB ${maxRss([...cold, ...warmNew, ...warmSame]) < 200 ? 'met' : 'MISSED'}`,
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

/** One `apt-get update` of APT_ARCHS from `sourcesList` only, with the private state under `dir` (created when absent). */
async function aptUpdate(dir: string, sourcesList: string, sourceParts: string): Promise<Sample> {
  for (const sub of ['lists/partial', 'cache/archives/partial']) await mkdir(join(dir, sub), { recursive: true });
  const options = [
    `APT::Architecture=${APT_ARCHS[0]}`,
    `APT::Architectures=${APT_ARCHS.join(',')}`,
    `Dir::Etc::SourceList=${sourcesList}`,
    `Dir::Etc::SourceParts=${sourceParts}`,
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

try {
  await main();
} catch (err) {
  process.stderr.write(`bench/lock: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
