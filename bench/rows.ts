/**
 * One row of issue 22's table: alba against a peer measured in the same run (their runs
 * alternating), the ratio of their medians and the target it must meet; and the peak-RSS checks.
 * bench/build.ts (coldBuildRows) and bench/lock.ts (coldLockRow) return these, so that a table of
 * every row (bench/table.ts) can run them and print them alike.
 */
import { fmt, markdownTable, maxRss, medianWall, type Sample } from './util.js';

/** alba against a peer: `ratio` is the peer's median wall time over alba's (how many times faster alba is). */
export interface RatioRow {
  /** The row of the issue, e.g. `cold build from a lock`. */
  name: string;
  alba: Sample[];
  peer: { name: string; samples: Sample[] };
  ratio: number;
  /** alba must be at least this many times faster. */
  target: number;
  met: boolean;
}

/** A peak-RSS check: the highest peak of the samples against a limit. */
export interface RssRow {
  name: string;
  samples: Sample[];
  peakRssMb: number;
  limitMb: number;
  met: boolean;
}

/** The row for alba's and the peer's samples of one case. */
export function ratioRow(name: string, alba: Sample[], peer: { name: string; samples: Sample[] }, target: number): RatioRow {
  const ratio = medianWall(peer.samples) / medianWall(alba);
  return { name, alba, peer, ratio, target, met: ratio >= target };
}

/** The RSS check of some samples. */
export function rssRow(name: string, samples: Sample[], limitMb: number): RssRow {
  const peakRssMb = maxRss(samples);
  return { name, samples, peakRssMb, limitMb, met: peakRssMb < limitMb };
}

/** The rows as a Markdown table. */
export function ratioTable(rows: readonly RatioRow[]): string[] {
  return markdownTable(
    ['case', 'runs', 'alba median s', 'peer', 'peer median s', 'ratio', 'target', '', 'alba peak RSS MB', 'peer peak RSS MB'],
    rows.map((r) => [
      r.name,
      String(r.alba.length),
      fmt(medianWall(r.alba)),
      r.peer.name,
      fmt(medianWall(r.peer.samples)),
      `${r.ratio.toFixed(2)}×`,
      `≥ ${r.target}×`,
      r.met ? 'met' : 'MISSED',
      maxRss(r.alba).toFixed(0),
      maxRss(r.peer.samples).toFixed(0),
    ]),
  );
}

/** The RSS checks as a Markdown table. */
export function rssTable(rows: readonly RssRow[]): string[] {
  return markdownTable(
    ['peak RSS', 'runs', 'MB', 'target', ''],
    rows.map((r) => [r.name, String(r.samples.length), r.peakRssMb.toFixed(0), `< ${r.limitMb} MB`, r.met ? 'met' : 'MISSED']),
  );
}
