import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeFixtureDistro, writeFixtureProject, type FixtureProject } from '../helpers/fixture-distro.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';
import { runAlba, type AlbaRun } from '../helpers/run-alba.js';

// Command-line options of `alba build` beyond the recipe: --annotation and --arch.

const work = await mkdtemp(join(tmpdir(), 'alba-build-options-'));
const cache = join(work, 'cache');
let server: RepoServer;
let project: FixtureProject;
before(async () => {
  const repo = await makeFixtureDistro(join(work, 'repo'));
  server = await serveDir(repo.dir);
  project = await writeFixtureProject(join(work, 'project'), { url: server.url, keyring: repo.keyringPath, tag: 'opt' });
  const lock = await runAlba(['lock', project.recipe, '--cache', cache]);
  assert.equal(lock.status, 0, lock.stderr);
});
after(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

async function indexOf(layout: string): Promise<{ manifests: { platform?: { architecture: string } }[]; annotations?: Record<string, string> }> {
  const layoutIndex = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const top = layoutIndex.manifests[0]!;
  return JSON.parse(await readFile(join(layout, 'blobs', 'sha256', top.digest.slice(7)), 'utf8'));
}

function explain(run: AlbaRun): string {
  return `status ${run.status}\n${run.stderr}`;
}

test('--annotation adds to the index and manifests and wins over the recipe; created stays SOURCE_DATE_EPOCH', async () => {
  const out = join(work, 'annotated');
  const revision = 'org.opencontainers.image.revision=0123abc';
  const run = await runAlba(['build', project.recipe, '--cache', cache, '--out', out, '--annotation', revision, '--annotation', 'org.opencontainers.image.version=1.2.3']);
  assert.equal(run.status, 0, explain(run));
  const index = await indexOf(out);
  assert.equal(index.annotations?.['org.opencontainers.image.revision'], '0123abc');
  assert.equal(index.annotations?.['org.opencontainers.image.version'], '1.2.3');
  assert.equal(index.annotations?.['org.opencontainers.image.created'], '2024-05-20T00:00:00Z');
});

test('--annotation without = is a USAGE error (exit 2) and writes nothing', async () => {
  const out = join(work, 'bad-annotation');
  const run = await runAlba(['build', project.recipe, '--cache', cache, '--out', out, '--annotation', 'no-equals-sign']);
  assert.equal(run.status, 2, explain(run));
  assert.match(run.stderr, /^alba: error\[USAGE\]: --annotation no-equals-sign: expected KEY=VALUE/);
  await assert.rejects(readFile(join(out, 'index.json')));
});

test('--arch builds only the named archs (Debian aliases accepted); an arch outside the recipe is USAGE', async () => {
  const out = join(work, 'one-arch');
  const run = await runAlba(['build', project.recipe, '--cache', cache, '--out', out, '--arch', 'arm64', '--json']);
  assert.equal(run.status, 0, explain(run));
  assert.deepEqual((await indexOf(out)).manifests.map((m) => m.platform?.architecture), ['arm64']);
  assert.deepEqual((JSON.parse(run.stdout) as { manifests: { platform: string }[] }).manifests.map((m) => m.platform), ['arm64']);
  const other = await runAlba(['build', project.recipe, '--cache', cache, '--out', out, '--arch', 'armhf']);
  assert.equal(other.status, 2, explain(other));
  assert.match(other.stderr, /error\[USAGE\]: --arch armhf: not one of the recipe's archs/);
});
