/**
 * Remote layer cache benchmark: recipes/base.yaml for amd64, arm64, arm/v7 and 386 from a lock,
 * `--mirror apt`, on a cold runner (empty `--cache`), without and with a warm `--remote-cache` —
 * s3:// on Ceph RGW and docker:// on a distribution registry (both started here, each filled once
 * by a first build) — alternating runs. Then build + push to a registry repository that already
 * holds the layers (an earlier commit's image; each round pushes a new revision annotation, so the
 * manifests are new): with a remote cache, a push without --out takes the layers by their records
 * and reads none of their bytes. Reports wall time, peak RSS, the .deb bytes each run downloaded
 * (the .debs of the lock found in its cache afterwards), the layer bytes it read from the remote
 * cache (`--json` remoteCache.blobBytes) and what its cache held afterwards.
 *
 *   npx tsc -p . && node dist/bench/remote-cache.js [--runs N] [--cases build,push] [--backends s3,docker] [--baseline DIR]
 *
 * `--baseline DIR`: another checkout of alba, built (DIR/bin/alba.cjs, or bin/alba.js before it was CommonJS), runs every case too,
 * alternating with this one: before/after figures from one run.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { LockFile } from '../src/lock/lock-types.js';
import { startRgw } from '../test/helpers/ceph-rgw.js';
import { startRegistry } from '../test/helpers/registry-server.js';
import { rgwClient, rgwEnv, s3Url } from '../test/helpers/rgw-client.js';
import { albaBin } from '../test/helpers/run-alba.js';
import { albaLock, BENCH_ARCHS, benchRecipe, fmt, markdownTable, measure, median, requireGnuTime, type MeasuredRun } from './util.js';

const HELP = `usage: node dist/bench/remote-cache.js [options]
  --runs N              alternating runs of each case (default 3)
  --cases build,push    build into --out, and/or build + push without --out (default both)
  --backends s3,docker  the remote caches measured besides none (default both)
  --baseline DIR        also run DIR/bin/alba.cjs (another built checkout) in every case, alternating`;

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    cases: { type: 'string', default: 'build,push' },
    backends: { type: 'string', default: 's3,docker' },
    baseline: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
const RUNS = Math.max(1, Number(args.runs));
const listed = (value: string, allowed: readonly string[], flag: string): string[] =>
  value.split(',').map((v) => {
    if (!allowed.includes(v)) throw new Error(`${flag}: ${v} is not one of ${allowed.join(', ')}`);
    return v;
  });
const PUSH_MODES = listed(args.cases, ['build', 'push'], '--cases').map((c) => c === 'push');
const BACKENDS = listed(args.backends, ['s3', 'docker'], '--backends') as ('s3' | 'docker')[];
/** The alba binaries measured: this checkout's, and the baseline's. */
const BINS: { label: string; bin: string }[] = [
  { label: '', bin: albaBin },
  ...(args.baseline === undefined ? [] : [{ label: ' (baseline)', bin: baselineBin(resolve(args.baseline)) }]),
];

/** DIR's bin (alba.js before it became CommonJS). */
function baselineBin(dir: string): string {
  const cjs = join(dir, 'bin', 'alba.cjs');
  return existsSync(cjs) ? cjs : join(dir, 'bin', 'alba.js');
}

interface BuildRun extends MeasuredRun {
  debBytes: number;
  cacheBytes: number;
  /** Layer bytes read from the remote cache (undefined: the build does not report it). */
  layerBytes: number | undefined;
  index: string;
}

