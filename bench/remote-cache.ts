/**
 * Remote layer cache benchmark: recipes/base.yaml for amd64, arm64, arm/v7 and 386 from a lock,
 * `--mirror apt`, on a cold runner (empty `--cache`), without and with a warm `--remote-cache` —
 * s3:// on Ceph RGW and docker:// on a distribution registry (both started here, each filled once
 * by a first build) — alternating runs. Then build + push to a registry repository that already
 * holds the layers (an earlier commit's image; each round pushes a new revision annotation, so the
 * manifests are new): with a remote cache, a push without --out takes the layers by their records
 * and reads none of their bytes. Reports wall time, peak RSS, the .deb bytes each run downloaded
 * (the .debs of the lock found in its cache afterwards) and what its cache held afterwards.
 *
 *   npx tsc -p . && node dist/bench/remote-cache.js
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LockFile } from '../src/lock/lock-types.js';
import { startRgw } from '../test/helpers/ceph-rgw.js';
import { startRegistry } from '../test/helpers/registry-server.js';
import { rgwClient, rgwEnv, s3Url } from '../test/helpers/rgw-client.js';
import { albaBin } from '../test/helpers/run-alba.js';
import { albaLock, BENCH_ARCHS, benchRecipe, fmt, markdownTable, measure, median, requireGnuTime, type MeasuredRun } from './util.js';

const RUNS = 3;

interface BuildRun extends MeasuredRun {
  debBytes: number;
  cacheBytes: number;
  index: string;
}

async function main(): Promise<void> {
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
    const build = async (extra: string[], out = true): Promise<BuildRun> => {
      const cache = join(work, `cache-${++n}`);
      const outArgs = out ? ['--out', join(work, `out-${n}`)] : [];
      const run = await measure(process.execPath, [
        albaBin,
        'build',
        recipe,
        '--mirror',
        'apt',
        '--cache',
        cache,
        ...outArgs,
        '--json',
        ...extra,
      ]);
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
      return { ...run, debBytes, cacheBytes, index: (JSON.parse(run.stdout) as { index: { digest: string } }).index.digest };
    };
    const fill = await build(['--remote-cache', remotes.s3]);
    const fillDocker = await build(['--remote-cache', remotes.docker, '--push', destination], false);
    if (fillDocker.index !== fill.index) throw new Error(`docker:// fill: index ${fillDocker.index}, not ${fill.index}`);
    console.log(
      `filled the remote caches in ${fmt(fill.wall)} s and ${fmt(fillDocker.wall)} s (${(fill.debBytes / 1e6).toFixed(1)} MB of .debs); ${destination} holds the layers`,
    );
    const cases = {
      'cold, no remote cache': [] as string[],
      'cold, warm s3:// cache': ['--remote-cache', remotes.s3, '--remote-cache-mode', 'read'],
      'cold, warm docker:// cache': ['--remote-cache', remotes.docker, '--remote-cache-mode', 'read'],
    };
    const rows: string[][] = [];
    const medians: Record<string, number> = {};
    for (const push of [false, true]) {
      const samples = new Map<string, BuildRun[]>();
      for (let i = 0; i < RUNS; i++) {
        let index: string | undefined;
        for (const [name, flags] of Object.entries(cases)) {
          // a new revision each round: new manifests, the same layers
          const pushFlags = push ? ['--push', destination, '--annotation', `org.opencontainers.image.revision=r${i}`] : [];
          const got = await build([...flags, ...pushFlags], !push);
          index ??= got.index;
          if (got.index !== (push ? index : fill.index)) throw new Error(`${name}: index ${got.index}, not ${push ? index : fill.index}`);
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
          (median(runs.map((r) => r.cacheBytes)) / 1e6).toFixed(1),
        ]);
      }
    }
    for (const line of markdownTable(['case', 'runs', 'median s', 'min s', 'peak RSS MB', '.deb MB downloaded', 'cache MB after'], rows))
      console.log(line);
    const ratio = (a: string, b: string): string => (medians[a]! / medians[b]!).toFixed(1);
    for (const backend of ['s3://', 'docker://'])
      console.log(
        `${backend}: build ${ratio('cold, no remote cache', `cold, warm ${backend} cache`)}× faster with the warm remote cache; build + push ${ratio('cold, no remote cache, + push', `cold, warm ${backend} cache, + push`)}×`,
      );
    console.log(`same index digest in every build: ${fill.index}`);
  } finally {
    await registry.close();
    await rgw.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
