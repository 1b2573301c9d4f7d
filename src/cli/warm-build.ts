/**
 * The warm no-op of `alba build`: a build whose inputs are those of the last successful build of
 * the same command line, into an `--out` layout that still holds what that build wrote, is
 * answered from a record of that build (a "stamp" in the cache, `builds/`), without loading the
 * builder. Only node's built-ins are imported here, so the answer costs little more than node's
 * own start-up.
 *
 * The stamp names, like git's index, every input and output file with its size, inode, mtime and
 * ctime (nanoseconds) and SHA256:
 * - the key: alba's version and the identity of its code (each compiled file's size and mtime),
 *   node's and zlib's versions, the working directory, the command line (recipe, --out, --cache,
 *   --arch, --mirror, --annotation, …) and SOURCE_DATE_EPOCH;
 * - inputs: the recipe, its lock, the recipe's files and additional CA files (each arch's), and
 *   with `--mirror apt` the host's apt sources (files and the listing of sources.list.d);
 * - outputs: every file of the layout (index.json, oci-layout, each blob, the loose SBOMs) and
 *   the listing of each of its directories.
 * A file whose stat is unchanged is taken as unchanged (util/stat-index.ts), unless it was changed
 * less than racyMs() before it was recorded (a change in the same clock tick could keep its stat): that one, and one
 * whose stat changed but not its size, is hashed again and compared. Anything else (a missing
 * stamp, another key, a changed input, a changed, missing or extra output file, what a killed run
 * left beside --out or in the cache's temp area) runs the build, which repairs the layout, clears
 * the leftovers and records a new stamp.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  type BigIntStats,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCacheDir } from '../cache.js';
import { statRecord, unchangedSince, type StatRecord } from '../util/stat-index.js';
import { isQuiet, out, stderrLog } from './args.js';
import { makeDirs } from '../util/make-dirs.js';
import { readSmallFileSync } from '../util/regular-file.js';

/** Format of the stamp files; another value is not read. */
const STAMP_FORMAT = 1;
/** The options of `alba build` a warm no-op may answer, with whether each takes a value and may repeat. */
const OPTIONS: Record<string, { value: boolean; repeat?: boolean }> = {
  '--out': { value: true },
  '--cache': { value: true },
  '--arch': { value: true },
  '--format': { value: true },
  '--mirror': { value: true, repeat: true },
  '--annotation': { value: true, repeat: true },
  '--index-compression': { value: true },
  '--allow-insecure': { value: false },
  '--json': { value: false },
};
/** A stamp lists every file of the layout: a few hundred kB for a large image; a larger file is no stamp of alba's. */
const MAX_STAMP_BYTES = 64 * 1024 * 1024;
/**
 * What inputsBefore records for an input that is there but is not a regular file (a FIFO, a
 * device, a directory) or is larger than alba reads: never a SHA256, so that no stamp is recorded
 * for that build (which fails: the recipe and the lock are read with the same checks).
 */
const NOT_REGULAR = 'not a regular file';
/** The largest recipe, lock or apt source inputsBefore hashes: the lock's bound (lock-file.ts). */
const MAX_INPUT_BYTES = 64 * 1024 * 1024;
/** Host files `--mirror apt` reads. */
const APT_ROOT = '/etc/apt';

/** An `alba build` command line a stamp can answer. */
export interface WarmRequest {
  /** Absolute path of the recipe. */
  recipe: string;
  /** The options given, by name (repeatable ones as lists, in order). */
  options: Record<string, string | string[] | true>;
  cacheDir: string;
  json: boolean;
  /** Where its stamp is. */
  stampPath: string;
  /** What must be equal for the stamp to count (see the module comment), as a SHA256. */
  key: string;
}

/** One file as recorded: its stat, taken at `at` (ms), and the SHA256 of its bytes; or absent. */
export interface FileRecord extends Partial<StatRecord> {
  path: string;
  absent?: true;
  sha256?: string;
}

/** The names in one directory, sorted. */
interface DirRecord {
  path: string;
  names: string[];
}

/** What the build printed, to print again. */
export interface StampReport {
  /** stdout lines without --json. */
  text: string[];
  /** The --json object (its timings are replaced). */
  json: Record<string, unknown>;
  /** The build's warnings (stderr). */
  warnings: string[];
}

interface Stamp {
  format: number;
  key: string;
  out: string;
  inputs: FileRecord[];
  inputDirs: DirRecord[];
  outputs: FileRecord[];
  outputDirs: DirRecord[];
  report: StampReport;
}

let current: WarmRequest | undefined;

/** The request of this process's command line, when `tryWarmBuild` saw one a stamp could answer. */
export function warmRequest(): WarmRequest | undefined {
  return current;
}

/**
 * `alba build …` answered from its stamp when nothing changed: prints what the build printed and
 * returns true. False (after remembering the request for recordWarmBuild) when the build must run.
 */
