/**
 * Remote layer cache benchmark: recipes/base.yaml for amd64, arm64, arm/v7 and 386 from a lock,
 * `--mirror apt`, on a cold runner (empty `--cache`), without and with a warm `--remote-cache` on
 * Ceph RGW (started here; filled once by a first build), alternating runs; then the same as
 * build + push to another bucket of the same RGW. Reports wall time, peak RSS and the .deb bytes
 * each run downloaded (the .debs of the lock found in its cache afterwards).
 *
 *   npx tsc -p . && node dist/bench/remote-cache.js
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LockFile } from '../src/lock/lock-types.js';
import { startRgw } from '../test/helpers/ceph-rgw.js';
import { rgwClient, rgwEnv, s3Url } from '../test/helpers/rgw-client.js';
import { albaBin } from '../test/helpers/run-alba.js';
import { albaLock, BENCH_ARCHS, benchRecipe, fmt, markdownTable, measure, median, requireGnuTime, type MeasuredRun } from './util.js';

const RUNS = 3;

async function main(): Promise<void> {
  requireGnuTime();
  const work = await mkdtemp(join(tmpdir(), 'alba-bench-remote-cache-'));
  const rgw = await startRgw();
  try {
    Object.assign(process.env, rgwEnv(rgw, work));
    const s3 = rgwClient(rgw);
    await s3.send(new CreateBucketCommand({ Bucket: 'cache' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'images' }));
    const remote = s3Url(rgw.url, 'cache');
    const { text } = await benchRecipe(BENCH_ARCHS, false);
    const recipe = join(work, 'base.yaml');
    await writeFile(recipe, text);
    const lock = JSON.parse(await readFile((await albaLock(recipe, join(work, 'cache-lock'))).lockPath, 'utf8')) as LockFile;
    const debs = new Set(Object.values(lock.archs).flatMap((ps) => ps.map((p) => p.sha256)));
    let n = 0;
    const build = async (extra: string[]): Promise<MeasuredRun & { debBytes: number; index: string }> => {
      const cache = join(work, `cache-${++n}`);
      const run = await measure(process.execPath, [
        albaBin,
        'build',
        recipe,
        '--mirror',
        'apt',
        '--cache',
        cache,
        '--out',
        join(work, `out-${n}`),
        '--json',
        ...extra,
      ]);
      if (run.status !== 0) throw new Error(`alba build ${extra.join(' ')} failed (status ${run.status}):\n${run.stderr}`);
      const blobs = join(cache, 'blobs', 'sha256');
      let debBytes = 0;
      for (const name of await readdir(blobs)) if (debs.has(name)) debBytes += (await stat(join(blobs, name))).size;
      await rm(cache, { recursive: true, force: true });
      return { ...run, debBytes, index: (JSON.parse(run.stdout) as { index: { digest: string } }).index.digest };
    };
    const fill = await build(['--remote-cache', remote]);
    console.log(`filled the remote cache in ${fmt(fill.wall)} s (${(fill.debBytes / 1e6).toFixed(1)} MB of .debs)`);
    const cases = {
      'cold, no remote cache': [] as string[],
      'cold, warm remote cache': ['--remote-cache', remote, '--remote-cache-mode', 'read'],
    };
    const rows: string[][] = [];
    const medians: Record<string, number> = {};
    for (const push of [false, true]) {
      const samples = new Map<string, (MeasuredRun & { debBytes: number; index: string })[]>();
      for (let i = 0; i < RUNS; i++) {
        for (const [name, flags] of Object.entries(cases)) {
          const pushFlags = push ? ['--push', s3Url(rgw.url, 'images').replace('s3://images?', `s3://images/run${n}?`)] : [];
          const got = await build([...flags, ...pushFlags]);
          if (got.index !== fill.index) throw new Error(`${name}: index ${got.index}, not ${fill.index}`);
          samples.set(name, [...(samples.get(name) ?? []), got]);
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
        ]);
      }
    }
    for (const line of markdownTable(['case', 'runs', 'median s', 'min s', 'peak RSS MB', '.deb MB downloaded'], rows)) console.log(line);
    const ratio = (a: string, b: string): string => (medians[a]! / medians[b]!).toFixed(1);
    console.log(
      `build: ${ratio('cold, no remote cache', 'cold, warm remote cache')}× faster with the warm remote cache; build + push: ${ratio('cold, no remote cache, + push', 'cold, warm remote cache, + push')}×`,
    );
    console.log(`same index digest in every run: ${fill.index}`);
  } finally {
    await rgw.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
