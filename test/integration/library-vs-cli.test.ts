import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildRecipe, isAlbaError, isLockFresh, loadRecipe, openSink, parseTags, publish, readLock, writeOutput } from '../../src/index.js';
import { makeFixtureDistro, writeFixtureProject, type FixtureProject } from '../helpers/fixture-distro.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';
import { explainRun, runAlba } from '../helpers/run-alba.js';

// The orchestration of `alba build` lives in the library (buildRecipe, writeOutput, openSink): a
// library caller building the fixture gets the image the CLI builds, digest for digest, with the
// recipe's lock, without one (resolving, as the CLI does), and LOCK_STALE for a stale lock.

const work = await mkdtemp(join(tmpdir(), 'alba-library-vs-cli-'));
let server: RepoServer;
let project: FixtureProject;
let keyringPath: string;
/** The CLI's build: `--json` of `alba build` after `alba lock`. */
let cli: { index: { digest: string }; manifests: { platform: string; digest: string }[] };

before(async () => {
  const repo = await makeFixtureDistro(join(work, 'repo'));
  server = await serveDir(repo.dir);
  keyringPath = repo.keyringPath;
  project = await writeFixtureProject(join(work, 'project'), { url: server.url, keyring: keyringPath, tag: 'lib' });
  const lock = await runAlba(['lock', project.recipe, '--cache', join(work, 'cli-cache')]);
  assert.equal(lock.status, 0, explainRun(lock));
  const built = await runAlba(['build', project.recipe, '--cache', join(work, 'cli-cache'), '--out', join(work, 'cli-out'), '--json']);
  assert.equal(built.status, 0, explainRun(built));
  cli = JSON.parse(built.stdout) as typeof cli;
});
after(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

describe('buildRecipe and the CLI', () => {
  test('with the lock file: the same index and manifests, and the same layout (index.json byte for byte)', async () => {
    const built = await buildRecipe(project.recipe, { cacheDir: join(work, 'lib-cache') });
    assert.equal(built.resolved, false, 'the lock beside the recipe was used');
    assert.equal(built.index.digest, cli.index.digest);
    assert.deepEqual(
      built.images.map((i) => ({ platform: i.arch.name, digest: i.manifest.digest })),
      cli.manifests.map(({ platform, digest }) => ({ platform, digest })),
    );
    const out = join(work, 'lib-out');
    assert.deepEqual(await writeOutput(built.graph, { format: 'oci', out, tag: built.recipe.tag }), [out]);
    assert.equal(await readFile(join(out, 'index.json'), 'utf8'), await readFile(join(work, 'cli-out', 'index.json'), 'utf8'));
  });

  test('a Recipe object without a lock is resolved as the CLI resolves it: the same index', async () => {
    const recipe = await loadRecipe(project.recipe);
    const lines: string[] = [];
    const built = await buildRecipe(recipe, { cacheDir: join(work, 'lib-cache-nolock'), log: (l) => lines.push(l) });
    assert.equal(built.resolved, true);
    assert.ok(
      lines.some((l) => /no lock file .*resolving now/.test(l)),
      lines.join('\n'),
    );
    assert.equal(built.index.digest, cli.index.digest);
  });

  test('a stale lock is LOCK_STALE (path and Recipe object alike), and isLockFresh says so', async () => {
    const lock = await readLock(project.lock);
    assert.ok(lock !== undefined);
    const recipe = await loadRecipe(project.recipe);
    assert.equal(isLockFresh(lock, recipe), true);
    const other = { ...recipe, archs: recipe.archs.slice(0, 1) };
    assert.equal(isLockFresh(lock, other), false);
    await assert.rejects(buildRecipe(other, { lock, cacheDir: join(work, 'lib-cache') }), (err) => isAlbaError(err, 'LOCK_STALE'));
    const stale = await writeFixtureProject(join(work, 'stale'), { url: server.url, keyring: keyringPath, tag: 'lib', archs: ['amd64'] });
    await writeFile(stale.lock, await readFile(project.lock));
    await assert.rejects(
      buildRecipe(stale.recipe, { cacheDir: join(work, 'lib-cache') }),
      (err) => isAlbaError(err, 'LOCK_STALE') && err.message.includes(stale.lock),
    );
    const run = await runAlba(['build', stale.recipe, '--cache', join(work, 'cli-cache'), '--out', join(work, 'stale-out')]);
    assert.equal(run.status, 1, explainRun(run));
    assert.match(run.stderr, /error\[LOCK_STALE\]/);
  });

  test("openSink on oci:DIR stores the graph as `alba container push` does: the pinned digest is the CLI build's index", async () => {
    const built = await buildRecipe(project.recipe, { cacheDir: join(work, 'lib-cache') });
    const dir = join(work, 'pushed');
    const opened = await openSink(`oci:${dir}`, { tags: parseTags(['lib']) });
    const result = await publish(built.graph, opened.sink, opened.tags);
    assert.equal(opened.pinned(result.root.digest), `oci:${dir}@${cli.index.digest}`);
    const run = await runAlba(['container', 'push', '-t', 'lib', join(work, 'cli-out'), `oci:${join(work, 'cli-pushed')}`]);
    assert.equal(run.status, 0, explainRun(run));
    assert.equal(run.stdout.trim(), `oci:${join(work, 'cli-pushed')}@${cli.index.digest}`);
  });
});
