/**
 * The cost curve: images of about 10, 50 and 150 packages for 1, 2 and 4 archs, each built cold
 * (empty cache, no lock: resolution included) and warm (the same cache, and the lock `alba lock`
 * then wrote, nothing changed); time and peak RSS of each case, and the ratio to mmdebstrap, which builds the same
 * package lists (`--variant=extract`, one arch after the other, as bench/build.ts; it has no cache,
 * so cold and warm are one figure for it). Prints a Markdown table, then checks that time grows at
 * most linearly with packages × archs (relative to the smallest case) and that peak RSS stays
 * under 128 MB at the largest case; writes the plot as a hand-made SVG.
 *
 *   npm run bench:curve                        (tsc -p . && node dist/bench/curve.js)
 *   node dist/bench/curve.js --sizes small,medium --archs 1,2 --reps 2 --no-peer --svg /tmp/curve.svg
 *
 * The images: the packages of recipes/base.yaml (small, ~10 with their dependencies); with
 * Python 3.11 (python3.yaml's) and nodejs (medium, ~50); with python3, nodejs, perl, git, curl,
 * gnupg, librsvg2 and pango (large, ~150); `resolve: dependencies` and base.yaml's excludes (plus
 * python3.yaml's); the host's bookworm mirror (bench/util.ts benchRecipe), as every bench.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { LockFile } from '../src/lock/lock-types.js';
import { repoRoot } from '../test/helpers/repo-root.js';
import { BENCH_ARCHS, benchRecipe, markdownTable, median, requireGnuTime, type Sample } from './util.js';
import { alba, benchAlbaBin, mmdebstrapLock } from './peers.js';

const BASE = ['base-files', 'netbase', 'media-types', 'tzdata', 'ca-certificates', 'libc6', 'libssl3'];
const SIZES = {
  small: BASE,
  medium: [...BASE, 'python3-minimal', 'python3.11-minimal', 'libpython3.11-stdlib', 'nodejs'],
  large: [...BASE, 'python3', 'nodejs', 'perl', 'git', 'curl', 'gnupg', 'librsvg2-2', 'libpango-1.0-0'],
} as const;
type Size = keyof typeof SIZES;
const EXCLUDE = ['awk', 'debconf', 'openssl', 'dpkg', 'libnsl2'];
const ARCH_SETS: Record<string, readonly string[]> = { '1': BENCH_ARCHS.slice(0, 1), '2': BENCH_ARCHS.slice(0, 2), '4': BENCH_ARCHS };
const RSS_LIMIT_MB = 128;

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: Object.keys(SIZES).join(',') },
    archs: { type: 'string', default: Object.keys(ARCH_SETS).join(',') },
    reps: { type: 'string', default: '1' },
    'no-peer': { type: 'boolean', default: false },
    svg: { type: 'string', default: join(repoRoot(), 'docs', 'cost-curve.svg') },
  },
});
const sizes = values.sizes.split(',').map((x) => {
  if (!(x in SIZES)) throw new Error(`--sizes: unknown size ${x} (${Object.keys(SIZES).join(', ')})`);
  return x as Size;
});
const archSets = values.archs.split(',').map((x) => {
  const set = ARCH_SETS[x];
  if (set === undefined) throw new Error(`--archs: ${x} is not one of ${Object.keys(ARCH_SETS).join(', ')}`);
  return set;
});
const REPS = Math.max(1, Number(values.reps));

/** One measured case. */
export interface Case {
  size: Size;
  archs: readonly string[];
  /** Packages per arch in the lock (the largest arch's count). */
  packages: number;
  cold: Sample[];
  warm: Sample[];
  /** mmdebstrap of the same lists, the archs in sequence (one sample per rep). */
  peer: Sample[];
}

const units = (c: Case): number => c.packages * c.archs.length;
const wall = (samples: readonly Sample[]): number => median(samples.map((x) => x.wall));
const rss = (samples: readonly Sample[]): number => Math.max(...samples.map((x) => x.peakRssMb));

