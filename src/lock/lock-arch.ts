import { loadPackagesIndex, type IndexCompression } from '../debian/packages-index.js';
import type { Release } from '../debian/release.js';
import { resolve } from '../debian/resolver.js';
import type { PackageRequest, ResolvedPackage } from '../debian/types.js';
import { buildUniverse, type UniverseIndex } from '../debian/universe.js';
import { lockedPackage } from './lock-file.js';
import type { LockedPackage } from './lock-types.js';

/** Everything needed to resolve one arch. */
export interface ArchJob {
  /** Debian arch name. */
  arch: string;
  indexes: { release: Release; component: string; compression: IndexCompression }[];
  requests: PackageRequest[];
  mode: 'dependencies' | 'explicit';
  exclude: string[];
  /** Describes the searched indexes in error messages. */
  where: string;
  cacheDir: string;
}

/** The packages of one arch, and what it cost. */
export interface ArchResult {
  packages: LockedPackage[];
  indexesFromCache: number;
  /** Seconds spent loading indexes, and resolving. */
  indexes: number;
  resolve: number;
  /** What the index loads said of the cache. */
  notes: string[];
}

/** Loads every index of one arch (from the parsed-index cache when possible) and resolves its package set. */
export async function resolveArch(job: ArchJob): Promise<ArchResult> {
  const started = performance.now();
  const indexes: UniverseIndex[] = [];
  let indexesFromCache = 0;
  const notes: string[] = [];
  try {
    // all of an arch's indexes at once: the small ones (-updates, -security) load while the big one does
    const loads = await Promise.allSettled(
      job.indexes.map(({ release, component, compression }) =>
        loadPackagesIndex(release, component, job.arch, { cacheDir: job.cacheDir, prefer: compression }),
      ),
    );
    job.indexes.forEach(({ release, component }, i) => {
      const load = loads[i]!;
      if (load.status === 'fulfilled')
        indexes.push({ table: load.value.table, origin: { repo: release.url, suite: release.suite, component, arch: job.arch } });
    });
    for (const load of loads) {
      if (load.status === 'rejected') throw load.reason;
      if (load.value.fromCache) indexesFromCache++;
      notes.push(...load.value.notes);
    }
    const loaded = performance.now();
    const universe = buildUniverse(indexes, job.arch);
    const resolved = resolve({ arch: job.arch, universe, requests: job.requests, mode: job.mode, exclude: job.exclude, where: job.where });
    return {
      packages: resolved.map(toLocked),
      indexesFromCache,
      indexes: (loaded - started) / 1000,
      resolve: (performance.now() - loaded) / 1000,
      notes,
    };
  } finally {
    for (const { table } of indexes) table.close();
  }
}

/** The lock entry of a resolved package: its origin flattened into repo/suite/component. */
function toLocked(p: ResolvedPackage): LockedPackage {
  return lockedPackage({ ...p, repo: p.origin.repo, suite: p.origin.suite, component: p.origin.component });
}
