import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { checkLayout, readLayout } from '../../src/source/oci-layout.js';
import { makeFixtureDistro, writeFixtureProject } from '../helpers/fixture-distro.js';
import { repoRoot } from '../helpers/repo-root.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';

// alba as a package: `npm pack`, installed into a scratch project, imported by name (`import
// { lock, build, publish } from 'alba'`), type-checked against its declarations, and used to
// build the fixture image and read its SBOM, without the CLI.

const work = await mkdtemp(join(tmpdir(), 'alba-package-'));
let server: RepoServer;
let recipe: string;
const scratch = join(work, 'scratch');

before(async () => {
  const repo = await makeFixtureDistro(join(work, 'repo'));
  server = await serveDir(repo.dir);
  recipe = (await writeFixtureProject(join(work, 'project'), { url: server.url, keyring: repo.keyringPath, tag: 'pkg' })).recipe;
  await mkdir(scratch, { recursive: true });
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: repoRoot(), encoding: 'utf8' });
  assert.equal(pack.status, 0, pack.stderr);
  const tarball = (await readdir(work)).find((n) => n.endsWith('.tgz'));
  assert.ok(tarball !== undefined, pack.stdout);
  await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  const install = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(work, tarball)], {
    cwd: scratch,
    encoding: 'utf8',
  });
  assert.equal(install.status, 0, install.stderr);
});
after(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

const PROGRAM = `
import { build, defaultCacheDir, fetchTargets, isAlbaError, loadRecipe, lock, openLayoutSink, publish, readSbom } from 'alba';

const [recipePath, cacheDir, out] = process.argv.slice(2);
const lines: string[] = [];
const log = (line: string): void => void lines.push(line);
const recipe = await loadRecipe(recipePath!);
const targets = await fetchTargets(recipe, undefined);
const { lock: locked } = await lock(recipe, { targets, cacheDir: cacheDir ?? defaultCacheDir(), allowInsecure: false, log });
const result = await build({ recipe, lock: locked, cacheDir: cacheDir!, targets, log });
const published = await publish(result.graph, await openLayoutSink({ dir: out! }), [recipe.tag]);
const sbom = JSON.parse((await readSbom(out!, { platform: 'arm64' })).toString('utf8')) as { spdxVersion: string };
let code = '';
try {
  await loadRecipe('/no/such/recipe.yaml');
} catch (err) {
  if (isAlbaError(err)) code = err.code;
}
process.stdout.write(JSON.stringify({ index: result.index.digest, root: published.root.digest, spdx: sbom.spdxVersion, code, logged: lines.length }));
`;

test('the packed package is imported by name, type-checks, locks, builds, publishes and reads an SBOM in-process', async () => {
  await writeFile(join(scratch, 'program.ts'), PROGRAM);
  const tsc = join(repoRoot(), 'node_modules', 'typescript', 'bin', 'tsc');
  const typeRoots = join(repoRoot(), 'node_modules', '@types');
  const check = spawnSync(
    process.execPath,
    [
      tsc,
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--skipLibCheck',
      '--typeRoots',
      typeRoots,
      '--types',
      'node',
      '--outDir',
      '.',
      'program.ts',
    ],
    { cwd: scratch, encoding: 'utf8' },
  );
  assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  const out = join(work, 'layout');
  // spawned asynchronously: the fixture's repository server runs in this process
  const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['program.js', recipe, join(work, 'cache'), out], { cwd: scratch });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, '', 'the library prints nothing');
  const facts = JSON.parse(run.stdout) as { index: string; root: string; spdx: string; code: string; logged: number };
  assert.equal(facts.root, facts.index);
  assert.equal(facts.spdx, 'SPDX-2.3');
  assert.equal(facts.code, 'RECIPE_NOT_FOUND', 'the same typed errors');
  assert.ok(facts.logged > 0, 'messages went to the log callback');
  const layout = await readLayout(out);
  await checkLayout(layout, { hashes: true });
  assert.equal(layout.findRef('pkg')?.digest, facts.index);
});
