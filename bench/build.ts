/**
 * Benchmark of `alba build` against the host's Debian mirror, with mmdebstrap as the peer.
 *
 *   npm run bench:build          (tsc -p . && node dist/bench/build.js)
 *
 * alba: a copy of recipes/base.yaml for amd64, arm64, arm/v7 and 386, `--mirror apt`:
 *   - cold, no lock: empty cache, no lock file (resolution included);
 *   - cold, locked: lock present, empty cache (download and build only);
 *   - warm: lock and cache present, nothing changed;
 *   - warm, new binary: as warm, with a `files:` entry whose per-arch content changes every run;
 *   - one package over 100 MB (BIG_PACKAGE, `resolve: explicit`, amd64), cold: peak memory.
 * Every alba run goes through GNU time for its peak RSS. mmdebstrap: `--variant=extract
 * --mode=root` of each arch's package list from the lock, the four archs one after the other.
 *
 * Suites: by default both tools use the host's bookworm entry only (bookworm, bookworm-updates):
 * the copy's `snapshot:`/`dist:` become one explicit snapshot source of the `debian` archive. The
 * host mirror's bookworm-security indexes for armhf and i386 do not match its InRelease (and
 * by-hash is absent), so neither alba nor apt can use them. `--with-security` keeps the recipe's
 * sources as written and gives mmdebstrap every host apt source.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { findArch, type TargetArch } from '../src/arch.js';
import { readHostAptSources } from '../src/debian/apt-sources.js';
import type { LockFile } from '../src/recipe/lock-types.js';
import { repoRoot } from '../test/helpers/repo-root.js';
import { albaBin } from '../test/helpers/run-alba.js';
import { fmt, markdownTable, measure, median, requireGnuTime } from './util.js';

const RUNS = 3;
const WARM_RUNS = 5;
const ALBA_ARCHS = ['amd64', 'arm64', 'arm/v7', '386'];
/** A real bookworm/main package whose .deb is 100–250 MB, almost all of it one file (a 148 MB SoundFont). */
const BIG_PACKAGE = 'fluid-soundfont-gm';
/** Size of the per-arch binary written for the "new binary" case. */
const APP_BYTES = 256 * 1024;
/** Targets from the issue. */
const TARGET = { warmSeconds: 1, coldSpeedup: 3, peakRssMb: 300 };
const WITH_SECURITY = process.argv.slice(2).includes('--with-security');

/** Seconds per stage, as printed by `alba build --json`. */
interface BuildTimings {
  download: number;
  layers: number;
  write: number;
}

/** Seconds per stage, as printed by `alba lock --json`. */
interface LockTimings {
  releases: number;
  indexes: number;
  resolve: number;
}

/** One measured run. */
interface Sample {
  wall: number;
  peakRssMb: number;
  timings?: BuildTimings;
}

/** One line of the result table. */
interface Scenario {
  name: string;
  samples: Sample[];
}

