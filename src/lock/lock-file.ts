import { basename, dirname, join } from 'node:path';
import { AlbaError } from '../errors.js';
import { digestOf } from '../oci/digest.js';
import { writeOutputFile } from '../util/output-file.js';
import { readSmallFile } from '../util/regular-file.js';
import { versionProblem } from '../debian/version.js';
import { httpUrl } from '../http/urls.js';
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

/** At most this many bytes are read from a lock file (a large image's lock is a few hundred kB). */
const MAX_LOCK_BYTES = 64 * 1024 * 1024;

/**
 * Reads a lock file; undefined when there is none. A lock is input (hand-edited, merged, written
 * by another tool): it is read without waiting on a FIFO or reading a device, and every field the
 * build, the SBOMs and the layers use is checked here, so that a broken one is LOCK_INVALID naming
 * the file and the field, never a crash later.
 */
export async function readLock(path: string): Promise<LockFile | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readSmallFile(path, MAX_LOCK_BYTES, (why, cause) => invalid(path, `${why}`, cause));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let lock: unknown;
  try {
    lock = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid(path, `: not valid JSON (${(err as Error).message})`, err);
  }
  checkLock(lock, (field, problem) => invalid(path, `: ${field}${problem.startsWith('is ') ? ' ' : ': '}${problem}`));
  return lock;
}

function invalid(path: string, what: string, cause?: unknown): AlbaError {
  return new AlbaError('LOCK_INVALID', `${path}${what.startsWith(':') ? '' : ' '}${what}`, {
    hint: 'delete it and run `alba lock` again',
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * A package name as repositories use them: Policy 5.6.1's (lowercase letters, digits, +.-, two or
 * more) and what dpkg also takes (capitals, _, one character), never a `/` or a leading `.` (it
 * names the package's files in the image's status.d). A lock alba wrote from an index is never refused.
 */
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._~-]*$/;
/** A Debian architecture name (`amd64`, `all`, `arm64`, `armhf`…). */
const DEBIAN_ARCH = /^[a-z0-9][a-z0-9-]*$/;
const SHA256_HEX = /^[a-f0-9]{64}$/;
/** The latest time a lock's Release date may be: the end of year 9999, as SOURCE_DATE_EPOCH. */
const MAX_EPOCH_SECONDS = 253402300799;

type Problem = (field: string, problem: string) => Error;

/** Throws `problem(field, why)` for the first field of `lock` that is not what readers of a lock use. */
function checkLock(lock: unknown, problem: Problem): asserts lock is LockFile {
  if (!isObject(lock) || lock['lockVersion'] !== 1) throw problem('lockVersion', 'not an alba lock file of version 1');
  text(lock, 'name', 'name', problem);
  text(lock, 'inputs', 'inputs', problem);
  const releases = lock['releases'];
  if (!Array.isArray(releases)) throw problem('releases', `must be a list, got ${describe(releases)}`);
  releases.forEach((r: unknown, i) => checkRelease(r, `releases[${i}]`, problem));
  const archs = lock['archs'];
  if (!isObject(archs)) throw problem('archs', `must be an object of lists by arch, got ${describe(archs)}`);
  for (const [arch, packages] of Object.entries(archs)) {
    if (!Array.isArray(packages)) throw problem(`archs.${arch}`, `must be a list of locked packages, got ${describe(packages)}`);
    const names = new Set(packages.map((p: unknown) => (isObject(p) ? p['name'] : undefined)));
    packages.forEach((p: unknown, i) => checkPackage(p, `archs.${arch}[${i}]`, names, problem));
  }
}

function checkRelease(r: unknown, at: string, problem: Problem): void {
  if (!isObject(r)) throw problem(at, `is not a locked release (repo, suite, file, sha256, date), got ${describe(r)}`);
  repoUrl(r, 'repo', at, problem);
  nonEmpty(r, 'suite', at, problem);
  nonEmpty(r, 'file', at, problem);
  match(r, 'sha256', at, SHA256_HEX, '64 lowercase hex digits', problem);
  const date = r['date'];
  if (date === undefined) return;
  if (typeof date !== 'string') throw problem(`${at}.date`, `must be a date (ISO 8601), got ${describe(date)}`);
  const ms = Date.parse(date);
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_EPOCH_SECONDS * 1000) {
    throw problem(`${at}.date`, `${quote(date)} is not a date between 1970 and 9999 (ISO 8601, e.g. 2025-05-20T08:00:00Z)`);
  }
}

