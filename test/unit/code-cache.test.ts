import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { codeCacheDir, commandOf, readCodeCache } from '../../src/cli/code-cache.js';

// The CLI's bundles run through V8's code cache (src/cli/code-cache.ts). Each case runs small
// CommonJS bundles in child processes, as bin/alba.cjs runs dist/alba/alba.cjs: a cache is written
// at exit, used by the next run, and never used for other text.

const exec = promisify(execFile);
const work = await mkdtemp(join(tmpdir(), 'alba-code-cache-'));
after(() => rm(work, { recursive: true, force: true }));
const loader = new URL('../../src/cli/code-cache.js', import.meta.url).href;

/** Runs `file` as bin/alba.cjs runs the CLI, for `command`; its stdout. */
async function run(file: string, command = 'test'): Promise<string> {
  const script = `import(${JSON.stringify(loader)}).then((m) => m.loadBundle(${JSON.stringify(file)}, ${JSON.stringify(command)}))`;
  return (await exec(process.execPath, ['-e', script])).stdout;
}

/** The cache files of the bundles of `dir`, with their mtimes. */
async function caches(dir: string): Promise<Map<string, number>> {
  const names = await readdir(codeCacheDir(dir)).catch(() => [] as string[]);
  return new Map(await Promise.all(names.map(async (n) => [n, (await stat(join(codeCacheDir(dir), n))).mtimeMs] as const)));
}

