/**
 * Push benchmark: recipes/base.yaml for 4 archs (bookworm + updates from the host's mirror) built
 * once into a layout, then pushed to a fresh local distribution registry by alba
 * (`alba container push`) and by skopeo (`skopeo copy --all` of the same layout), several runs,
 * in the same script; then the no-op re-push; then peak RSS of pushing a layer of 15 MB and of
 * 150 MB (flat memory means the same RSS).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { bigLayout } from '../test/helpers/big-layout.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry } from '../test/helpers/registry-server.js';
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
import { alba, buildLayout, skopeoCopy, succeeded as ok } from './peers.js';

const RUNS = 5;

async function main(): Promise<void> {
  requireGnuTime();
  const work = await mkdtemp(join(tmpdir(), 'alba-bench-push-'));
  try {
    const { text } = await benchRecipe(BENCH_ARCHS, false);
    const layout = join(work, 'layout');
    await buildLayout(join(work, 'base.yaml'), text, join(work, 'cache'), layout);
    const tag = 'latest';

    const signKey = join(work, 'sign.pem');
    ok(await measure('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', signKey]));
    const albaRuns: MeasuredRun[] = [];
    const signed: MeasuredRun[] = [];
    const skopeo: MeasuredRun[] = [];
    const noop: MeasuredRun[] = [];
    /** `alba container push` of the layout to `host`, with `cache` (and `extra` options). */
    const albaPush = (host: string, cache: string, extra: string[] = []): Promise<MeasuredRun> =>
      alba(['container', 'push', '--cache', join(work, cache), ...extra, '-t', `bench/base:${tag}`, layout, `docker://${host}`]);
    for (let i = 0; i < RUNS; i++) {
      const a = await startRegistry();
      albaRuns.push(await albaPush(a.host, `push-cache-${i}`));
      noop.push(await albaPush(a.host, `push-cache-${i}`));
      await a.close();
      // the same first push, signing the index and the 4 platforms and attesting their SBOMs (docs/trust.md)
      const g = await startRegistry();
      signed.push(await albaPush(g.host, `signed-cache-${i}`, ['--sign-key', signKey]));
      await g.close();
      const s = await startRegistry();
      skopeo.push(await skopeoCopy(layout, tag, s.host, 'bench/base'));
      await s.close();
    }

    const rss: [number, MeasuredRun][] = [];
    for (const mb of [15, 150]) {
      const big = (await bigLayout(join(work, `big-${mb}`), mb)).dir;
      const r = await startRegistry();
      rss.push([
        mb,
        await alba(['container', 'push', '--cache', join(work, `big-cache-${mb}`), '-t', 'bench/big:1', big, `docker://${r.host}`]),
      ]);
      await r.close();
    }

    const m = (runs: MeasuredRun[]): number => median(runs.map((r) => r.wall));
    const ratio = m(skopeo) / m(albaRuns);
    const lines = [
      `push of recipes/base.yaml (${BENCH_ARCHS.join(', ')}) to a fresh local distribution 2.8 registry, ${RUNS} runs, medians`,
      '',
      ...markdownTable(caseHeader([]), [
        caseCells('alba container push (first push)', albaRuns, []),
        caseCells('alba container push --sign-key (first push)', signed, []),
        caseCells('skopeo copy --all (first push)', skopeo, []),
        caseCells('alba no-op re-push', noop, []),
        ...rss.map(([mb, r]) => caseCells(`alba push, one ${mb} MB layer`, [r], [])),
      ]),
      '',
      `first push: skopeo / alba = ${ratio.toFixed(2)}× (target ≥ 1: ${ratio >= 1 ? 'met' : 'MISSED'})`,
      `signing and attesting (index + ${BENCH_ARCHS.length} platforms, SPDX + CycloneDX each): +${fmt(m(signed) - m(albaRuns))} s over the unsigned first push`,
      `no-op re-push: ${fmt(m(noop))} s (target < 0.3 s: ${m(noop) < 0.3 ? 'met' : 'MISSED'}; Node start included)`,
      `RSS 15 MB vs 150 MB layer: ${rss.map(([, r]) => r.peakRssMb.toFixed(0)).join(' vs ')} MB`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
