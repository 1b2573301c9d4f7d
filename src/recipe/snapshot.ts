import type { SourceSpec } from './types.js';

/** Base URL of the Debian snapshot archive. */
export const SNAPSHOT_BASE = 'https://snapshot.debian.org/archive';

/** The oldest timestamp snapshot.debian.org can serve. */
const FIRST_SNAPSHOT = '20050312T000000Z';

/** Dists without `-updates` and `-security` suites. */
const DEVELOPMENT_DISTS = new Set(['sid', 'unstable', 'experimental', 'rc-buggy']);

/** Dists whose security suite is named `<dist>/updates` (before bullseye). */
const OLD_SECURITY_DISTS = new Set(['wheezy', 'jessie', 'stretch', 'buster']);

/** Why `ts` is not a usable snapshot timestamp (`YYYYMMDDTHHMMSSZ`), or undefined when it is. */
export function snapshotTimestampProblem(ts: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(ts);
  if (m === null) return `"${ts}" is not a snapshot timestamp of the form YYYYMMDDTHHMMSSZ (e.g. 20250520T000000Z)`;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  const valid = date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
  if (!valid) return `"${ts}" is not a real date and time`;
  if (ts < FIRST_SNAPSHOT) return `"${ts}" is before the first snapshot (${FIRST_SNAPSHOT})`;
  return undefined;
}

/** The snapshot.debian.org sources of `dist` at `ts`: the dist and its -updates, then its security suite. */
export function expandSnapshot(ts: string, dist: string): SourceSpec[] {
  const main: SourceSpec = {
    url: `${SNAPSHOT_BASE}/debian/${ts}`,
    suites: DEVELOPMENT_DISTS.has(dist) ? [dist] : [dist, `${dist}-updates`],
    components: ['main'],
    archive: 'debian',
    snapshot: true,
  };
  if (DEVELOPMENT_DISTS.has(dist)) return [main];
  const security: SourceSpec = {
    url: `${SNAPSHOT_BASE}/debian-security/${ts}`,
    suites: [OLD_SECURITY_DISTS.has(dist) ? `${dist}/updates` : `${dist}-security`],
    components: ['main'],
    archive: 'debian-security',
    snapshot: true,
  };
  return [main, security];
}

/** The archive and timestamp of a snapshot.debian.org URL (`…/archive/debian/20250520T000000Z`), or undefined. */
export function parseSnapshotUrl(url: string): { archive: string; timestamp: string } | undefined {
  const m = /^https?:\/\/snapshot\.debian\.org\/archive\/([a-z0-9-]+)\/(\d{8}T\d{6}Z)\/?$/.exec(url);
  return m === null ? undefined : { archive: m[1]!, timestamp: m[2]! };
}

/** `20250520T000000Z` → seconds since the epoch. */
export function snapshotSeconds(ts: string): number {
  const iso = `${ts.slice(0, 4)}-${ts.slice(4, 6)}-${ts.slice(6, 8)}T${ts.slice(9, 11)}:${ts.slice(11, 13)}:${ts.slice(13, 15)}Z`;
  return Date.parse(iso) / 1000;
}
