/**
 * Every row of issue 22's table in one run: alba and its peer alternate within each row (alba
 * first in even runs, the peer first in odd ones), so that a machine that gets busier meets both
 * alike. Prints, for each row, alba's median, the peer's, the ratio, the target and whether it is met.
 *
 *   npm run bench:table                         (tsc -p . && node dist/bench/table.js)
 *   node dist/bench/table.js --runs 5 --rows push,s3
 *   ALBA_BENCH_BIN=/other/checkout/bin/alba.cjs node dist/bench/table.js   (another alba, e.g. before a change)
 *
 * Rows (--rows, comma-separated; default all): push (first push to a local distribution registry
 * vs `skopeo copy --all`, and the no-op re-push vs `node -e 0`), s3 (the same to Ceph RGW vs
 * `aws s3 sync` of the same objects), warm (warm builds vs `node -e 0`), cold (cold builds with and
 * without a lock vs mmdebstrap), lock (cold `alba lock` vs `apt-get update`). The peak RSS row
 * gathers the alba runs of the other rows. The image: recipes/base.yaml for amd64, arm64, arm/v7,
 * 386 from the host's bookworm mirror (bench/util.ts benchRecipe).
 *
 * The cold rows come from bench/build.ts (coldBuildRows) and bench/lock.ts (coldLockRow), which run
 * alba and the peer in turn themselves (with this checkout's alba). bench/startup.ts exports no
 * case: the warm and no-op rows are thin cases here (one `alba …` run each, through bench/peers.ts).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { startRegistry } from '../test/helpers/registry-server.js';
import { startRgw } from '../test/helpers/ceph-rgw.js';
import {
  archOf,
  BENCH_ARCHS,
  benchRecipe,
  markdownTable,
  median,
  requireGnuTime,
  type BenchRecipe,
  type MeasuredRun,
  type Sample,
} from './util.js';
import { alba, awsSync, benchAlbaBin, binRuns, buildLayout, nodeStart, objectTree, s3ClientFor, skopeoCopy } from './peers.js';
import { coldBuildRows } from './build.js';
import { coldLockRow } from './lock.js';
import type { RatioRow } from './rows.js';

const ROWS = ['push', 's3', 'warm', 'cold', 'lock'] as const;
type RowGroup = (typeof ROWS)[number];

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, rows: { type: 'string', default: ROWS.join(',') } } });
const RUNS = Math.max(1, Number(values.runs));
const WANTED = new Set(values.rows.split(',').map((r) => r.trim()));
for (const r of WANTED) if (!(ROWS as readonly string[]).includes(r)) throw new Error(`--rows: unknown row ${r} (${ROWS.join(', ')})`);

/** Measured runs of one side of a row. */
type Runs = { wall: number; peakRssMb: number }[];

/** One row of the printed table. */
interface Row {
  name: string;
  alba: string;
  peer: string;
  ratio: string;
  target: string;
  met: boolean | undefined;
}

const m = (runs: Runs): number => median(runs.map((r) => r.wall));
const s = (x: number): string => `${x.toFixed(2)} s`;
const peakOf = (runs: Runs): number => Math.max(...runs.map((r) => r.peakRssMb));

/** A row where the peer is the slower tool: ratio = peer / alba, met when ≥ `atLeast`. */
function fasterRow(name: string, albaRuns: Runs, peerName: string, peerRuns: Runs, atLeast: number, note = ''): Row {
  const ratio = m(peerRuns) / m(albaRuns);
  return {
    name,
    alba: `${s(m(albaRuns))}${note}`,
    peer: `${peerName} ${s(m(peerRuns))}`,
    ratio: `${ratio.toFixed(2)}×${ratio < 1 ? ' (slower)' : ''}`,
    target: `≥ ${atLeast}× faster than ${peerName.replace(/`/g, '').split(' ')[0]}`,
    met: ratio >= atLeast,
  };
}

/** A row measured against Node's start-up: ratio = alba / node, met when ≤ `atMost`. */
function startupRow(name: string, albaRuns: Runs, node: Runs, atMost: number): Row {
  const ratio = m(albaRuns) / m(node);
  return {
    name,
    alba: s(m(albaRuns)),
    peer: `\`node -e 0\` ${s(m(node))}`,
    ratio: `${ratio.toFixed(2)}× Node's start`,
    target: `≤ ${atMost}× Node's start-up`,
    met: ratio <= atMost,
  };
}

/** Alternates the two sides of a row, `runs` times. */
async function alternate(runs: number, a: (i: number) => Promise<void>, b: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      await a(i);
      await b(i);
    } else {
      await b(i);
      await a(i);
    }
  }
}