export function tryWarmBuild(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): boolean {
  try {
    current = parseWarmRequest(argv, env, cwd);
    if (current === undefined) return false;
    // a recipe that is not a regular file (a FIFO, /dev/stdin, a device, a directory) is read by the
    // build alone, once, and reported there: never hashed here (waited on, read forever), never stamped
    if (!isRegularFile(current.recipe)) {
      current = undefined;
      return false;
    }
    return answer(current);
  } catch {
    // the warm answer is an optimisation: whatever goes wrong here, the build runs and says it properly
    return false;
  }
}

function answer(request: WarmRequest): boolean {
  const stamp = readStamp(request.stampPath);
  if (stamp === undefined || stamp.key !== request.key) return false;
  const refreshed: FileRecord[] = [];
  const holds = (r: FileRecord): boolean => {
    const now = checkFile(r);
    if (now === false) return false;
    if (now !== true) refreshed.push(now);
    return true;
  };
  if (!stamp.inputs.every(holds) || !stamp.inputDirs.every(sameListing)) return false;
  if (!stamp.outputs.every(holds) || !stamp.outputDirs.every(sameListing)) return false;
  if (leftovers(stamp.out, request.cacheDir)) return false;
  if (refreshed.length > 0) refreshStamp(request.stampPath, stamp, refreshed);
  if (!isQuiet()) {
    for (const line of stamp.report.warnings) stderrLog(line);
    stderrLog(`${stamp.out} is up to date: the recipe, lock, files and alba are those of its last build (nothing rebuilt)`);
  }
  if (request.json) out(JSON.stringify({ ...stamp.report.json, upToDate: true, timings: { download: 0, layers: 0, write: 0 } }));
  else for (const line of stamp.report.text) out(line);
  return true;
}

/**
 * The stamp at `path`, or undefined when there is none or it is not one of this format: a stamp is
 * in the cache, which anything may have written (JSON `null`, a field of another type, a FIFO).
 */
function readStamp(path: string): Stamp | undefined {
  let stamp: unknown;
  try {
    stamp = JSON.parse(readSmallFileSync(path, MAX_STAMP_BYTES, (why) => new Error(why)).toString('utf8'));
  } catch {
    return undefined;
  }
  return isStamp(stamp) ? stamp : undefined;
}

function isStamp(v: unknown): v is Stamp {
  if (!isObject(v) || v['format'] !== STAMP_FORMAT || typeof v['key'] !== 'string' || typeof v['out'] !== 'string') return false;
  const { inputs, inputDirs, outputs, outputDirs, report } = v;
  return (
    isList(inputs, isFileRecord) &&
    isList(outputs, isFileRecord) &&
    isList(inputDirs, isDirRecord) &&
    isList(outputDirs, isDirRecord) &&
    isObject(report) &&
    isList(report['text'], isString) &&
    isList(report['warnings'], isString) &&
    isObject(report['json'])
  );
}

function isFileRecord(r: unknown): r is FileRecord {
  if (!isObject(r) || typeof r['path'] !== 'string') return false;
  if (r['absent'] === true) return true;
  return (
    Number.isSafeInteger(r['size']) &&
    typeof r['ino'] === 'string' &&
    typeof r['mtimeNs'] === 'string' &&
    typeof r['ctimeNs'] === 'string' &&
    Number.isFinite(r['at']) &&
    typeof r['sha256'] === 'string'
  );
}

