/**
 * S3 push benchmark: recipes/base.yaml for 4 archs built once into a layout, then pushed to a
 * fresh bucket of Ceph RGW (started here) by `alba container push s3://…`, and the same object set
 * (every blob and manifest under v2/NAME/…, prepared as a directory) uploaded by `aws s3 sync` to
 * another fresh bucket as the yardstick, in the same script; then the no-op re-push.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startRgw } from '../test/helpers/ceph-rgw.js';
import { albaBin } from '../test/helpers/run-alba.js';
import { readLayoutGraph } from '../src/source/layout-source.js';
import {
  BENCH_ARCHS,
  benchRecipe,
  caseCells,
  caseHeader,
  fmt,
  markdownTable,
  measure,
  median,
  requireGnuTime,
  type MeasuredRun,
} from './util.js';

const RUNS = 3;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const AWS = '/usr/bin/aws';

async function main(): Promise<void> {
  requireGnuTime();
  const work = await mkdtemp(join(tmpdir(), 'alba-bench-s3-'));
  const rgw = await startRgw();
  try {
    const { text } = await benchRecipe(BENCH_ARCHS, false);
    const recipe = join(work, 'base.yaml');
    await writeFile(recipe, text);
    const layout = join(work, 'layout');
    ok(await measure(process.execPath, [albaBin, 'build', recipe, '--mirror', 'apt', '--cache', join(work, 'cache'), '--out', layout]));
    const tree = await objectTree(layout, join(work, 'tree'), 'bench/base');

    const env = {
      AWS_ACCESS_KEY_ID: rgw.accessKey,
      AWS_SECRET_ACCESS_KEY: rgw.secretKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_DEFAULT_REGION: 'us-east-1',
    };
    Object.assign(process.env, env);
    const s3 = new S3Client({
      endpoint: rgw.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: rgw.accessKey, secretAccessKey: rgw.secretKey },
    });
    const alba: MeasuredRun[] = [];
    const sync: MeasuredRun[] = [];
    const noop: MeasuredRun[] = [];
    for (let i = 0; i < RUNS; i++) {
      await s3.send(new CreateBucketCommand({ Bucket: `alba-${i}` }));
      await s3.send(new CreateBucketCommand({ Bucket: `sync-${i}` }));
      const target = `s3://alba-${i}?endpoint=${rgw.url}&s3ForcePathStyle=true`;
      alba.push(ok(await measure(process.execPath, [albaBin, 'container', 'push', '-t', 'bench/base:latest', layout, target])));
      noop.push(ok(await measure(process.execPath, [albaBin, 'container', 'push', '-t', 'bench/base:latest', layout, target])));
      sync.push(ok(await measure(AWS, ['--endpoint-url', rgw.url, 's3', 'sync', '--only-show-errors', tree.dir, `s3://sync-${i}/`])));
    }
    const m = (runs: MeasuredRun[]): number => median(runs.map((r) => r.wall));
    const lines = [
      `push of recipes/base.yaml (${BENCH_ARCHS.join(', ')}: ${tree.objects} objects, ${(tree.bytes / 1024 / 1024).toFixed(1)} MB) to Ceph RGW 16 (memstore, 127.0.0.1), ${RUNS} runs, medians`,
      '',
      ...markdownTable(caseHeader([]), [
        caseCells('alba container push s3:// (first push)', alba, []),
        caseCells('aws s3 sync of the same objects', sync, []),
        caseCells('alba no-op re-push', noop, []),
      ]),
      '',
      `first push: sync / alba = ${(m(sync) / m(alba)).toFixed(2)}× (target ≥ 1: ${m(sync) >= m(alba) ? 'met' : 'MISSED'})`,
      `no-op re-push: ${fmt(m(noop))} s (target < 1 s: ${m(noop) < 1 ? 'met' : 'MISSED'})`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await rgw.close();
    await rm(work, { recursive: true, force: true });
  }
}

function ok(run: MeasuredRun): MeasuredRun {
  if (run.status !== 0) throw new Error(`failed (status ${run.status}):\n${run.stderr}`);
  return run;
}

/** The static-registry objects of the layout's image as files under `dir` (blobs and manifests by digest, the tag). */
async function objectTree(layout: string, dir: string, name: string): Promise<{ dir: string; objects: number; bytes: number }> {
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
  await writeFile(join(base, 'manifests', 'latest'), await readFile(graph.root.file as string));
  return { dir, objects: written.size + 1, bytes: [...written.values()].reduce((a, b) => a + b, 0) };
}

await main();