async function main(): Promise<void> {
  requireGnuTime();
  const work = await mkdtemp(join(tmpdir(), 'alba-bench-build-'));
  try {
    const original = await readFile(join(repoRoot(), 'recipes', 'base.yaml'), 'utf8');
    const base = benchSources(original);
    const recipe = join(work, 'base.yaml');
    const lockPath = join(work, 'base.lock.json');
    const out = join(work, 'out');
    await writeFile(recipe, withArchs(base, ALBA_ARCHS));

    const coldNoLock: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      await rm(lockPath, { force: true });
      coldNoLock.push(await albaBuild(recipe, join(work, `cache-nolock-${i}`), out));
    }

    const locking = await albaLock(recipe, join(work, 'cache-lock'));
    const { lock } = locking;
    const coldLocked: Sample[] = [];
    for (let i = 0; i < RUNS; i++) coldLocked.push(await albaBuild(recipe, join(work, `cache-locked-${i}`), out));

    const warmCache = join(work, `cache-locked-${RUNS - 1}`);
    const warm: Sample[] = [];
    for (let i = 0; i < WARM_RUNS; i++) warm.push(await albaBuild(recipe, warmCache, out));

    await writeFile(recipe, `${withArchs(base, ALBA_ARCHS)}files:\n  - src: dist/{os}/{arch}/app\n    dst: /usr/bin/app\n    check-elf: false\n`);
    const warmNewBinary: Sample[] = [];
    for (let i = 0; i < WARM_RUNS; i++) {
      for (const arch of ALBA_ARCHS.map(archOf)) {
        const dir = join(work, 'dist', arch.platform.os, arch.platform.architecture);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'app'), randomBytes(APP_BYTES));
      }
      warmNewBinary.push(await albaBuild(recipe, warmCache, out));
    }

    const bigRecipe = join(work, 'big.yaml');
    await writeFile(
      bigRecipe,
      `name: bench/big\ntag: latest\narchs: [amd64]\n${sourcesYaml(original)}resolve: explicit\npackages: [${BIG_PACKAGE}]\n`,
    );
    await albaLock(bigRecipe, join(work, 'cache-lock'));
    const big = [await albaBuild(bigRecipe, join(work, 'cache-big'), join(work, 'out-big'))];
    big.push(await albaBuild(bigRecipe, join(work, 'cache-big'), join(work, 'out-big')));

    const mirrors = await hostMirrorLines();
    const peer: Sample[] = [];
    for (let i = 0; i < RUNS; i++) peer.push(await mmdebstrap(lock, mirrors, work));

    const scenarios: Scenario[] = [
      { name: 'alba cold, no lock (resolve + download + build)', samples: coldNoLock },
      { name: 'alba lock alone, empty cache (part of "no lock")', samples: [locking.sample] },
      { name: 'alba cold, locked (download + build)', samples: coldLocked },
      { name: 'alba warm, nothing changed', samples: warm },
      { name: 'alba warm, new static binary per arch', samples: warmNewBinary },
      { name: `alba ${BIG_PACKAGE} amd64, cold`, samples: big.slice(0, 1) },
      { name: `alba ${BIG_PACKAGE} amd64, warm`, samples: big.slice(1) },
      { name: 'mmdebstrap extract, 4 archs in sequence', samples: peer },
    ];
    process.stdout.write(`${report(scenarios, { coldNoLock, coldLocked, warm, warmNewBinary, big, peer }, locking.stages).join('\n')}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The recipe text with its `snapshot:` and `dist:` replaced by the benchmark's sources. */
function benchSources(recipeText: string): string {
  return `${recipeText.replace(/^(snapshot|dist):.*\n/gm, '')}${sourcesYaml(recipeText)}`;
}

/** The YAML of the sources the benchmark uses (see the top of this file), from the recipe's snapshot and dist. */
function sourcesYaml(recipeText: string): string {
  const { snapshot, dist } = parse(recipeText) as { snapshot?: string; dist?: string };
  if (snapshot === undefined || dist === undefined) throw new Error('recipes/base.yaml has no `snapshot:` and `dist:`');
  return WITH_SECURITY
    ? `snapshot: ${snapshot}\ndist: ${dist}\n`
    : `sources:\n  - url: https://snapshot.debian.org/archive/debian/${snapshot}\n    suites: [${dist}, ${dist}-updates]\n`;
}

/** The recipe text with its `archs:` line replaced. */
function withArchs(recipeText: string, archs: readonly string[]): string {
  const replaced = recipeText.replace(/^archs:.*$/m, `archs: [${archs.join(', ')}]`);
  if (replaced === recipeText) throw new Error('recipes/base.yaml has no one-line `archs:` to replace');
  return replaced;
}

function archOf(name: string): TargetArch {
  const arch = findArch(name);
  if (arch === undefined) throw new Error(`unknown arch ${name}`);
  return arch;
}

/** One `alba build --json` of the recipe with this cache, under GNU time. */
async function albaBuild(recipe: string, cache: string, out: string): Promise<Sample> {
  const run = await measure(process.execPath, [albaBin, 'build', recipe, '--mirror', 'apt', '--cache', cache, '--out', out, '--json']);
  if (run.status !== 0) throw new Error(`alba build ${recipe} failed (status ${run.status}):\n${run.stderr}`);
  const { timings } = JSON.parse(run.stdout) as { timings: BuildTimings };
  return { wall: run.wall, peakRssMb: run.peakRssMb, timings };
}

/** `alba lock --update --json` of the recipe with this cache: the lock it wrote, its run and its stage timings. */
async function albaLock(recipe: string, cache: string): Promise<{ lock: LockFile; sample: Sample; stages: LockTimings }> {
  const run = await measure(process.execPath, [albaBin, 'lock', recipe, '--mirror', 'apt', '--cache', cache, '--update', '--json']);
  if (run.status !== 0) throw new Error(`alba lock ${recipe} failed (status ${run.status}):\n${run.stderr}`);
  const { lock, timings } = JSON.parse(run.stdout) as { lock: string; timings: LockTimings };
  return { lock: JSON.parse(await readFile(lock, 'utf8')) as LockFile, sample: { wall: run.wall, peakRssMb: run.peakRssMb }, stages: timings };
}

/** mmdebstrap mirror lines (`deb URI SUITE COMPONENTS`) for the host's apt sources, read now. */
async function hostMirrorLines(): Promise<string[]> {
  const { sources, files } = await readHostAptSources();
  const used = WITH_SECURITY ? sources : sources.filter((s) => s.suites.includes('bookworm'));
  if (!sources.some((s) => s.suites.includes('bookworm'))) throw new Error(`no bookworm entry in the host apt sources (${files.join(', ')})`);
  return used.flatMap((s) => s.suites.map((suite) => `deb ${s.uri} ${suite} ${s.components.join(' ')}`));
}