function checkPackage(p: unknown, at: string, names: Set<unknown>, problem: Problem): void {
  if (!isObject(p)) {
    throw problem(at, `is not a locked package (name, version, architecture, filename, repo, suite, size, sha256…), got ${describe(p)}`);
  }
  match(p, 'name', at, PACKAGE_NAME, 'a package name (letters, digits and +._~-, not starting with a sign)', problem);
  version(p, 'version', at, problem);
  match(p, 'architecture', at, DEBIAN_ARCH, 'a Debian architecture (e.g. amd64, all)', problem);
  match(p, 'source', at, PACKAGE_NAME, 'a Debian source package name', problem);
  version(p, 'sourceVersion', at, problem);
  repoUrl(p, 'repo', at, problem);
  nonEmpty(p, 'suite', at, problem);
  nonEmpty(p, 'component', at, problem);
  const filename = nonEmpty(p, 'filename', at, problem);
  // appended to the repository's URL: a path below it, as a Packages index gives it
  if (
    filename.startsWith('/') ||
    filename.split('/').some((s) => s === '..') ||
    [...filename].some((c) => c <= ' ' || c === '\u007f' || '?#\\'.includes(c))
  ) {
    throw problem(
      `${at}.filename`,
      `${quote(filename)} is not a path below the repository (e.g. pool/main/b/base-files/base-files_12.4_amd64.deb)`,
    );
  }
  const size = p['size'];
  if (!Number.isSafeInteger(size) || (size as number) < 0) throw problem(`${at}.size`, `must be a number of bytes, got ${describe(size)}`);
  // a package's sha256 names files of the cache and the remote cache: never anything but 64 hex digits
  match(p, 'sha256', at, SHA256_HEX, '64 lowercase hex digits', problem);
  const maintainer = p['maintainer'];
  if (maintainer !== undefined && typeof maintainer !== 'string') {
    throw problem(`${at}.maintainer`, `must be a string or absent, got ${describe(maintainer)}`);
  }
  const dependsOn = p['dependsOn'];
  if (!Array.isArray(dependsOn)) throw problem(`${at}.dependsOn`, `must be a list of package names, got ${describe(dependsOn)}`);
  dependsOn.forEach((dep: unknown, j) => {
    if (typeof dep !== 'string') throw problem(`${at}.dependsOn[${j}]`, `must be a package name, got ${describe(dep)}`);
    // the SBOMs link each dependency to its package of the same arch
    if (!names.has(dep)) throw problem(`${at}.dependsOn[${j}]`, `${quote(dep)} is not a package of this arch in the lock`);
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(o: Record<string, unknown>, key: string, field: string, problem: Problem): string {
  const value = o[key];
  if (typeof value !== 'string') throw problem(field, `must be a string, got ${describe(value)}`);
  return value;
}

function nonEmpty(o: Record<string, unknown>, key: string, at: string, problem: Problem): string {
  const value = text(o, key, `${at}.${key}`, problem);
  if (value === '') throw problem(`${at}.${key}`, 'is empty');
  return value;
}

function match(o: Record<string, unknown>, key: string, at: string, re: RegExp, what: string, problem: Problem): void {
  const value = text(o, key, `${at}.${key}`, problem);
  if (!re.test(value)) throw problem(`${at}.${key}`, `${quote(value)} is not ${what}`);
}

function version(o: Record<string, unknown>, key: string, at: string, problem: Problem): void {
  const value = text(o, key, `${at}.${key}`, problem);
  const why = versionProblem(value);
  if (why !== undefined) throw problem(`${at}.${key}`, `${quote(value)} is not a Debian version: ${why}`);
}

function repoUrl(o: Record<string, unknown>, key: string, at: string, problem: Problem): void {
  const value = text(o, key, `${at}.${key}`, problem);
  if (httpUrl(value) === undefined) {
    throw problem(`${at}.${key}`, `${quote(value)} is not an http or https URL`);
  }
}

/** A value as an error shows it: strings quoted and cut at 80 characters. */
function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${quote(value)}`;
  if (typeof value === 'object') return 'an object';
  if (value === undefined) return 'nothing';
  return `the ${typeof value} ${String(value)}`;
}

/** Writes a lock file atomically. */
export async function writeLock(path: string, lock: LockFile): Promise<void> {
  await writeOutputFile(path, serializeLock(lock));
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
