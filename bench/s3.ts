/**
 * S3 push benchmark: recipes/base.yaml for 4 archs built once into a layout, then pushed to a
 * fresh bucket of Ceph RGW (started here) by `alba container push s3://…`, and the same object set
 * (every blob and manifest under v2/NAME/…, prepared as a directory) uploaded by `aws s3 sync` to
 * another fresh bucket as the yardstick, in the same script; then the no-op re-push.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { startRgw } from '../test/helpers/ceph-rgw.js';
import { BENCH_ARCHS, benchRecipe, caseCells, caseHeader, fmt, markdownTable, median, requireGnuTime, type MeasuredRun } from './util.js';
import { alba, awsSync, buildLayout, objectTree, s3ClientFor } from './peers.js';

const RUNS = 3;

async function main(): Promise<void> {
  requireGnuTime();
  const work = await mkdtemp(join(tmpdir(), 'alba-bench-s3-'));
  const rgw = await startRgw();
  try {
    const { text } = await benchRecipe(BENCH_ARCHS, false);
    const layout = join(work, 'layout');
    await buildLayout(join(work, 'base.yaml'), text, join(work, 'cache'), layout);
    const tree = await objectTree(layout, join(work, 'tree'), 'bench/base');

    const s3 = s3ClientFor(rgw);
    const albaRuns: MeasuredRun[] = [];
    const sync: MeasuredRun[] = [];
    const noop: MeasuredRun[] = [];
    for (let i = 0; i < RUNS; i++) {
      await s3.send(new CreateBucketCommand({ Bucket: `alba-${i}` }));
      await s3.send(new CreateBucketCommand({ Bucket: `sync-${i}` }));
      const target = `s3://alba-${i}?endpoint=${rgw.url}&s3ForcePathStyle=true`;
      const push = (): Promise<MeasuredRun> => alba(['container', 'push', '-t', 'bench/base:latest', layout, target]);
      albaRuns.push(await push());
      noop.push(await push());
      sync.push(await awsSync(rgw.url, tree.dir, `sync-${i}`));
    }
    const m = (runs: MeasuredRun[]): number => median(runs.map((r) => r.wall));
    const lines = [
      `push of recipes/base.yaml (${BENCH_ARCHS.join(', ')}: ${tree.objects} objects, ${(tree.bytes / 1024 / 1024).toFixed(1)} MB) to Ceph RGW 16 (memstore, 127.0.0.1), ${RUNS} runs, medians`,
      '',
      ...markdownTable(caseHeader([]), [
        caseCells('alba container push s3:// (first push)', albaRuns, []),
        caseCells('aws s3 sync of the same objects', sync, []),
        caseCells('alba no-op re-push', noop, []),
      ]),
      '',
      `first push: sync / alba = ${(m(sync) / m(albaRuns)).toFixed(2)}× (target ≥ 1: ${m(sync) >= m(albaRuns) ? 'met' : 'MISSED'})`,
      `no-op re-push: ${fmt(m(noop))} s (target < 1 s: ${m(noop) < 1 ? 'met' : 'MISSED'})`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await rgw.close();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
