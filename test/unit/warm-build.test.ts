import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { beQuiet } from '../../src/cli/args.js';
import { inputsBefore, parseWarmRequest, recordWarmBuild, snapshotLayout, tryWarmBuild, warmRequest } from '../../src/cli/warm-build.js';

// The warm-build check reads what anything may have put in the cache and beside the recipe: a stamp
// that parses but has another shape is no stamp (the build runs), never a TypeError; a recipe, a
// lock or a stamp that is a FIFO, a device or a directory is neither waited on nor read (the build
// runs, and reports it), and a build that read one records no stamp.

beQuiet();
const dir = await mkdtemp(join(tmpdir(), 'alba-warm-unit-'));
after(() => rm(dir, { recursive: true, force: true }));
const recipe = join(dir, 'app.yaml');
const lockPath = join(dir, 'app.lock.json');
const out = join(dir, 'out');
const cache = join(dir, 'cache');
const env = {};
const argv = (recipePath = recipe): string[] => ['build', recipePath, '--out', out, '--cache', cache];
const report = { text: [], json: { index: { digest: 'sha256:x' } }, warnings: [] };
let stampPath: string;
let good: Record<string, unknown>;

before(async () => {
  await writeFile(recipe, 'name: app\n');
  await writeFile(lockPath, '{}\n');
  await mkdir(out);
  await writeFile(join(out, 'index.json'), '{}');
  const request = parseWarmRequest(argv(), env, dir);
  assert.ok(request);
  stampPath = request.stampPath;
  recordWarmBuild(request, inputsBefore(request, lockPath), { out, layout: snapshotLayout(out)!, inputs: [], lockPath, report });
  good = JSON.parse(await readFile(stampPath, 'utf8')) as Record<string, unknown>;
});

test('the stamp of a build answers the same build', () => {
  assert.equal(tryWarmBuild(argv(), env, dir), true);
});

test('the stamp records the layout as the build left it: one another build wrote after it answers nothing', async () => {
  // the build snapshots --out under its lock and records the stamp after releasing it; a build of another
  // recipe into the same --out, waiting on that lock, may have replaced it meanwhile
  const request = parseWarmRequest(argv(), env, dir);
  assert.ok(request);
  const layout = snapshotLayout(out);
  assert.ok(layout);
  await writeFile(join(out, 'index.json'), '{"other":1}');
  recordWarmBuild(request, inputsBefore(request, lockPath), { out, layout, inputs: [], lockPath, report });
  assert.equal(tryWarmBuild(argv(), env, dir), false, "another build's layout is not taken for this one's");
  await writeFile(join(out, 'index.json'), '{}');
  await writeFile(stampPath, JSON.stringify(good));
});

test('a stamp that parses but has another shape is no stamp: the build runs, nothing is thrown', async () => {
  const first = (key: string): Record<string, unknown> => (good[key] as Record<string, unknown>[])[0] as Record<string, unknown>;
  const shapes: [string, unknown][] = [
    ['null', null],
    ['a list', []],
    ['a number', 5],
    ['format as a string', { ...good, format: '1' }],
    ['key a number', { ...good, key: 5 }],
    ['out null', { ...good, out: null }],
    ['inputs null', { ...good, inputs: null }],
    ['inputs [null]', { ...good, inputs: [null] }],
    ['an input without a path', { ...good, inputs: [{ ...first('inputs'), path: 5 }] }],
    ['an input size a string', { ...good, inputs: [{ ...first('inputs'), size: '9' }] }],
    ['an input ino a number', { ...good, inputs: [{ ...first('inputs'), ino: 5 }] }],
    ['an input without sha256', { ...good, inputs: [{ ...first('inputs'), sha256: undefined }] }],
    ['outputs an object', { ...good, outputs: {} }],
    ['outputs [5]', { ...good, outputs: [5] }],
    ['inputDirs null', { ...good, inputDirs: null }],
    ['outputDirs names null', { ...good, outputDirs: [{ path: out, names: null }] }],
    ['outputDirs names [1]', { ...good, outputDirs: [{ path: out, names: [1] }] }],
    ['report null', { ...good, report: null }],
    ['report.text null', { ...good, report: { ...report, text: null } }],
    ['report.text [5]', { ...good, report: { ...report, text: [5] } }],
    ['report.warnings a string', { ...good, report: { ...report, warnings: 'x' } }],
    ['report.json null', { ...good, report: { ...report, json: null } }],
  ];
  for (const [what, stamp] of shapes) {
    await writeFile(stampPath, JSON.stringify(stamp));
    assert.equal(tryWarmBuild(argv(), env, dir), false, what);
    assert.ok(warmRequest() !== undefined, `${what}: the build still records its stamp`);
  }
  await writeFile(stampPath, JSON.stringify(good));
  assert.equal(tryWarmBuild(argv(), env, dir), true, 'the good stamp, written back, answers');
});