/** One mmdebstrap extract per arch of the lock, one after the other; wall is their sum, RSS their max. */
async function mmdebstrap(lock: LockFile, mirrors: readonly string[], work: string): Promise<Sample> {
  let wall = 0;
  let peakRssMb = 0;
  for (const name of ALBA_ARCHS) {
    const arch = archOf(name);
    const packages = (lock.archs[name] ?? []).map((p) => p.name);
    const tar = join(work, `mmdebstrap-${arch.debian}.tar`);
    const run = await measure('mmdebstrap', [
      '--quiet', '--variant=extract', `--include=${packages.join(',')}`, '--mode=root', `--architectures=${arch.debian}`, 'bookworm', tar, ...mirrors,
    ]);
    if (run.status !== 0) throw new Error(`mmdebstrap for ${arch.debian} failed (status ${run.status}):\n${run.stderr}`);
    await rm(tar, { force: true });
    wall += run.wall;
    peakRssMb = Math.max(peakRssMb, run.peakRssMb);
  }
  return { wall, peakRssMb };
}

/** The result table, the ratios and each target met or missed. */
function report(
  scenarios: readonly Scenario[],
  s: Record<'coldNoLock' | 'coldLocked' | 'warm' | 'warmNewBinary' | 'big' | 'peer', Sample[]>,
  lockStages: LockTimings,
): string[] {
  const wall = (samples: Sample[]): number => median(samples.map((x) => x.wall));
  const rss = (samples: Sample[]): number => Math.max(...samples.map((x) => x.peakRssMb));
  const stage = (samples: Sample[], k: keyof BuildTimings): string => (samples[0]?.timings === undefined ? '–' : fmt(median(samples.map((x) => x.timings![k]))));
  const rows = scenarios.map(({ name, samples }) => [
    name,
    String(samples.length),
    fmt(wall(samples)),
    fmt(Math.min(...samples.map((x) => x.wall))),
    rss(samples).toFixed(0),
    stage(samples, 'download'),
    stage(samples, 'layers'),
    stage(samples, 'write'),
  ]);
  const speedup = (cold: Sample[]): number => wall(s.peer) / wall(cold);
  const buildRss = rss([...s.coldLocked, ...s.warm, ...s.warmNewBinary, ...s.big]);
  const resolveRss = rss(s.coldNoLock);
  const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  return [
    `alba build of recipes/base.yaml for ${ALBA_ARCHS.join(', ')} (--mirror apt) vs mmdebstrap --variant=extract; ` +
      `suites ${WITH_SECURITY ? 'bookworm, -updates, -security' : 'bookworm, bookworm-updates (no -security; see bench/build.ts)'}; ` +
      `node ${process.version}, ${availableParallelism()} CPUs; seconds, peak RSS in MB (max over runs)`,
    '',
    ...markdownTable(['scenario', 'runs', 'median s', 'min s', 'peak RSS MB', 'download', 'layers', 'write'], rows),
    '',
    `(download, layers, write: alba build's own stage timings, medians; alba lock's stages: releases ${fmt(lockStages.releases)}, ` +
      `indexes ${fmt(lockStages.indexes)}, resolve ${fmt(lockStages.resolve)})`,
    '',
    `ratio mmdebstrap / alba cold: no lock ${speedup(s.coldNoLock).toFixed(2)}×, locked ${speedup(s.coldLocked).toFixed(2)}×`,
    `target warm rebuild < ${TARGET.warmSeconds} s: nothing changed ${fmt(wall(s.warm))} s ${verdict(wall(s.warm) < TARGET.warmSeconds)}, ` +
      `new binary ${fmt(wall(s.warmNewBinary))} s ${verdict(wall(s.warmNewBinary) < TARGET.warmSeconds)}`,
    `target cold ≥ ${TARGET.coldSpeedup}× faster than mmdebstrap: no lock ${verdict(speedup(s.coldNoLock) >= TARGET.coldSpeedup)}, ` +
      `locked ${verdict(speedup(s.coldLocked) >= TARGET.coldSpeedup)}`,
    `target peak RSS < ${TARGET.peakRssMb} MB: builds from a lock ${buildRss.toFixed(0)} MB ${verdict(buildRss < TARGET.peakRssMb)}, ` +
      `builds that resolve first ${resolveRss.toFixed(0)} MB ${verdict(resolveRss < TARGET.peakRssMb)}`,
    '(mmdebstrap writes one uncompressed tar per arch, with no OCI config, manifest, gzip or SBOM; it keeps no cache, so every run downloads again)',
  ];
}

await main();
