import type { TargetArch } from '../debian/arch.js';
import { AlbaError, redactUrl } from '../errors.js';
import { removeStaleCacheTemps } from '../cache.js';
import { loadKeyring } from '../debian/keyring.js';
import type { IndexCompression } from '../debian/packages-index.js';
import { fetchRelease, type Release } from '../debian/release.js';
import type { FetchTarget } from '../recipe/mirror.js';
import { snapshotSeconds } from '../recipe/snapshot.js';
import { resolutionInputs } from './lock-file.js';
import type { LockFile, LockedPackage, LockedRelease } from './lock-types.js';
import type { Recipe } from '../recipe/types.js';
import { resolutionKey, readResolution, writeResolution } from './resolution-cache.js';
import { resolveArch } from './lock-arch.js';
import { mapLimit } from '../util/map-limit.js';
import { stopwatch } from '../util/stopwatch.js';

/** How to resolve a recipe. */
export interface LockOptions {
  /** Where each suite is fetched from (see recipe/mirror.ts applyMirrors). */
  targets: FetchTarget[];
  cacheDir: string;
  allowInsecure: boolean;
  log: (line: string) => void;
  /** The lock being updated: a Release older than the one it recorded for a source and suite is refused (a rollback). */
  previous?: LockFile;
  /** Accept such an older Release. */
  allowDowngrade?: boolean;
  /**
   * Which compressed Packages files to fetch: `auto` (default) takes xz from snapshot.debian.org
   * itself, whose few MB/s make the smaller file faster, and gz from mirrors, where decoding costs
   * more than the extra bytes.
   */
  indexCompression?: IndexCompression | 'auto';
  /** Told of each arch's packages as soon as it is resolved (by recipe arch name), with the Release files of the lock, e.g. to start downloading them. */
  onArchResolved?: (arch: string, packages: LockedPackage[], releases: LockedRelease[]) => void;
  /** Told after each Release is verified and each arch is resolved. */
  onProgress?: (progress: { stage: 'releases' | 'archs'; done: number; total: number }) => void;
}

/**
 * Archs resolved at once. Measured on 2 cores, 4 archs, cold (alternating runs): 4 at once 2.57–3.04 s
 * (median 2.67), 2 at once 2.60–3.23 s (median 2.90), 8 MB more at peak; each arch in flight holds
 * a few MB (a 1 MiB decode chunk and write block, its name index).
 */
const ARCHS_AT_ONCE = 4;

/** Seconds spent per stage, for `--json` and the benchmarks (indexes and resolve: summed over the archs, which run ARCHS_AT_ONCE at a time). */
export interface LockTimings {
  releases: number;
  indexes: number;
  resolve: number;
}

/** A fresh lock and how it was made. */
export interface LockOutcome {
  lock: LockFile;
  timings: LockTimings;
  indexesFromCache: number;
  indexesFetched: number;
  /** True when the same inputs and Release files were resolved before: no index was read. */
  resolutionCached: boolean;
}

/**
 * Resolves a recipe into a lock: fetches and verifies every Release, loads every Packages index of
 * every arch (cached by SHA256), and resolves each arch's package set. When the same recipe inputs
 * were resolved against the same Release files before, that resolution is reused (resolution-cache.ts).
 */