interface Context {
  work: string;
  bench: BenchRecipe;
  /** The 4-arch layout (built once, for the push rows). */
  layout?: string;
  rss: { resolving: Runs; locked: Runs; push: Runs; mmdebstrap: Runs; skopeo: Runs };
}

async function layoutOf(ctx: Context): Promise<string> {
  if (ctx.layout === undefined) {
    ctx.layout = join(ctx.work, 'layout');
    await buildLayout(join(ctx.work, 'layout.yaml'), ctx.bench.text, join(ctx.work, 'layout-cache'), ctx.layout);
  }
  return ctx.layout;
}

async function pushRows(ctx: Context): Promise<Row[]> {
  const layout = await layoutOf(ctx);
  const first: Runs = [];
  const noop: Runs = [];
  const node: Runs = [];
  const skopeo: MeasuredRun[] = [];
  await alternate(
    RUNS,
    async (i) => {
      const reg = await startRegistry();
      const push = (): Promise<MeasuredRun> =>
        alba([
          'container',
          'push',
          '--cache',
          join(ctx.work, `push-cache-${i}`),
          '-t',
          'bench/base:latest',
          layout,
          `docker://${reg.host}`,
        ]);
      first.push(await push());
      noop.push(await push());
      node.push(await nodeStart());
      await reg.close();
    },
    async () => {
      const reg = await startRegistry();
      skopeo.push(await skopeoCopy(layout, 'latest', reg.host, 'bench/base'));
      await reg.close();
    },
  );
  ctx.rss.push.push(...first, ...noop);
  ctx.rss.skopeo.push(...skopeo);
  return [
    fasterRow('first push of the 4-arch base image to a local registry', first, '`skopeo copy --all`', skopeo, 1.5),
    startupRow('no-op re-push (registry)', noop, node, 2),
  ];
}

async function s3Rows(ctx: Context): Promise<Row[]> {
  const layout = await layoutOf(ctx);
  const tree = await objectTree(layout, join(ctx.work, 'tree'), 'bench/base');
  const rgw = await startRgw();
  try {
    const client = s3ClientFor(rgw);
    const first: Runs = [];
    const noop: Runs = [];
    const node: Runs = [];
    const sync: Runs = [];
    const bare: Runs = [];
    await alternate(
      RUNS,
      async (i) => {
        const push = (bucket: string, extra: string[] = []): Promise<MeasuredRun> =>
          alba([
            'container',
            'push',
            ...extra,
            '-t',
            'bench/base:latest',
            layout,
            `s3://${bucket}?endpoint=${rgw.url}&s3ForcePathStyle=true`,
          ]);
        for (const b of [`alba-${i}`, `bare-${i}`]) await client.send(new CreateBucketCommand({ Bucket: b }));
        first.push(await push(`alba-${i}`));
        noop.push(await push(`alba-${i}`));
        node.push(await nodeStart());
        // without the download pages, which the sync does not write (docs/s3.md)
        bare.push(await push(`bare-${i}`, ['--no-pages']));
      },
      async (i) => {
        await client.send(new CreateBucketCommand({ Bucket: `sync-${i}` }));
        sync.push(await awsSync(rgw.url, tree.dir, `sync-${i}`));
      },
    );
    client.destroy();
    ctx.rss.push.push(...first, ...noop);
    return [
      fasterRow(`first push of the same to RGW (${tree.objects} objects)`, first, '`aws s3 sync` of the same objects', sync, 1.5),
      fasterRow('… the same, `--no-pages`', bare, '`aws s3 sync` of the same objects', sync, 1.5),
      startupRow('no-op re-push (S3)', noop, node, 2),
    ];
  } finally {
    await rgw.close();
  }
}

async function warmRows(ctx: Context): Promise<Row[]> {
  const recipe = join(ctx.work, 'warm.yaml');
  const cache = join(ctx.work, 'warm-cache');
  const out = join(ctx.work, 'warm-out');
  await writeFile(recipe, ctx.bench.text);
  await alba(['lock', recipe, '--mirror', 'apt', '--cache', cache, '--update', '--json']);
  await buildLayout(recipe, ctx.bench.text, cache, out);
  const build = (): Promise<MeasuredRun> => alba(['build', recipe, '--mirror', 'apt', '--cache', cache, '--out', out, '--json']);
  const warm: Runs = [];
  const node: Runs = [];
  await alternate(
    RUNS,
    async () => void warm.push(await build()),
    async () => void node.push(await nodeStart()),
  );
  // a `files:` entry whose per-arch binary changes before every run (as bench/build.ts)
  await writeFile(recipe, `${ctx.bench.text}files:\n  - src: dist/{os}/{arch}/app\n    dst: /usr/bin/app\n    check-elf: false\n`);
  const writeBinaries = async (): Promise<void> => {
    for (const arch of BENCH_ARCHS.map(archOf)) {
      const dir = join(ctx.work, 'dist', arch.platform.os, arch.platform.architecture);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'app'), randomBytes(256 * 1024));
    }
  };
  await writeBinaries();
  await build(); // the first build with the files: entry makes its layer for the first time
  const newBinary: Runs = [];
  const node2: Runs = [];
  await alternate(
    RUNS,
    async () => {
      await writeBinaries();
      newBinary.push(await build());
    },
    async () => void node2.push(await nodeStart()),
  );
  ctx.rss.locked.push(...warm, ...newBinary);
  return [startupRow('warm build, nothing changed', warm, node, 1.5), startupRow('warm build, new static binary', newBinary, node2, 2)];
}