function isDirRecord(d: unknown): d is DirRecord {
  return isObject(d) && typeof d['path'] === 'string' && isList(d['names'], isString);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isList<T>(v: unknown, each: (x: unknown) => x is T): v is T[] {
  return Array.isArray(v) && v.every((x) => each(x));
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

/** True when `path` is a regular file (symbolic links followed). */
function isRegularFile(path: string): boolean {
  return statOrUndefined(path)?.isFile() === true;
}

/** The request of `argv` (`build RECIPE [options]`), or undefined when it has anything a stamp does not answer. */
export function parseWarmRequest(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): WarmRequest | undefined {
  if (argv[0] !== 'build') return undefined;
  if ((env['ALBA_REMOTE_CACHE'] ?? '') !== '') return undefined;
  const options: Record<string, string | string[] | true> = {};
  const positional: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = OPTIONS[name];
    if (spec === undefined) return undefined;
    if (!spec.value) {
      if (eq > 0 || options[name] !== undefined) return undefined;
      options[name] = true;
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value.startsWith('-')) return undefined;
    const before = options[name];
    if (spec.repeat === true) options[name] = [...((before as string[] | undefined) ?? []), value];
    else if (before !== undefined) return undefined;
    else options[name] = value;
  }
  if (positional.length !== 1 || (options['--format'] ?? 'oci') !== 'oci') return undefined;
  const recipe = resolve(cwd, positional[0]!);
  for (const path of ['--out', '--cache'] as const) {
    const value = options[path];
    if (typeof value === 'string') options[path] = resolve(cwd, value);
  }
  const cacheDir = typeof options['--cache'] === 'string' ? options['--cache'] : defaultCacheDir(env);
  const json = options['--json'] === true;
  delete options['--json'];
  const where = JSON.stringify({ cwd, recipe, options });
  // hashed: the command line may hold a mirror's password (--mirror http://user:pass@…), never written down
  const key = sha256(
    Buffer.from(
      JSON.stringify({
        where,
        alba: codeIdentity(),
        node: process.version,
        zlib: process.versions.zlib,
        sourceDateEpoch: env['SOURCE_DATE_EPOCH'] ?? '',
      }),
    ),
  );
  const stampPath = join(cacheDir, 'builds', `${sha256(Buffer.from(where)).slice(0, 40)}.json`);
  return { recipe, options, cacheDir, json, stampPath, key };
}

/** What recordWarmBuild needs of the build. */
export interface BuiltFacts {
  /** The layout written. */
  out: string;
  /** It, as the build left it (snapshotLayout). */
  layout: LayoutSnapshot;
  /** The lock file the build read. */
  lockPath: string;
  /** The files besides recipe and lock it read, with the SHA256 of what it read. */
  inputs: readonly { path: string; sha256: string }[];
  report: StampReport;
}

/** Taken before the build: the SHA256 of the inputs known before it runs (recipe, lock, apt sources). */
export interface InputsBefore {
  files: Map<string, string | undefined>;
}

/**
 * Hashes the recipe, the lock and (with `--mirror apt`) the apt sources as the build is about to
 * read them. One that is there but is not a regular file (a FIFO, a device, a directory) is
 * neither waited on nor read: it is recorded as such, and no stamp is recorded for this build.
 */
export function inputsBefore(request: WarmRequest, lockPath: string): InputsBefore {
  const paths = [request.recipe, lockPath, ...aptFiles(request)];
  return { files: new Map(paths.map((p) => [p, hashOf(p, MAX_INPUT_BYTES)])) };
}

/**
 * After a successful build into an OCI layout: records its stamp. Nothing is recorded when an
 * input now differs from what the build read (it changed during the build), or when recording fails.
 */
/** What a layout held when its build wrote it: each file's record and each directory's names. */
export interface LayoutSnapshot {
  outputs: FileRecord[];
  outputDirs: DirRecord[];
}

/**
 * The layout `out` as it is now; taken while the build still holds the layout's lock, so that the
 * stamp records what this build wrote, never what a build waiting on the lock wrote after it.
 * Undefined when it cannot be read (no stamp then).
 */
export function snapshotLayout(out: string): LayoutSnapshot | undefined {
  try {
    const outputs: FileRecord[] = [];
    const outputDirs: DirRecord[] = [];
    const walk = (dir: string): void => {
      const entries = readdirSync(dir, { withFileTypes: true });
      outputDirs.push({ path: dir, names: entries.map((e) => e.name).sort() });
      for (const e of entries) {
        const path = join(dir, e.name);
        if (e.isDirectory()) walk(path);
        else {
          const blob = /\/blobs\/sha256\/([0-9a-f]{64})$/.exec(path)?.[1];
          outputs.push(blob === undefined ? recordFile(path) : recordFile(path, blob));
        }
      }
    };
    walk(out);
    return { outputs, outputDirs };
  } catch {
    return undefined;
  }
}

export function recordWarmBuild(request: WarmRequest, before: InputsBefore, built: BuiltFacts): void {
  try {
    const inputs: FileRecord[] = [];
    const expected = new Map<string, string | undefined>([...before.files, ...built.inputs.map((i) => [i.path, i.sha256] as const)]);
    if (!expected.has(built.lockPath)) return;
    for (const [path, sha] of expected) {
      const record = recordFile(path);
      if (record.sha256 !== sha) return;
      inputs.push(record);
    }
    const inputDirs = usesApt(request) ? [listing(join(APT_ROOT, 'sources.list.d'))] : [];
    const stamp: Stamp = {
      format: STAMP_FORMAT,
      key: request.key,
      out: built.out,
      inputs,
      inputDirs,
      outputs: built.layout.outputs,
      outputDirs: built.layout.outputDirs,
      report: built.report,
    };
    writeStamp(request.stampPath, stamp);
  } catch {
    // a stamp is an optimisation: without one, the next build runs
  }
}

/** True when a killed run left something the build would clear: a staged layout beside --out, a temp file in the cache. */
function leftovers(out: string, cacheDir: string): boolean {
  const prefix = `.${basename(out)}.alba-`;
  const beside = listing(dirname(out)).names.some((n) => n.startsWith(prefix) && n !== `${prefix}lock`);
  return beside || listing(join(cacheDir, 'blobs', 'tmp')).names.length > 0;
}

function usesApt(request: WarmRequest): boolean {
  const mirrors = request.options['--mirror'];
  return Array.isArray(mirrors) && mirrors.includes('apt');
}

function aptFiles(request: WarmRequest): string[] {
  if (!usesApt(request)) return [];
  const dir = join(APT_ROOT, 'sources.list.d');
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    names = [];
  }
  return [join(APT_ROOT, 'sources.list'), ...names.sort().map((n) => join(dir, n))];
}