/** CommonJS `body` as scripts/bundle.mjs writes a bundle: a function expression of CommonJS's parameters. */
function asBundle(body: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${body}})`;
}

/** A directory of its own holding the bundle `alba.cjs` with `text`. */
async function bundleIn(name: string, text: string): Promise<{ dir: string; file: string }> {
  const dir = join(work, name);
  await mkdir(dir);
  const file = join(dir, 'alba.cjs');
  await writeFile(file, text);
  return { dir, file };
}

/** A bundle whose functions print `word` (enough of them that V8 has bytecode to cache). */
function bundle(word: string): string {
  const fns = Array.from({ length: 50 }, (_, i) => `function f${i}(s) { return s + ${i}; }`).join('\n');
  return asBundle(`${fns}\nprocess.stdout.write(${JSON.stringify(word)} + f1(''));\nmodule.exports = ${JSON.stringify(word)};\n`);
}

test('a run writes the cache of its command at exit; the next run uses it and writes nothing', async () => {
  const { dir, file } = await bundleIn('reuse', bundle('one'));
  assert.equal(await run(file), 'one1');
  const first = await caches(dir);
  assert.equal(first.size, 1);
  assert.match([...first.keys()][0]!, /^alba-test-[0-9a-f]{32}\.v8$/);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await run(file), 'one1');
  // accepted: a refused cache would have been written again
  assert.deepEqual(await caches(dir), first);
  // another command has a cache of its own
  assert.equal(await run(file, 'other'), 'one1');
  assert.equal((await caches(dir)).size, 2);
});

test('a cache never runs for other text, even of the same length (V8 compares only the length)', async () => {
  const { dir, file } = await bundleIn('stale', bundle('AAA'));
  assert.equal(await run(file), 'AAA1');
  const made = await caches(dir);
  // the bundle rebuilt with other text of the same length, and its old cache under the new text's name
  const next = bundle('BBB');
  assert.equal(next.length, bundle('AAA').length);
  await writeFile(file, next);
  assert.equal(await run(file), 'BBB1');
  assert.equal((await caches(dir)).size, 2, 'the new text has a cache of its own');
  for (const name of made.keys()) assert.ok((await caches(dir)).has(name));
});

test('a damaged cache is refused by V8, the bundle compiled, and the cache written again', async () => {
  const { dir, file } = await bundleIn('damaged', bundle('ok'));
  await run(file);
  const [name, mtime] = [...(await caches(dir))][0]!;
  await writeFile(join(codeCacheDir(dir), name), Buffer.alloc(4096, 0x5a));
  assert.equal(await run(file), 'ok1');
  const after = (await caches(dir)).get(name);
  assert.ok(after !== undefined && after !== mtime);
  assert.equal((await stat(join(codeCacheDir(dir), name))).size > 0, true);
  assert.notEqual((await readdir(codeCacheDir(dir))).length, 0);
});

test('a cache whose data is damaged past its header is never given to V8 (which would run it): compiled, and written again', async () => {
  const { dir, file } = await bundleIn('flipped', bundle('intact'));
  await run(file);
  const [name] = [...(await caches(dir)).keys()];
  const path = join(codeCacheDir(dir), name!);
  const written = await readFile(path);
  // V8 checks the header of its data (version, flags, the text's length), not the bytes after it
  const damaged = Buffer.from(written);
  for (let i = Math.floor(damaged.length / 2); i < damaged.length; i += 97) damaged[i] = damaged[i]! ^ 0xff;
  await writeFile(path, damaged);
  assert.equal(await run(file), 'intact1');
  assert.notDeepEqual(await readFile(path), damaged, 'the cache is written again');
  assert.ok(readCodeCache(path, process.getuid!()) !== undefined, 'whole');
});

test("a cache is used only where the bundle's owner alone may write: another user's would run as whoever runs alba", async () => {
  const { dir, file } = await bundleIn('planted', bundle('AAA'));
  await run(file);
  const [made] = [...(await caches(dir)).keys()];
  // a cache of other code (same length) under the name of the bundle's text: what a planted cache would be
  await writeFile(file, bundle('BBB'));
  await run(file);
  const name = [...(await caches(dir)).keys()].find((n) => n !== made)!;
  const plant = (): Promise<void> => copyFile(join(codeCacheDir(dir), made!), join(codeCacheDir(dir), name));
  // in the owner's own directory and file, it is read (and V8 runs a cache of the same length as it comes)
  await plant();
  assert.equal(await run(file), 'AAA1');
  await plant();
  await chmod(codeCacheDir(dir), 0o777);
  assert.equal(await run(file), 'BBB1', 'a directory anyone may write is not read');
  await chmod(codeCacheDir(dir), 0o755);
  await chmod(join(codeCacheDir(dir), name), 0o666);
  assert.equal(await run(file), 'BBB1', 'nor a file anyone may write');
});

test('a temp file a killed run of the same pid left does not stop the cache from being written', async () => {
  const { dir, file } = await bundleIn('leftover', bundle('left'));
  // the child plants what a run of its pid killed while writing the cache would have left
  const script = `const { codeCachePath, loadBundle } = await import(${JSON.stringify(loader)});
    const { mkdirSync, readFileSync, writeFileSync } = await import('node:fs');
    const { dirname } = await import('node:path');
    const file = ${JSON.stringify(file)};
    const cache = codeCachePath(file, readFileSync(file), 'test');
    mkdirSync(dirname(cache), { recursive: true });
    writeFileSync(cache + '.' + process.pid + '.tmp', 'half a cache');
    loadBundle(file, 'test');`;
  assert.equal((await exec(process.execPath, ['--input-type=module', '-e', script])).stdout, 'left1');
  assert.equal([...(await caches(dir)).keys()].filter((n) => n.endsWith('.v8')).length, 1, 'no cache written');
});

test('the temp files killed runs left in the cache directory go once an hour old, not before', async () => {
  const { dir, file } = await bundleIn('stale-temps', bundle('stale'));
  const cacheDir = codeCacheDir(dir);
  await mkdir(cacheDir, { recursive: true });
  const old = join(cacheDir, 'x.v8.1.aa.tmp');
  const fresh = join(cacheDir, 'x.v8.2.bb.tmp');
  await writeFile(old, 'half a cache');
  await writeFile(fresh, 'a cache being written');
  const hoursAgo = new Date(Date.now() - 2 * 3600_000);
  await utimes(old, hoursAgo, hoursAgo);
  assert.equal(await run(file), 'stale1');
  const names = [...(await caches(dir)).keys()];
  assert.ok(!names.includes('x.v8.1.aa.tmp'), 'the old temp file is gone');
  assert.ok(names.includes('x.v8.2.bb.tmp'), 'a recent one is left: its run may still be writing it');
  assert.equal(names.filter((n) => n.endsWith('.v8')).length, 1, 'the cache was written');
});

test('a cache that cannot be written costs nothing but the compile', async () => {
  const { dir, file } = await bundleIn('unwritable', bundle('still'));
  // the cache directory's name taken by a file: no directory can be made there (even by root)
  await writeFile(codeCacheDir(dir), 'not a directory');
  assert.equal(await run(file), 'still1');
  assert.equal(await run(file), 'still1');
  assert.deepEqual(await readdir(dir), ['alba.cjs', 'code-cache']);
});

test("a bundle's require of ./vendor-….cjs loads that bundle once, through its own cache", async () => {
  const dir = join(work, 'vendor');
  await mkdir(dir);
  await writeFile(join(dir, 'vendor-x.cjs'), asBundle('process.stdout.write("v"); module.exports = { n: 1 };\n'));
  const file = join(dir, 'alba.cjs');
  await writeFile(
    file,
    asBundle(
      'const a = require("./vendor-x.cjs"); const b = require("./vendor-x.cjs"); const p = require("node:path");\n' +
        'process.stdout.write(String(a === b) + a.n + typeof p.join);\n',
    ),
  );
  assert.equal(await run(file), 'vtrue1function');
  assert.deepEqual([...(await caches(dir)).keys()].map((n) => n.replace(/-[0-9a-f]{32}\.v8$/, '')).sort(), ['alba-test', 'vendor-x-test']);
});

test('commandOf: the command words of a command line', () => {
  const cases: [string[], string][] = [
    [['container', 'push', '--plain-http', 'layout', 'docker://h/r'], 'container-push'],
    [['-q', 'static', 'push', 'dir'], 'static-push'],
    [['build', 'recipe.yaml', '--out', 'out'], 'build'],
    [['lock', '--check', 'recipe.yaml'], 'lock'],
    [['--version'], 'none'],
    [[], 'none'],
    [['../x', 'push'], 'none'],
    [['Build'], 'none'],
  ];
  for (const [args, command] of cases) assert.equal(commandOf(args), command, args.join(' '));
});