/** An issue row bench/build.ts or bench/lock.ts measured (alba and its peer in turn), as a row of this table. */
function fromRatioRow(r: RatioRow, note = ''): Row {
  return fasterRow(r.name, r.alba, `${r.peer.name}`, r.peer.samples, r.target, note);
}

async function coldRows(ctx: Context): Promise<Row[]> {
  const rows = await coldBuildRows({ runs: RUNS });
  ctx.rss.resolving.push(...rows.noLock.alba);
  ctx.rss.locked.push(...rows.locked.alba);
  ctx.rss.mmdebstrap.push(...rows.noLock.peer.samples);
  // downloads and package layers: before build() (prefetch, every arch at once) and what build() still had to make
  const layers = rows.locked.alba.flatMap((x) => {
    const t = (x as Sample<{ layers?: number; prefetch?: number }>).timings;
    return t?.layers === undefined ? [] : [t.layers + (t.prefetch ?? 0)];
  });
  return [
    fromRatioRow(rows.noLock),
    fromRatioRow(rows.locked, layers.length === 0 ? '' : ` (downloads and layers ${median(layers).toFixed(2)} s of it)`),
  ];
}

async function lockRows(ctx: Context): Promise<Row[]> {
  const { row } = await coldLockRow({ runs: RUNS });
  ctx.rss.resolving.push(...row.alba);
  return [fromRatioRow(row)];
}

function rssRow(ctx: Context): Row {
  const parts = [ctx.rss.resolving, ctx.rss.locked, ctx.rss.push];
  const shown = parts.map((p) => (p.length === 0 ? '–' : peakOf(p).toFixed(0))).join(' / ');
  const peers = [
    ...(ctx.rss.mmdebstrap.length === 0 ? [] : [`mmdebstrap ${peakOf(ctx.rss.mmdebstrap).toFixed(0)} MB`]),
    ...(ctx.rss.skopeo.length === 0 ? [] : [`skopeo ${peakOf(ctx.rss.skopeo).toFixed(0)} MB`]),
  ];
  const measured = parts.filter((p) => p.length > 0);
  return {
    name: 'peak RSS (resolving / from a lock / push)',
    alba: `${shown} MB`,
    peer: peers.join(', ') || '–',
    ratio: '—',
    target: '< 128 MB everywhere',
    met: measured.length === 0 ? undefined : measured.every((p) => peakOf(p) < 128),
  };
}

async function main(): Promise<void> {
  requireGnuTime();
  const work = await mkdtemp(join(tmpdir(), 'alba-bench-table-'));
  try {
    const ctx: Context = {
      work,
      bench: await benchRecipe(BENCH_ARCHS, false),
      rss: { resolving: [], locked: [], push: [], mmdebstrap: [], skopeo: [] },
    };
    const groups: Record<RowGroup, (c: Context) => Promise<Row[]>> = {
      push: pushRows,
      s3: s3Rows,
      warm: warmRows,
      cold: coldRows,
      lock: lockRows,
    };
    const rows: Row[] = [];
    for (const group of ROWS) {
      if (!WANTED.has(group)) continue;
      process.stderr.write(`bench/table: ${group}…\n`);
      rows.push(...(await groups[group](ctx)));
    }
    rows.push(rssRow(ctx));
    const verdict = (met: boolean | undefined): string => (met === undefined ? '–' : met ? 'met' : 'MISSED');
    const lines = [
      `issue 22's table: ${benchAlbaBin} (running ${binRuns(benchAlbaBin)}), recipes/base.yaml for ${BENCH_ARCHS.join(', ')} (suites ${ctx.bench.sources.suites.join(', ')}); ` +
        `medians of ${RUNS} runs, alba and the peer alternating; node ${process.version}, ${availableParallelism()} CPUs`,
      '',
      ...markdownTable(
        ['case', 'alba', 'peer, same run', 'ratio now', 'target', 'met'],
        rows.map((r) => [r.name, r.alba, r.peer, r.ratio, r.target, verdict(r.met)]),
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
