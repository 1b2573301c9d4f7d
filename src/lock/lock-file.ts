import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AlbaError } from '../errors.js';
import { digestOf } from '../oci/digest.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { Recipe } from '../recipe/types.js';
import type { LockFile, LockedPackage, LockedRelease } from './lock-types.js';

/** The lock file beside a recipe: `static.yaml` → `static.lock.json`. */
export function lockPathFor(recipePath: string): string {
  const base = basename(recipePath).replace(/\.ya?ml$/i, '');
  return join(dirname(recipePath), `${base}.lock.json`);
}

/** Digest of the recipe parts that decide resolution; a lock made from other inputs is stale. */
export function resolutionInputs(recipe: Recipe): string {
  const inputs = {
    archs: recipe.archs.map((a) => a.name),
    sources: recipe.sources.map((s) => ({ url: s.url, suites: s.suites, components: s.components })),
    packages: recipe.packages.map((p) => (p.version === undefined ? p.name : `${p.name}=${p.version}`)),
    resolve: recipe.resolve,
    exclude: [...recipe.exclude].sort(),
  };
  return digestOf(JSON.stringify(inputs));
}

/** True when `lock` was made from the packages, sources and archs `recipe` now lists (else it is stale). */
export function isLockFresh(lock: LockFile, recipe: Recipe): boolean {
  return lock.inputs === resolutionInputs(recipe);
}

/** Serialises a lock with a fixed key order and sorted lists, so diffs stay small. */
export function serializeLock(lock: LockFile): string {
  const releases = [...lock.releases].sort((a, b) => cmp(`${a.repo} ${a.suite}`, `${b.repo} ${b.suite}`)).map(orderRelease);
  const archs: Record<string, LockedPackage[]> = {};
  for (const arch of Object.keys(lock.archs).sort()) {
    archs[arch] = [...(lock.archs[arch] ?? [])]
      .sort((a, b) => cmp(a.name, b.name) || cmp(a.architecture, b.architecture))
      .map(lockedPackage);
  }
  const ordered: LockFile = { lockVersion: 1, name: lock.name, inputs: lock.inputs, releases, archs };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** Reads a lock file; undefined when there is none. */
export async function readLock(path: string): Promise<LockFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let lock: LockFile;
  try {
    lock = JSON.parse(text) as LockFile;
  } catch (err) {
    throw new AlbaError('LOCK_INVALID', `${path}: not valid JSON (${(err as Error).message})`, {
      hint: 'delete it and run `alba lock` again',
      cause: err,
    });
  }
  if (
    typeof lock !== 'object' ||
    lock === null ||
    lock.lockVersion !== 1 ||
    typeof lock.archs !== 'object' ||
    lock.archs === null ||
    !Array.isArray(lock.releases)
  ) {
    throw new AlbaError('LOCK_INVALID', `${path}: not an alba lock file of version 1`, {
      hint: 'delete it and run `alba lock` again',
    });
  }
  for (const [arch, packages] of Object.entries(lock.archs)) {
    const bad = Array.isArray(packages) ? packages.findIndex((p) => !isLockedPackage(p)) : 0;
    if (bad !== -1) {
      // a package's sha256 names files of the cache and the remote cache: never anything but 64 hex digits
      throw new AlbaError(
        'LOCK_INVALID',
        `${path}: archs.${arch}[${bad}] is not a locked package (name, version, filename, size, sha256)`,
        {
          hint: 'delete it and run `alba lock` again',
        },
      );
    }
  }
  return lock;
}

function isLockedPackage(p: unknown): p is LockedPackage {
  const q = p as Partial<Record<keyof LockedPackage, unknown>> | null;
  return (
    typeof q === 'object' &&
    q !== null &&
    ['name', 'version', 'architecture', 'filename', 'repo', 'suite'].every((k) => typeof q[k as keyof LockedPackage] === 'string') &&
    Number.isSafeInteger(q.size) &&
    typeof q.sha256 === 'string' &&
    /^[a-f0-9]{64}$/.test(q.sha256) &&
    Array.isArray(q.dependsOn)
  );
}

/** Writes a lock file atomically. */
export async function writeLock(path: string, lock: LockFile): Promise<void> {
  await writeFileAtomic(path, serializeLock(lock));
}

function orderRelease(r: LockedRelease): LockedRelease {
  return {
    repo: r.repo,
    suite: r.suite,
    file: r.file,
    sha256: r.sha256,
    ...(r.date !== undefined ? { date: r.date } : {}),
  };
}

/** Exactly the lock's fields of a package, in the lock's order (extra fields of `p` are dropped). */
export function lockedPackage(p: LockedPackage): LockedPackage {
  return {
    name: p.name,
    version: p.version,
    architecture: p.architecture,
    source: p.source,
    sourceVersion: p.sourceVersion,
    repo: p.repo,
    suite: p.suite,
    component: p.component,
    filename: p.filename,
    size: p.size,
    sha256: p.sha256,
    ...(p.maintainer !== undefined ? { maintainer: p.maintainer } : {}),
    dependsOn: [...p.dependsOn].sort(),
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