/** The curve recipe of `size` for `archs`, with the benchmark's sources. */
async function recipeText(size: Size, archs: readonly string[]): Promise<string> {
  const { sources } = await benchRecipe(archs, false);
  return [
    `name: bench/curve-${size}`,
    'tag: latest',
    `archs: [${archs.join(', ')}]`,
    sources.yaml.trimEnd(),
    'resolve: dependencies',
    `packages: [${SIZES[size].join(', ')}]`,
    `exclude: [${EXCLUDE.join(', ')}]`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  requireGnuTime();
  const work = await mkdtemp(join(tmpdir(), 'alba-bench-curve-'));
  const aptLines = (await benchRecipe(BENCH_ARCHS, false)).sources.aptLines;
  const cases: Case[] = [];
  /** mmdebstrap seconds and RSS per size, arch and rep: a case of several archs is their sum, as in sequence. */
  const peerRuns = new Map<string, Sample>();
  try {
    for (const size of sizes) {
      for (const archs of archSets) {
        const recipe = join(work, `curve-${size}-${archs.length}.yaml`);
        await writeFile(recipe, await recipeText(size, archs));
        const c: Case = { size, archs, packages: 0, cold: [], warm: [], peer: [] };
        for (let rep = 0; rep < REPS; rep++) {
          process.stderr.write(`bench/curve: ${size}, ${archs.length} arch(s), rep ${rep + 1}/${REPS}\n`);
          const cache = join(work, `cache-${size}-${archs.length}-${rep}`);
          // one more try after a failure: a mirror that stops answering once must not cost the whole curve
          const build = async (): Promise<Sample> =>
            alba(['build', recipe, '--mirror', 'apt', '--cache', cache, '--out', join(work, 'out'), '--json']).catch((err: unknown) => {
              process.stderr.write(`bench/curve: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}; once more\n`);
              return alba(['build', recipe, '--mirror', 'apt', '--cache', cache, '--out', join(work, 'out'), '--json']);
            });
          const lockPath = join(work, `curve-${size}-${archs.length}.lock.json`);
          await rm(lockPath, { force: true });
          c.cold.push(await build());
          // alba build writes no lock: `alba lock` (not timed; the cache holds what it reads) writes it for the warm run and mmdebstrap
          await alba(['lock', recipe, '--mirror', 'apt', '--cache', cache, '--update', '--json']);
          c.warm.push(await build());
          await rm(cache, { recursive: true, force: true });
          const lock = JSON.parse(await readFile(lockPath, 'utf8')) as LockFile;
          c.packages = Math.max(...archs.map((a) => lock.archs[a]?.length ?? 0));
          if (values['no-peer']) continue;
          const sample: Sample = { wall: 0, peakRssMb: 0 };
          for (const arch of archs) {
            const key = `${size} ${arch} ${rep}`;
            let one = peerRuns.get(key);
            if (one === undefined) {
              one = await mmdebstrapLock(lock, [arch], aptLines, work);
              peerRuns.set(key, one);
            }
            sample.wall += one.wall;
            sample.peakRssMb = Math.max(sample.peakRssMb, one.peakRssMb);
          }
          c.peer.push(sample);
        }
        cases.push(c);
        // each case as it ends, so that a long run that is stopped still tells what it measured
        process.stderr.write(
          `bench/curve: ${size} ${c.packages} packages × ${archs.length}: cold ${wall(c.cold).toFixed(2)} s ${rss(c.cold).toFixed(0)} MB, ` +
            `warm ${wall(c.warm).toFixed(2)} s ${rss(c.warm).toFixed(0)} MB${c.peer.length === 0 ? '' : `, mmdebstrap ${wall(c.peer).toFixed(2)} s ${rss(c.peer).toFixed(0)} MB`}\n`,
        );
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const out = report(cases);
  process.stdout.write(`${out.join('\n')}\n`);
  if (values.svg !== '') {
    await writeFile(values.svg, svg(cases));
    process.stdout.write(`\nplot written to ${values.svg}\n`);
  }
}

/** The table, then the two checks. */
export function report(cases: readonly Case[]): string[] {
  const first = [...cases].sort((a, b) => units(a) - units(b))[0];
  const ratio = (c: Case, samples: readonly Sample[]): string =>
    c.peer.length === 0 ? '–' : `${(wall(c.peer) / wall(samples)).toFixed(2)}×`;
  const rows = cases.map((c) => [
    c.size,
    String(c.packages),
    String(c.archs.length),
    String(units(c)),
    wall(c.cold).toFixed(2),
    rss(c.cold).toFixed(0),
    wall(c.warm).toFixed(2),
    rss(c.warm).toFixed(0),
    c.peer.length === 0 ? '–' : wall(c.peer).toFixed(2),
    ratio(c, c.cold),
    ratio(c, c.warm),
    first === undefined ? '–' : `${(wall(c.cold) / wall(first.cold)).toFixed(2)} / ${(units(c) / units(first)).toFixed(2)}`,
  ]);
  const linear = first === undefined || cases.every((c) => wall(c.cold) / wall(first.cold) <= units(c) / units(first));
  const largest = [...cases].sort((a, b) => units(b) - units(a))[0];
  const peak = largest === undefined ? 0 : Math.max(rss(largest.cold), rss(largest.warm));
  return [
    `cost curve: ${benchAlbaBin}; cold = empty cache, no lock; warm = same cache and lock, nothing changed; ` +
      `median of ${REPS} rep(s); seconds, peak RSS in MB; node ${process.version}, ${availableParallelism()} CPUs`,
    '',
    ...markdownTable(
      [
        'image',
        'packages',
        'archs',
        'packages × archs',
        'cold s',
        'cold RSS',
        'warm s',
        'warm RSS',
        'mmdebstrap s',
        'mmdebstrap / cold',
        'mmdebstrap / warm',
        'cold time × / size ×',
      ],
      rows,
    ),
    '',
    `time grows at most linearly with packages × archs (cold time ratio ≤ size ratio to the smallest case, every case): ${linear ? 'met' : 'MISSED'}`,
    largest === undefined
      ? ''
      : `peak RSS at ${largest.packages} packages × ${largest.archs.length} archs: ${peak.toFixed(0)} MB (target < ${RSS_LIMIT_MB} MB: ${peak < RSS_LIMIT_MB ? 'met' : 'MISSED'})`,
  ];
}

/** A two-panel plot (seconds, peak RSS) against packages × archs: alba cold, alba warm, mmdebstrap. */
export function svg(cases: readonly Case[]): string {
  const W = 720;
  const H = 300;
  const pad = { l: 56, r: 16, t: 28, b: 44 };
  const panelW = (W - 3 * pad.l) / 2;
  const xs = cases.map(units);
  const xMax = Math.max(1, ...xs) * 1.05;
  const series = [
    { name: 'alba cold', color: '#c0392b', time: (c: Case) => wall(c.cold), mem: (c: Case) => rss(c.cold) },
    { name: 'alba warm', color: '#2471a3', time: (c: Case) => wall(c.warm), mem: (c: Case) => rss(c.warm) },
    ...(cases.some((c) => c.peer.length > 0)
      ? [{ name: 'mmdebstrap', color: '#7f8c8d', time: (c: Case) => wall(c.peer), mem: (c: Case) => rss(c.peer) }]
      : []),
  ];
  const panel = (x0: number, title: string, value: (s: (typeof series)[number], c: Case) => number, limit?: number): string => {
    const values = series
      .flatMap((s) => cases.filter((c) => s.name !== 'mmdebstrap' || c.peer.length > 0).map((c) => value(s, c)))
      .filter(Number.isFinite);
    const yMax = Math.max(limit ?? 0, ...values) * 1.1;
    const px = (x: number): number => x0 + (x / xMax) * panelW;
    const py = (y: number): number => H - pad.b - (y / yMax) * (H - pad.t - pad.b);
    const parts = [
      `<text x="${x0}" y="${pad.t - 10}" font-size="13" font-weight="bold">${title}</text>`,
      `<line x1="${x0}" y1="${H - pad.b}" x2="${x0 + panelW}" y2="${H - pad.b}" stroke="#333"/>`,
      `<line x1="${x0}" y1="${pad.t}" x2="${x0}" y2="${H - pad.b}" stroke="#333"/>`,
      `<text x="${x0 + panelW / 2}" y="${H - 8}" font-size="11" text-anchor="middle">packages × archs</text>`,
    ];
    for (let i = 0; i <= 4; i++) {
      const y = (yMax / 4) * i;
      parts.push(
        `<text x="${x0 - 6}" y="${py(y) + 4}" font-size="10" text-anchor="end">${y.toFixed(y < 10 ? 1 : 0)}</text>`,
        `<line x1="${x0}" y1="${py(y)}" x2="${x0 + panelW}" y2="${py(y)}" stroke="#ddd"/>`,
      );
      const x = (xMax / 4) * i;
      parts.push(`<text x="${px(x)}" y="${H - pad.b + 14}" font-size="10" text-anchor="middle">${x.toFixed(0)}</text>`);
    }
    if (limit !== undefined)
      parts.push(
        `<line x1="${x0}" y1="${py(limit)}" x2="${x0 + panelW}" y2="${py(limit)}" stroke="#c0392b" stroke-dasharray="4 3"/>`,
        `<text x="${x0 + panelW - 4}" y="${py(limit) - 4}" font-size="10" text-anchor="end" fill="#c0392b">${limit} MB</text>`,
      );
    for (const s of series) {
      const points = cases
        .filter((c) => s.name !== 'mmdebstrap' || c.peer.length > 0)
        .map((c) => [units(c), value(s, c)] as const)
        .sort((a, b) => a[0] - b[0]);
      for (const [x, y] of points.filter(([, y]) => Number.isFinite(y)))
        parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    }
    return parts.join('\n');
  };
  const legend = series
    .map(
      (s, i) =>
        `<circle cx="${pad.l + i * 120}" cy="${H + 10}" r="4" fill="${s.color}"/><text x="${pad.l + i * 120 + 8}" y="${H + 14}" font-size="11">${s.name}</text>`,
    )
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 24}" viewBox="0 0 ${W} ${H + 24}" font-family="sans-serif">`,
    '<rect width="100%" height="100%" fill="white"/>',
    panel(pad.l, 'seconds', (s, c) => s.time(c)),
    panel(pad.l * 2 + panelW, 'peak RSS, MB', (s, c) => s.mem(c), RSS_LIMIT_MB),
    legend,
    '</svg>',
    '',
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