async function main(): Promise<void> {
  if (args.help) return void console.log(HELP);
  requireGnuTime();
  const work = await mkdtemp(join(tmpdir(), 'alba-bench-remote-cache-'));
  const rgw = await startRgw();
  const registry = await startRegistry();
  try {
    Object.assign(process.env, rgwEnv(rgw, work), { DOCKER_CONFIG: work });
    const s3 = rgwClient(rgw);
    await s3.send(new CreateBucketCommand({ Bucket: 'cache' }));
    const remotes = { s3: s3Url(rgw.url, 'cache'), docker: `docker://${registry.host}/alba-cache` };
    const destination = `docker://${registry.host}/base`;
    const { text } = await benchRecipe(BENCH_ARCHS, false);
    const recipe = join(work, 'base.yaml');
    await writeFile(recipe, text);
    const lock = JSON.parse(await readFile((await albaLock(recipe, join(work, 'cache-lock'))).lockPath, 'utf8')) as LockFile;
    const debs = new Set(Object.values(lock.archs).flatMap((ps) => ps.map((p) => p.sha256)));
    let n = 0;
    const build = async (extra: string[], out = true, bin = albaBin): Promise<BuildRun> => {
      const cache = join(work, `cache-${++n}`);
      const outArgs = out ? ['--out', join(work, `out-${n}`)] : [];
      // the bin run as a user runs it (its `#!` line's node options included)
      const run = await measure(bin, ['build', recipe, '--mirror', 'apt', '--cache', cache, ...outArgs, '--json', ...extra]);
      if (run.status !== 0) throw new Error(`alba build ${extra.join(' ')} failed (status ${run.status}):\n${run.stderr}`);
      const blobs = join(cache, 'blobs', 'sha256');
      let debBytes = 0;
      let cacheBytes = 0;
      for (const name of await readdir(blobs)) {
        const size = (await stat(join(blobs, name))).size;
        cacheBytes += size;
        if (debs.has(name)) debBytes += size;
      }
      await rm(cache, { recursive: true, force: true });
      await rm(join(work, `out-${n}`), { recursive: true, force: true });
      const json = JSON.parse(run.stdout) as { index: { digest: string }; remoteCache?: { blobBytes: number } };
      return { ...run, debBytes, cacheBytes, layerBytes: json.remoteCache?.blobBytes, index: json.index.digest };
    };
    const fill = await build(['--remote-cache', remotes.s3]);
    const fillDocker = await build(['--remote-cache', remotes.docker, '--push', destination], false);
    if (fillDocker.index !== fill.index) throw new Error(`docker:// fill: index ${fillDocker.index}, not ${fill.index}`);
    console.log(
      `filled the remote caches in ${fmt(fill.wall)} s and ${fmt(fillDocker.wall)} s (${(fill.debBytes / 1e6).toFixed(1)} MB of .debs); ${destination} holds the layers`,
    );
    const cases: Record<string, string[]> = {
      'cold, no remote cache': [],
      ...Object.fromEntries(
        BACKENDS.map((b) => [`cold, warm ${b}:// cache`, ['--remote-cache', remotes[b], '--remote-cache-mode', 'read']]),
      ),
    };
    const rows: string[][] = [];
    const medians: Record<string, number> = {};
    for (const push of PUSH_MODES) {
      const samples = new Map<string, BuildRun[]>();
      for (let i = 0; i < RUNS; i++) {
        // each binary its own revision each round: new manifests (none pushed by the other just before), the same layers
        const indexes = new Map<number, string>();
        for (const [name, flags] of Object.entries(cases)) {
          // the binaries in turn, the first one alternating from round to round
          for (const b of BINS.map((_, k) => (k + i) % BINS.length)) {
            const { label, bin } = BINS[b]!;
            const pushFlags = push ? ['--push', destination, '--annotation', `org.opencontainers.image.revision=r${i}-${b}`] : [];
            const got = await build([...flags, ...pushFlags], !push, bin);
            const expected = push ? (indexes.get(b) ?? got.index) : fill.index;
            indexes.set(b, expected);
            if (got.index !== expected) throw new Error(`${name}${label}: index ${got.index}, not ${expected}`);
            samples.set(`${name}${label}`, [...(samples.get(`${name}${label}`) ?? []), got]);
          }
        }
      }
      for (const [name, runs] of samples) {
        const label = `${name}${push ? ', + push' : ''}`;
        medians[label] = median(runs.map((r) => r.wall));
        rows.push([
          label,
          String(runs.length),
          fmt(medians[label]),
          fmt(Math.min(...runs.map((r) => r.wall))),
          Math.max(...runs.map((r) => r.peakRssMb)).toFixed(0),
          (median(runs.map((r) => r.debBytes)) / 1e6).toFixed(1),
          runs.every((r) => r.layerBytes !== undefined) ? (median(runs.map((r) => r.layerBytes!)) / 1e6).toFixed(1) : '–',
          (median(runs.map((r) => r.cacheBytes)) / 1e6).toFixed(1),
        ]);
      }
    }
    const header = ['case', 'runs', 'median s', 'min s', 'peak RSS MB', '.deb MB downloaded', 'layer MB from remote', 'cache MB after'];
    for (const line of markdownTable(header, rows)) console.log(line);
    const ratio = (a: string, b: string): string =>
      medians[a] === undefined || medians[b] === undefined ? '–' : `${(medians[a] / medians[b]).toFixed(1)}×`;
    for (const { label } of BINS)
      for (const backend of BACKENDS.map((b) => `${b}://`))
        console.log(
          `${backend}${label}: build ${ratio(`cold, no remote cache${label}`, `cold, warm ${backend} cache${label}`)} faster with the warm remote cache; build + push ${ratio(`cold, no remote cache${label}, + push`, `cold, warm ${backend} cache${label}, + push`)}`,
        );
    console.log(`same index digest in every build: ${fill.index}`);
  } finally {
    await registry.close();
    await rgw.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
