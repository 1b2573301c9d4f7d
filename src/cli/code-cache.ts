/**
 * Loads the CLI's CommonJS bundles (dist/alba/alba.cjs and the vendor-*.cjs it requires,
 * scripts/bundle.mjs) with V8's code cache, as Node 22's compile cache would: the bytecode a run
 * compiled is kept beside the bundle (`dist/alba/code-cache/`), and the next run of the same
 * command deserializes it instead of parsing and compiling the bundle again (docs/architecture.md,
 * "Start-up").
 *
 * A cache is used only for the bytes it was made from: its name holds the SHA256 of the bundle's
 * text, with Node's version, the process's V8 flags (execArgv, NODE_OPTIONS) and the command
 * (`container push`, `build`: each compiles other functions). V8 itself refuses a cache of another
 * V8 version or flags, or whose text has another length, and then compiles the text; it does not
 * compare the text itself, hence the SHA256, nor check the cache's own bytes, hence a SHA256 of them
 * at the start of the file (readCodeCache). A cache is written (to a temporary file, then renamed)
 * when the process exits after a run that had none or had it refused; a directory alba cannot write
 * only costs the compile. A cache is used and written only in a directory, and as files, that the
 * bundle's owner alone may change: it trusts no one the bundle does not.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { STALE_TEMP_MS } from '../util/stale-temps.js';

/** Where the caches of the bundles of `dir` are kept. */
export function codeCacheDir(dir: string): string {
  return join(dir, 'code-cache');
}

/** The command a cache is for: the first two words of `args` (without --quiet) that look like command names (`container push`). */
export function commandOf(args: readonly string[]): string {
  const words: string[] = [];
  for (const a of args.filter((x) => x !== '--quiet' && x !== '-q').slice(0, 2)) {
    if (!/^[a-z][a-z-]{0,31}$/.test(a)) break;
    words.push(a);
  }
  return words.length === 0 ? 'none' : words.join('-');
}

/** The cache file of a bundle's bytes `text` for `command` in this process (Node's version and V8 flags). */
export function codeCachePath(file: string, text: Buffer, command: string): string {
  const key = createHash('sha256')
    .update(text)
    .update(`\0${process.version}\0${process.arch}\0${process.execArgv.join(' ')}\0${process.env['NODE_OPTIONS'] ?? ''}`)
    .digest('hex')
    .slice(0, 32);
  return join(codeCacheDir(dirname(file)), `${basename(file, '.cjs')}-${command}-${key}.v8`);
}

/** Bundles loaded by this process, by path: each runs once. */
const loaded = new Map<string, unknown>();

/**
 * Runs the CommonJS bundle `file` (its `module.exports` returned; the second call returns the first's)
 * with the code cache of `command`. A `require('./vendor-….cjs')` in it loads that bundle the same way.
 */
export function loadBundle(file: string, command: string): unknown {
  const known = loaded.get(file);
  if (known !== undefined) return known;
  // hashed as bytes (a string would be encoded again for the hash: 3 ms of 1.7 MB), then read as
  // latin1: one byte per character (utf8 makes the whole text two bytes per character
  // when a comment holds a character past U+00FF); esbuild writes code as ASCII (charset), so only
  // comments can differ, which nothing reads
  const bytes = readFileSync(file);
  const cacheFile = codeCachePath(file, bytes, command);
  const text = bytes.toString('latin1');
  const owner = lstatSync(file).uid;
  const cachedData = readCodeCache(cacheFile, owner);
  // the bundle is a function expression of CommonJS's parameters (scripts/bundle.mjs)
  const script = new Script(text, {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  if ((cachedData === undefined || script.cachedDataRejected === true) && process.getuid?.() === owner)
    process.once('exit', () => writeCodeCache(cacheFile, script, owner));
  const dir = dirname(file);
  const nodeRequire = createRequire(file);
  const bundleRequire = Object.assign(
    (id: string): unknown => (id.startsWith('./vendor-') && id.endsWith('.cjs') ? loadBundle(join(dir, id), command) : nodeRequire(id)),
    { resolve: nodeRequire.resolve, cache: nodeRequire.cache, main: nodeRequire.main },
  );
  const module = { exports: {} as unknown };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, bundleRequire, module, file, dir);
  loaded.set(file, module.exports);
  return module.exports;
}

/** A cache file: the SHA256 of V8's data, then the data. */
const HASH_BYTES = 32;

/**
 * True when `info` (of the cache directory or a cache file) is no more open to change than the
 * bundle: owned by the bundle's owner, writable by no one else. A cache is code: one planted by
 * another user would run as whoever runs alba.
 */
function ownersOnly(info: Stats, owner: number): boolean {
  return info.uid === owner && (info.mode & 0o022) === 0;
}

/**
 * V8's data in the cache file `path`, undefined when there is none, when it or its directory may
 * be changed by another than `owner` (the bundle's), or when its bytes are not those written: V8
 * checks a cache's header (its version, flags, the text's length) but not the rest, and runs
 * damaged data as it comes (wrong bytecode, or a crash), so the data's own SHA256 is checked.
 */
export function readCodeCache(path: string, owner: number): Buffer | undefined {
  const dir = lstatSync(dirname(path), { throwIfNoEntry: false });
  if (dir === undefined || !dir.isDirectory() || !ownersOnly(dir, owner)) return undefined;
  let bytes: Buffer;
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const info = fstatSync(fd);
      if (!info.isFile() || !ownersOnly(info, owner)) return undefined;
      bytes = readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const data = bytes.subarray(HASH_BYTES);
  return bytes.length > HASH_BYTES && createHash('sha256').update(data).digest().equals(bytes.subarray(0, HASH_BYTES)) ? data : undefined;
}

/**
 * Writes what `script` has compiled so far as the cache `path` (a new file of its own, then renamed
 * into place), in a directory only `owner` may write; anything else leaves the cache as it was.
 */
export function writeCodeCache(path: string, script: Script, owner: number): void {
  const dir = dirname(path);
  // a name of its own: a run killed while writing leaves its file, and a later run given the same
  // pid (a CI container's) found it there and never wrote the cache again
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  let fd: number | undefined;
  let created = false;
  try {
    mkdirSync(dir, { mode: 0o755 });
  } catch {
    // there already, or not to be made: checked below
  }
  try {
    const info = lstatSync(dir);
    if (!info.isDirectory() || !ownersOnly(info, owner)) return;
    // O_EXCL: never through a file or link already there
    fd = openSync(tmp, 'wx', 0o644);
    created = true;
    const data = script.createCachedData();
    const bytes = Buffer.concat([createHash('sha256').update(data).digest(), data]);
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
    removeStaleCacheTemps(dir);
  } catch {
    if (fd !== undefined) closeSync(fd);
    if (created) rmSync(tmp, { force: true });
  }
}

/** The temp files killed runs left in the cache directory (each ~1 MB), once nothing has written them for an hour. */
function removeStaleCacheTemps(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.tmp')) continue;
    const file = join(dir, name);
    try {
      if (Date.now() - lstatSync(file).mtimeMs >= STALE_TEMP_MS) rmSync(file, { force: true });
    } catch {
      // another run removed it first
    }
  }
}