/** alba's own version and code: the name, size and mtime of every file of the running CLI's tree (dist/src, or the bundle's dist/alba). */
function codeIdentity(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = basename(here) === 'cli' ? dirname(here) : here;
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, e.name);
      // dist/alba/code-cache/: V8's caches of the bundles (code-cache.ts), written as alba runs, maybe by another user
      if (e.isDirectory()) {
        if (e.name !== 'code-cache') walk(path);
      } else if (/\.(c?js|json)$/.test(e.name)) {
        const s = statSync(path);
        hash.update(`${relative(root, path)} ${s.size} ${s.mtimeMs}\n`);
      }
    }
  };
  walk(root);
  const pkg = resolve(root, '..', '..', 'package.json');
  try {
    hash.update(readFileSync(pkg));
  } catch {
    hash.update('no package.json');
  }
  return hash.digest('hex');
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA256 of a regular file, read in chunks; undefined when it cannot be read or is not a regular file. */
function hashOrUndefined(path: string): string | undefined {
  const sha = hashOf(path);
  return sha === NOT_REGULAR ? undefined : sha;
}

/**
 * SHA256 of a file, read in chunks; undefined when it is missing or cannot be read; NOT_REGULAR
 * when it is a FIFO, a device or a directory, or has more than `maxBytes`: opened without waiting
 * for a FIFO's writer (`O_NONBLOCK`, no effect on a regular file), and never read.
 */
function hashOf(path: string, maxBytes = Infinity): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    // a directory opens read-only; EISDIR, ENXIO (a socket) and others: not a file the build can read as one either
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EISDIR' || code === 'ENXIO' ? NOT_REGULAR : undefined;
  }
  try {
    const s = fstatSync(fd);
    if (!s.isFile() || s.size > maxBytes) return NOT_REGULAR;
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    for (let got; (got = readSync(fd, buffer, 0, buffer.length, null)) > 0;) hash.update(buffer.subarray(0, got));
    return hash.digest('hex');
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function statOrUndefined(path: string): BigIntStats | undefined {
  try {
    return statSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}

/** The record of a file now (stat first, then its bytes hashed, unless `known` is its SHA256 by name). */
export function recordFile(path: string, known?: string): FileRecord {
  const at = Date.now();
  const s = statOrUndefined(path);
  if (s === undefined || !s.isFile()) return { path, absent: true };
  const sha = known ?? hashOrUndefined(path);
  if (sha === undefined) return { path, absent: true };
  return { path, ...statRecord(s, at), sha256: sha };
}

/**
 * True when the file is as recorded by its stat; false when it differs; a new record when its stat
 * changed (or was racy) but its bytes still hash as recorded.
 */
export function checkFile(r: FileRecord): boolean | FileRecord {
  const s = statOrUndefined(r.path);
  if (r.absent === true) return s === undefined || !s.isFile();
  if (s === undefined || !s.isFile() || Number(s.size) !== r.size) return false;
  if (unchangedSince(r as StatRecord, s)) return true;
  const now = recordFile(r.path);
  return now.sha256 === r.sha256 ? now : false;
}

function listing(path: string): DirRecord {
  try {
    return { path, names: readdirSync(path).sort() };
  } catch {
    return { path, names: [] };
  }
}

function sameListing(d: DirRecord): boolean {
  const now = listing(d.path).names;
  return now.length === d.names.length && now.every((n, i) => n === d.names[i]);
}

/** Written synchronously: the process ends one event-loop turn after a warm answer (main.ts), before any asynchronous write would land. */
function writeStamp(path: string, stamp: Stamp): void {
  makeDirs(dirname(path));
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(stamp));
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The stamp with the records of files hashed again (unchanged bytes) replaced, so the next run trusts their stat. */
function refreshStamp(path: string, stamp: Stamp, fresh: readonly FileRecord[]): void {
  const byPath = new Map(fresh.map((r) => [r.path, r]));
  const update = (r: FileRecord): FileRecord => byPath.get(r.path) ?? r;
  try {
    writeStamp(path, { ...stamp, inputs: stamp.inputs.map(update), outputs: stamp.outputs.map(update) });
  } catch {
    // not refreshed: the next run hashes those files again
  }
}
