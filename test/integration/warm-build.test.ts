import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { damageInPlace } from '../helpers/damage.js';
import { after, before, describe, test } from 'node:test';
import { makeFixtureDistro, writeFixtureProject, type FixtureProject } from '../helpers/fixture-distro.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';
import { RACY_MS } from '../../src/util/stat-index.js';
import { explainRun, runAlba, type AlbaRun } from '../helpers/run-alba.js';

// The warm no-op of `alba build` (src/cli/warm-build.ts): a build with nothing changed is answered
// from its stamp; a changed input (recipe, lock, a recipe file, SOURCE_DATE_EPOCH, the command line)
// or a changed, damaged, missing or extra file of --out is not: the build runs and repairs --out.

const UP_TO_DATE = /is up to date/;

const work = await mkdtemp(join(tmpdir(), 'alba-warm-build-'));
let server: RepoServer;
let project: FixtureProject;
const out = join(work, 'out');
const cache = join(work, 'cache');

function build(extra: string[] = [], env: Record<string, string> = {}): Promise<AlbaRun> {
  return runAlba(['build', project.recipe, '--cache', cache, '--out', out, '--json', ...extra], { env });
}

/** Runs a build that must succeed; upToDate: it was answered from the stamp (`stderr` to explain a failed assertion). */
async function answered(
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<{ upToDate: boolean; index: string; stderr: string }> {
  const run = await build(extra, env);
  assert.equal(run.status, 0, explainRun(run));
  const json = JSON.parse(run.stdout) as { index: { digest: string }; upToDate?: boolean };
  assert.equal(json.upToDate === true, UP_TO_DATE.test(run.stderr), run.stderr);
  return { upToDate: json.upToDate === true, index: json.index.digest, stderr: run.stderr };
}

/** A build that must be answered from the stamp (true) or must run (false). */
async function expectUpToDate(expected: boolean, extra: string[] = [], env: Record<string, string> = {}): Promise<string> {
  const run = await answered(extra, env);
  assert.equal(run.upToDate, expected, `expected ${expected ? 'an answer from the stamp' : 'a build'}; stderr:\n${run.stderr}`);
  return run.index;
}

/** Every file of the layout by relative path, with the SHA256 of its bytes. */
async function tree(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (sub: string): Promise<void> => {
    for (const e of await readdir(join(dir, sub), { withFileTypes: true })) {
      const rel = sub === '' ? e.name : `${sub}/${e.name}`;
      if (e.isDirectory()) await walk(rel);
      else
        files.set(
          rel,
          createHash('sha256')
            .update(await readFile(join(dir, rel)))
            .digest('hex'),
        );
    }
  };
  await walk('');
  return files;
}

let first: { index: string };
let layout: Map<string, string>;
before(async () => {
  const repo = await makeFixtureDistro(join(work, 'repo'));
  server = await serveDir(repo.dir);
  project = await writeFixtureProject(join(work, 'project'), { url: server.url, keyring: repo.keyringPath, name: 'test/warm', tag: '1.0' });
  const lock = await runAlba(['lock', project.recipe, '--cache', join(work, 'cache-lock')]);
  assert.equal(lock.status, 0, explainRun(lock));
  first = await answered();
  layout = await tree(out);
});
after(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

describe('alba build with nothing changed', () => {
  test('is answered from the stamp: same digests, the layout untouched', async () => {
    const again = await answered();
    assert.equal(again.upToDate, true);
    assert.equal(again.index, first.index);
    assert.deepEqual(await tree(out), layout);
    const text = await runAlba(['build', project.recipe, '--cache', cache, '--out', out]);
    assert.equal(text.status, 0, explainRun(text));
    assert.match(text.stderr, UP_TO_DATE);
    assert.match(text.stdout, new RegExp(`index +${first.index}`));
  });

  test('is answered before the CLI is loaded (bin/alba.cjs runs dist/alba/warm.cjs first)', async () => {
    // Node's internal modules each run loaded, written at exit by a preloaded script: the CLI's
    // bundle is compiled by node:vm (dist/alba/code-cache.cjs), which warm.cjs never loads
    const probe = join(work, 'module-list.cjs');
    await writeFile(
      probe,
      "process.on('exit', () => require('node:fs').writeFileSync(process.env.ALBA_TEST_MODULES, process.moduleLoadList.join('\\n')));\n",
    );
    const loaded = async (extra: string[]): Promise<string[]> => {
      const list = join(work, 'modules.txt');
      const env = { NODE_OPTIONS: `--require ${probe}`, ALBA_TEST_MODULES: list };
      const run = await answered(extra, env);
      assert.equal(run.upToDate, extra.length === 0, run.stderr);
      return (await readFile(list, 'utf8')).split('\n');
    };
    const VM = 'NativeModule vm';
    assert.ok(!(await loaded([])).includes(VM), 'the warm answer loaded the CLI');
    // the probe sees it when the CLI runs (a build that cannot be answered)
    assert.ok((await loaded(['--annotation', 'probe=1'])).includes(VM));
    await expectUpToDate(false);
  });

  test('another command line is not answered by it (--arch, an annotation)', async () => {
    await expectUpToDate(false, ['--arch', 'amd64']);
    await expectUpToDate(false, ['--annotation', 'a=b']);
    // and the layout is rebuilt as the plain command line makes it
    await expectUpToDate(false);
    assert.deepEqual(await tree(out), layout);
    await expectUpToDate(true);
  });
});

describe('a changed input is built', () => {
  test('a recipe file (the program) with other bytes of the same size', async () => {
    const program = project.programs.get('amd64')!;
    const original = await readFile(program);
    await damageInPlace(program);
    const changed = await answered();
    assert.equal(changed.upToDate, false);
    assert.notEqual(changed.index, first.index);
    await writeFile(program, original);
    const back = await answered();
    assert.equal(back.upToDate, false);
    assert.equal(back.index, first.index);
    assert.deepEqual(await tree(out), layout);
  });

  test('the recipe', async () => {
    await appendFile(project.recipe, '# a comment\n');
    await expectUpToDate(false);
    await expectUpToDate(true);
  });

  test('the lock', async () => {
    const text = await readFile(project.lock, 'utf8');
    await writeFile(project.lock, `${JSON.stringify(JSON.parse(text), null, 1)}\n`);
    await expectUpToDate(false);
    await writeFile(project.lock, text);
    await expectUpToDate(false);
    await expectUpToDate(true);
  });

  test('SOURCE_DATE_EPOCH', async () => {
    await expectUpToDate(false, [], { SOURCE_DATE_EPOCH: '1700000000' });
    await expectUpToDate(false);
    assert.deepEqual(await tree(out), layout);
  });
});

describe('a changed --out is repaired', () => {
  const blobs = join(out, 'blobs', 'sha256');
  const biggest = async (): Promise<string> => {
    const names = await readdir(blobs);
    const sizes = await Promise.all(names.map(async (n) => [n, (await stat(join(blobs, n))).size] as const));
    return sizes.sort((a, b) => b[1] - a[1])[0]![0];
  };

  test('a blob damaged in place (same size, mtime restored)', async () => {
    await expectUpToDate(true);
    const name = await biggest();
    // a whole-second mtime, which damageInPlace() gives back exactly; the stamp's record of the blob is
    // renewed (its bytes hash as before), and after RACY_MS its stat alone is trusted
    await utimes(join(blobs, name), 1_700_000_000, 1_700_000_000);
    await expectUpToDate(true);
    await new Promise((r) => setTimeout(r, RACY_MS + 200));
    await expectUpToDate(true);
    await damageInPlace(join(blobs, name));
    await expectUpToDate(false);
    const bytes = await readFile(join(blobs, name));
    assert.equal(createHash('sha256').update(bytes).digest('hex'), name, 'the blob is written anew');
    assert.deepEqual(await tree(out), layout);
  });

  test('a file hashed again by an answer is recorded anew, so the next answer trusts its stat', async () => {
    await expectUpToDate(true);
    const path = join(blobs, await biggest());
    await utimes(path, 1_700_000_001, 1_700_000_001); // its ctime moves: the next answer hashes it
    await expectUpToDate(true);
    const ctimeNs = String((await stat(path, { bigint: true })).ctimeNs);
    const builds = join(cache, 'builds');
    const recorded: unknown[] = [];
    for (const name of await readdir(builds)) {
      if (name === 'verified.json' || !name.endsWith('.json')) continue;
      const stamp = JSON.parse(await readFile(join(builds, name), 'utf8')) as { outputs: { path: string; ctimeNs?: string }[] };
      recorded.push(...stamp.outputs.filter((r) => r.path === path).map((r) => r.ctimeNs));
    }
    assert.ok(recorded.includes(ctimeNs), `no stamp records ${path} with its new ctime ${ctimeNs}: ${recorded.join(', ')}`);
  });

  test('a missing blob, an extra file, a damaged index.json', async () => {
    await expectUpToDate(true);
    await rm(join(blobs, await biggest()));
    await expectUpToDate(false);
    assert.deepEqual(await tree(out), layout);

    await writeFile(join(blobs, 'f'.repeat(64)), 'stray');
    await expectUpToDate(false);
    assert.deepEqual(await tree(out), layout);

    await damageInPlace(join(out, 'index.json'));
    await expectUpToDate(false);
    assert.deepEqual(await tree(out), layout);
    await expectUpToDate(true);
  });
});