test('a recipe, lock or stamp that is a FIFO, a device or a directory: no answer, no stamp, and no wait', async () => {
  const fifos = join(dir, 'fifos');
  await mkdir(fifos);
  for (const name of ['fifo.yaml', 'fifo.lock.json', 'stamp']) assert.equal(spawnSync('mkfifo', [join(fifos, name)]).status, 0);
  await symlink('/dev/zero', join(fifos, 'zero.lock.json'));
  const module = new URL('../../src/cli/warm-build.js', import.meta.url).href;
  // in a child with a timeout: a regression (waiting on a FIFO, hashing /dev/zero) fails here instead of hanging the runner
  const script = `
    const w = await import(${JSON.stringify(module)});
    const args = (await import(${JSON.stringify(new URL('../../src/cli/args.js', import.meta.url).href)}));
    args.beQuiet();
    const argv = (r) => ['build', r, '--out', ${JSON.stringify(out)}, '--cache', ${JSON.stringify(cache)}];
    const results = {};
    for (const r of [${JSON.stringify(join(fifos, 'fifo.yaml'))}, '/dev/zero', ${JSON.stringify(dir)}, '/dev/stdin'])
      results[r] = [w.tryWarmBuild(argv(r), {}, ${JSON.stringify(dir)}), w.warmRequest() === undefined];
    // the stamp itself a FIFO
    const request = w.parseWarmRequest(argv(${JSON.stringify(recipe)}), {}, ${JSON.stringify(dir)});
    const { renameSync } = await import('node:fs');
    renameSync(request.stampPath, request.stampPath + '.good');
    renameSync(${JSON.stringify(join(fifos, 'stamp'))}, request.stampPath);
    results.stampFifo = w.tryWarmBuild(argv(${JSON.stringify(recipe)}), {}, ${JSON.stringify(dir)});
    // a lock that is a FIFO or /dev/zero: recorded as not a regular file, and no stamp written for that build
    for (const lock of [${JSON.stringify(join(fifos, 'fifo.lock.json'))}, ${JSON.stringify(join(fifos, 'zero.lock.json'))}]) {
      const before = w.inputsBefore(request, lock);
      w.recordWarmBuild(request, before, { out: ${JSON.stringify(out)}, lockPath: lock, inputs: [], report: { text: [], json: {}, warnings: [] } });
      results[lock] = [before.files.get(lock), (await import('node:fs')).statSync(request.stampPath).isFIFO()];
    }
    console.log(JSON.stringify(results));`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
    stdio: ['pipe', 'pipe', 'pipe'],
    input: 'name: from stdin\n',
  });
  assert.equal(res.signal, null, `timed out: ${res.stdout} ${res.stderr}`);
  assert.equal(res.status, 0, res.stderr);
  assert.deepEqual(JSON.parse(res.stdout) as unknown, {
    [join(fifos, 'fifo.yaml')]: [false, true],
    '/dev/zero': [false, true],
    [dir]: [false, true],
    // read by the build alone (the hash here consumed it: "the recipe is empty"), and never answered from a stamp
    '/dev/stdin': [false, true],
    stampFifo: false,
    [join(fifos, 'fifo.lock.json')]: ['not a regular file', true],
    [join(fifos, 'zero.lock.json')]: ['not a regular file', true],
  });
});