export async function lockRecipe(recipe: Recipe, options: LockOptions): Promise<LockOutcome> {
  const clock = stopwatch();
  await removeStaleCacheTemps(options.cacheDir);
  // the keyring (and OpenPGP) loads while the Release files are fetched; a keyring that cannot be loaded fails the lock all the same
  const keyring = loadKeyring(recipe.keyrings);
  keyring.catch(() => undefined);
  let released = 0;
  const releases = await mapLimit(options.targets, 4, async (t) => {
    const release = await fetchRelease({
      url: t.source.url,
      suite: t.suite,
      ...(t.fetchUrl !== t.source.url ? { mirror: t.fetchUrl } : {}),
      keyring,
      allowInsecure: options.allowInsecure,
      snapshot: t.source.snapshot,
      log: options.log,
    });
    options.onProgress?.({ stage: 'releases', done: ++released, total: options.targets.length });
    return release;
  });
  await keyring; // a Release that is not signed at all never asked for it
  if (options.previous !== undefined && options.allowDowngrade !== true) checkNoRollback(releases, options.previous);
  for (const r of releases)
    if (!r.verified) options.log(`warning: ${redactUrl(r.fetchedFrom)}/dists/${r.suite}: signature NOT verified (--allow-insecure)`);
  const releasesTime = clock();
  for (const r of releases) {
    if (
      recipe.snapshot !== undefined &&
      r.url !== r.fetchedFrom &&
      r.date !== undefined &&
      Date.parse(r.date) > snapshotSeconds(recipe.snapshot) * 1000
    ) {
      options.log(
        `note: ${redactUrl(r.fetchedFrom)} serves ${r.suite} as of ${r.date}, newer than snapshot ${recipe.snapshot}: the lock pins the mirror's packages`,
      );
    }
  }
  const lockedReleases = releases.map((r) => ({
    repo: r.url,
    suite: r.suite,
    file: r.file,
    sha256: r.sha256,
    ...(r.date !== undefined ? { date: r.date } : {}),
  }));
  const key = resolutionKey(resolutionInputs(recipe), lockedReleases);
  const known = await readResolution(options.cacheDir, key);
  if (known !== undefined) {
    for (const [arch, packages] of Object.entries(known.archs)) options.onArchResolved?.(arch, packages, known.releases);
    const timings = { releases: releasesTime, indexes: 0, resolve: clock() };
    return { lock: known, timings, indexesFromCache: 0, indexesFetched: 0, resolutionCached: true };
  }

  // Several archs at once: their downloads overlap, and the main thread scans one arch's index while zlib (on libuv's threads) or xz decodes the others'.
  const components = releases.flatMap((release, i) => {
    const target = options.targets[i]!;
    const compression = indexCompressionOf(target, options.indexCompression ?? 'auto');
    return target.source.components.map((component) => ({ release, component, compression }));
  });
  let resolved = 0;
  const results = await mapLimit(recipe.archs, ARCHS_AT_ONCE, async (arch) => {
    const result = await resolveArch({
      arch: arch.debian,
      indexes: components,
      requests: recipe.packages,
      mode: recipe.resolve,
      exclude: recipe.exclude,
      where: describeIndexes(releases, options.targets, arch),
      cacheDir: options.cacheDir,
    });
    options.onProgress?.({ stage: 'archs', done: ++resolved, total: recipe.archs.length });
    options.onArchResolved?.(arch.name, result.packages, lockedReleases);
    return result;
  });
  for (const note of new Set(results.flatMap((r) => r.notes))) options.log(note);
  const archs: Record<string, LockedPackage[]> = {};
  recipe.archs.forEach((arch, i) => (archs[arch.name] = results[i]!.packages));
  const fromCache = results.reduce((n, r) => n + r.indexesFromCache, 0);
  const indexesTime = results.reduce((n, r) => n + r.indexes, 0);
  const resolveTime = results.reduce((n, r) => n + r.resolve, 0);
  const jobs = components.length * recipe.archs.length;

  const lock: LockFile = {
    lockVersion: 1,
    name: recipe.name,
    inputs: resolutionInputs(recipe),
    releases: lockedReleases,
    archs,
  };
  await writeResolution(options.cacheDir, key, lock);
  return {
    lock,
    timings: { releases: releasesTime, indexes: round(indexesTime), resolve: round(resolveTime) },
    indexesFromCache: fromCache,
    indexesFetched: jobs - fromCache,
    resolutionCached: false,
  };
}

/** Throws RELEASE_INVALID when a Release is older than the one `previous` recorded for the same source and suite. */
export function checkNoRollback(releases: readonly Pick<Release, 'url' | 'suite' | 'date' | 'fetchedFrom'>[], previous: LockFile): void {
  for (const r of releases) {
    const before = previous.releases.find((p) => p.repo === r.url && p.suite === r.suite)?.date;
    if (before === undefined || r.date === undefined || Date.parse(r.date) >= Date.parse(before)) continue;
    throw new AlbaError(
      'RELEASE_INVALID',
      `${redactUrl(r.fetchedFrom)}/dists/${r.suite}: its Release is dated ${r.date}, older than the ${before} the lock recorded`,
      {
        hint: 'a stale mirror or a rollback attack serves an older archive; use an up-to-date mirror, or pass --allow-downgrade if going back is intended',
      },
    );
  }
}

/** The compressed index to fetch for one target: see LockOptions.indexCompression. */
export function indexCompressionOf(target: FetchTarget, choice: IndexCompression | 'auto'): IndexCompression {
  if (choice !== 'auto') return choice;
  return target.source.snapshot === true && target.fetchUrl === target.source.url ? 'xz' : 'gz';
}

function describeIndexes(releases: Release[], targets: FetchTarget[], arch: TargetArch): string {
  const suites = [...new Set(releases.map((r) => r.suite))].join(', ');
  const components = [...new Set(targets.flatMap((t) => t.source.components))].join(' ');
  return `${suites} ${components} ${arch.debian}`;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
