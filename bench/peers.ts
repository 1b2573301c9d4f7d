/**
 * What several benchmarks share beyond bench/util.ts: a checked run, the benchmark layout (a
 * recipe built once), and the peers alba is measured against, each one call: `node -e 0`,
 * `skopeo copy --all`, `aws s3 sync` of the same objects, `mmdebstrap --variant=extract` per arch
 * of a lock. Used by bench/push.ts, bench/s3.ts,
 * bench/table.ts and bench/curve.ts.
 */
import { copyFile, mkdir, readFile, writeFile, rm } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { readLayoutGraph } from '../src/source/layout-source.js';
import type { LockFile } from '../src/lock/lock-types.js';
import { albaBin } from '../test/helpers/run-alba.js';
import { archOf, measure, type MeasuredRun, type Sample } from './util.js';

/** The run, or an error with its stderr when it failed. */
export function succeeded(run: MeasuredRun, what = 'run'): MeasuredRun {
  if (run.status !== 0) throw new Error(`${what} failed (status ${run.status}):\n${run.stderr}`);
  return run;
}

/** The alba measured: this checkout's, or ALBA_BENCH_BIN (another checkout's bin/alba.cjs, e.g. before a change). */
export const benchAlbaBin = process.env.ALBA_BENCH_BIN ?? albaBin;

/** Which code `bin` runs, by bin/alba.cjs's rule: its bundle, or dist/src when a `tsc`-only rebuild left the bundle older (slower start-up). */
export function binRuns(bin: string): string {
  const mtime = (path: string): number => statSync(join(dirname(bin), '..', path), { throwIfNoEntry: false })?.mtimeMs ?? -1;
  // dist/alba/alba.js: the ES module bundle of alba before its CommonJS one (a baseline checkout)
  const bundle = Math.max(mtime('dist/alba/alba.cjs'), mtime('dist/alba/alba.js'));
  return bundle >= mtime('dist/src/cli/main.js') ? 'the bundle' : 'dist/src (the bundle is older: run `npm run build`)';
}

/** `alba ARGS…` under GNU time, checked; the bin is run as a user runs it (its `#!` line's node options included). */
export async function alba(args: readonly string[], what = `alba ${args[0] ?? ''}`): Promise<MeasuredRun> {
  return succeeded(await measure(benchAlbaBin, args), what);
}

/** `alba build RECIPE --mirror apt --cache CACHE --out OUT --json` (the recipe's text is written to `recipe` first). */
export async function buildLayout(recipe: string, text: string, cache: string, out: string): Promise<MeasuredRun> {
  await writeFile(recipe, text);
  return alba(['build', recipe, '--mirror', 'apt', '--cache', cache, '--out', out, '--json'], `alba build ${recipe}`);
}

/** `node -e 0`: the floor of any Node program on this machine, in the same run. */
export async function nodeStart(): Promise<MeasuredRun> {
  return succeeded(await measure(process.execPath, ['-e', '0']), 'node -e 0');
}

/** `skopeo copy --all` of the layout's `tag` to a plain-http registry at `host`. */
export async function skopeoCopy(layout: string, tag: string, host: string, repository: string): Promise<MeasuredRun> {
  return succeeded(
    await measure('skopeo', ['copy', '--all', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${host}/${repository}:${tag}`]),
    'skopeo copy',
  );
}

/** The environment the AWS CLI (and the SDK) need for a local S3 server with these keys. */
export function s3Environment(keys: { accessKey: string; secretKey: string }): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: keys.accessKey,
    AWS_SECRET_ACCESS_KEY: keys.secretKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** Sets the S3 environment of `rgw` in this process (for the AWS CLI and alba) and returns an SDK client on it, to create buckets. */
export function s3ClientFor(rgw: { url: string; accessKey: string; secretKey: string }): S3Client {
  Object.assign(process.env, s3Environment(rgw));
  // as src/sink/s3/s3-store.ts: the pinned SDK's notice about its later releases is noise
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    endpoint: rgw.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: rgw.accessKey, secretAccessKey: rgw.secretKey },
  });
}

/** The AWS CLI, from PATH (or ALBA_BENCH_AWS). */
const AWS = process.env.ALBA_BENCH_AWS ?? 'aws';

/** `aws s3 sync` of `dir` into `bucket` at `endpoint` (the S3 environment must be set). */
export async function awsSync(endpoint: string, dir: string, bucket: string): Promise<MeasuredRun> {
  return succeeded(
    await measure(AWS, ['--endpoint-url', endpoint, 's3', 'sync', '--only-show-errors', dir, `s3://${bucket}/`]),
    'aws s3 sync',
  );
}

/** The static-registry objects of the layout's image as files under `dir` (blobs and manifests by digest, the tag). */
export async function objectTree(
  layout: string,
  dir: string,
  name: string,
  tag = 'latest',
): Promise<{ dir: string; objects: number; bytes: number }> {
  const { graph } = await readLayoutGraph(layout);
  const base = join(dir, 'v2', name);
  await mkdir(join(base, 'blobs'), { recursive: true });
  await mkdir(join(base, 'manifests'), { recursive: true });
  const written = new Map<string, number>();
  const place = async (sub: string, file: string, digest: string, size: number): Promise<void> => {
    const to = join(base, sub, digest);
    if (written.has(to)) return;
    await copyFile(file, to);
    written.set(to, size);
  };
  for (const node of [...graph.images, ...graph.referrers]) {
    for (const b of node.blobs) await place('blobs', b.file as string, b.descriptor.digest, b.descriptor.size);
    await place('manifests', node.manifest.file as string, node.manifest.descriptor.digest, node.manifest.descriptor.size);
  }
  await place('manifests', graph.root.file as string, graph.root.descriptor.digest, graph.root.descriptor.size);
  await writeFile(join(base, 'manifests', tag), await readFile(graph.root.file as string));
  return { dir, objects: written.size + 1, bytes: [...written.values()].reduce((a, b) => a + b, 0) };
}

/**
 * mmdebstrap `--variant=extract --mode=root` of each arch's package list from the lock, one arch
 * after the other (as bench/build.ts: extract runs no foreign binary, so every arch works); wall is
 * their sum, RSS their max.
 */
export async function mmdebstrapLock(lock: LockFile, archs: readonly string[], aptLines: readonly string[], work: string): Promise<Sample> {
  const sample = { wall: 0, peakRssMb: 0 };
  for (const name of archs) {
    const debian = archOf(name).debian;
    const tar = join(work, `mmdebstrap-${debian}.tar`);
    const include = (lock.archs[name] ?? []).map((p) => p.name).join(',');
    const args = ['--quiet', '--variant=extract', `--include=${include}`, '--mode=root', `--architectures=${debian}`, 'bookworm', tar];
    const run = succeeded(await measure('mmdebstrap', [...args, ...aptLines]), `mmdebstrap (${debian})`);
    await rm(tar, { force: true });
    sample.wall += run.wall;
    sample.peakRssMb = Math.max(sample.peakRssMb, run.peakRssMb);
  }
  return sample;
}
