import { compareVersions } from '../debian/version.js';
import { AlbaError } from '../errors.js';
import type { Recipe } from '../recipe/types.js';
import { parseSnapshotUrl, snapshotTimestampProblem } from '../recipe/snapshot.js';
import { fetchTargets } from '../recipe/fetch-targets.js';
import { isLockFresh, readLock } from './lock-file.js';
import { lockRecipe, type LockOptions } from './lock.js';
import type { LockFile, LockedPackage } from './lock-types.js';

/** One package whose locked version differs from what the sources serve now. */
export interface PackageChange {
  /** OCI arch of the image (the lock's key). */
  arch: string;
  name: string;
  /** Debian architecture of the .deb. */
  architecture: string;
  /** undefined: the package is new in the resolution. */
  locked?: string;
  /** undefined: the package left the resolution. */
  available?: string;
  /** newer / older (a version the sources went back to) / added / removed. */
  kind: 'newer' | 'older' | 'added' | 'removed';
  /** The suite the available version comes from. */
  suite?: string;
  /** True when it comes from a security suite (`-security`, or `/updates` before bullseye). */
  security: boolean;
}

/** What `alba lock --check` found. */
export interface LockCheck {
  /** True when re-locking would change no package (the Release files may still be newer). */
  current: boolean;
  /** The recipe's packages, sources or archs changed since the lock was made. */
  recipeChanged: boolean;
  changes: PackageChange[];
  /** Release files whose SHA256 differs from the lock's (repo suite). */
  releasesChanged: string[];
}

/** True for a Debian security suite. */
export function isSecuritySuite(suite: string): boolean {
  return /-security$|\/updates$/.test(suite);
}

/** Compares a lock with a fresh resolution of the same recipe: what `alba lock --update` would change. */
export function compareLocks(locked: LockFile, fresh: LockFile, recipe: Recipe): LockCheck {
  const changes: PackageChange[] = [];
  const archs = [...new Set([...Object.keys(locked.archs), ...Object.keys(fresh.archs)])].sort();
  for (const arch of archs) {
    const before = byName(locked.archs[arch] ?? []);
    const after = byName(fresh.archs[arch] ?? []);
    for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
      const b = before.get(key);
      const a = after.get(key);
      if (b !== undefined && a !== undefined && b.version === a.version && b.sha256 === a.sha256) continue;
      const p = (a ?? b)!;
      const kind = b === undefined ? 'added' : a === undefined ? 'removed' : compareVersions(a.version, b.version) >= 0 ? 'newer' : 'older';
      changes.push({
        arch,
        name: p.name,
        architecture: p.architecture,
        ...(b !== undefined ? { locked: b.version } : {}),
        ...(a !== undefined ? { available: a.version, suite: a.suite } : {}),
        kind,
        security: a !== undefined && isSecuritySuite(a.suite),
      });
    }
  }
  const lockedReleases = new Map(locked.releases.map((r) => [`${r.repo} ${r.suite}`, r.sha256]));
  const releasesChanged = fresh.releases
    .filter((r) => lockedReleases.get(`${r.repo} ${r.suite}`) !== r.sha256)
    .map((r) => `${r.repo} ${r.suite}`);
  const recipeChanged = !isLockFresh(locked, recipe);
  return { current: changes.length === 0 && !recipeChanged, recipeChanged, changes, releasesChanged };
}

/** One line per change: `amd64    libc6 (amd64) 2.36-9 → 2.36-9+deb12u1  bookworm-security [security]`. */
export function describeChange(c: PackageChange): string {
  const versions = `${c.locked ?? '(not locked)'} → ${c.available ?? '(gone)'}`;
  const where = c.suite !== undefined ? `  ${c.suite}` : '';
  return `${c.arch.padEnd(8)} ${c.name} (${c.architecture}) ${versions}${where}${c.security ? ' [security]' : ''}${c.kind === 'older' ? ' [older]' : ''}`;
}

/**
 * The recipe with its snapshot.debian.org sources moved to another timestamp (`--snapshot`):
 * `latest` is now (snapshot.debian.org serves the last snapshot at or before a time).
 */
export function withSnapshot(recipe: Recipe, wanted: string, now: Date = new Date()): Recipe {
  if (recipe.snapshot === undefined) {
    throw new AlbaError('USAGE', `--snapshot ${wanted}: ${recipe.path} has no snapshot: key`, {
      hint: '--snapshot compares a snapshot recipe with another snapshot; a recipe with sources: is checked against them as they are',
    });
  }
  const ts =
    wanted === 'latest'
      ? now
          .toISOString()
          .replace(/[-:]/g, '')
          .replace(/\.\d+Z$/, 'Z')
      : wanted;
  const problem = snapshotTimestampProblem(ts);
  if (problem !== undefined) throw new AlbaError('USAGE', `--snapshot: ${problem}`, { hint: 'give latest or YYYYMMDDTHHMMSSZ' });
  const sources = recipe.sources.map((s) => {
    const parsed = s.snapshot ? parseSnapshotUrl(s.url) : undefined;
    if (parsed === undefined || parsed.timestamp !== recipe.snapshot) return s;
    return { ...s, url: s.url.replace(parsed.timestamp, ts) };
  });
  return { ...recipe, sources, snapshot: ts };
}

/** The human report of a check: one line per change, then the verdict. */
export function checkReport(result: LockCheck, lockPath: string): string[] {
  const lines = result.recipeChanged ? [`${lockPath}: the recipe's packages, sources or archs changed since it was locked`] : [];
  lines.push(...result.changes.map(describeChange));
  const security = result.changes.filter((c) => c.security).length;
  lines.push(
    result.current
      ? `${lockPath} is current`
      : `${lockPath}: ${result.changes.length} package change(s), ${security} from a security suite; run \`alba lock --update\``,
  );
  return lines;
}

function byName(packages: readonly LockedPackage[]): Map<string, LockedPackage> {
  return new Map(packages.map((p) => [`${p.name}:${p.architecture}`, p]));
}

/** How to check a lock: lock()'s options without `targets` and `previous`, plus the `--mirror` values and `--snapshot`. */
export type CheckOptions = Omit<LockOptions, 'targets' | 'previous'> & { mirrors?: string[]; snapshot?: string };

/**
 * `alba lock --check`: resolves the recipe afresh (Release files verified and rollbacks refused as for
 * `alba lock`) and compares with the lock at `lockPath`. Writes no lock file (the index and resolution
 * caches are filled as by `alba lock`).
 */
export async function checkLockFile(recipe: Recipe, lockPath: string, options: CheckOptions): Promise<LockCheck> {
  const locked = await readLock(lockPath);
  if (locked === undefined) {
    throw new AlbaError('LOCK_INVALID', `${lockPath}: no lock file to check`, { hint: `run \`alba lock ${recipe.path}\` first` });
  }
  const target = options.snapshot === undefined ? recipe : withSnapshot(recipe, options.snapshot);
  const { mirrors, snapshot: _snapshot, ...lockOptions } = options;
  const outcome = await lockRecipe(target, { ...lockOptions, targets: await fetchTargets(target, mirrors), previous: locked });
  return compareLocks(locked, outcome.lock, recipe);
}
