import assert from 'node:assert/strict';
import { readdir, readFile, rm, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeFixtureDistro, writeFixtureProject, fixtureRecipeYaml } from '../helpers/fixture-distro.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';
import { explainRun, runAlba } from '../helpers/run-alba.js';

// A private archive's credentials, given in a --mirror URL, are used to fetch and recorded nowhere:
// not in the lock, the SBOMs, the provenance, the layout, nor anything printed. In a recipe's
// source URL (which the lock and the SBOMs record) they are refused.

const PASSWORD = 'm1rr0r-pass';
const SNAPSHOT = 'https://snapshot.debian.org/archive/debian/20240520T000000Z';
const work = await mkdtemp(join(tmpdir(), 'alba-mirror-credentials-'));
let mirror: RepoServer;
let keyring: string;

before(async () => {
  const repo = await makeFixtureDistro(join(work, 'repo'));
  keyring = repo.keyringPath;
  mirror = await serveDir(repo.dir);
});
after(async () => {
  await mirror?.close();
  await rm(work, { recursive: true, force: true });
});

/** Every file under `dir`, read as text (blobs included). */
async function allText(dir: string): Promise<string> {
  const parts: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) parts.push(await readFile(join(entry.parentPath, entry.name), 'latin1'));
  return parts.join('\n');
}

for (const [form, scheme] of [
  ['http://USER:PASSWORD@HOST', 'http://'],
  ['http:/USER:PASSWORD@HOST (one slash: URL parsers take it)', 'http:/'],
] as const) {
  test(`credentials of a --mirror URL (${form}) fetch the packages and are recorded and printed nowhere`, async () => {
    // a snapshot source (the ones --mirror applies to), fetched from the private mirror
    const dir = join(work, scheme === 'http://' ? 'two-slashes' : 'one-slash');
    const project = await writeFixtureProject(join(dir, 'project'), { url: SNAPSHOT, keyring, tag: 'private' });
    const withCredentials = `debian=${mirror.url.replace('http://', `${scheme}reader:${PASSWORD}@`)}`;
    const out = join(dir, 'out');
    const cache = join(dir, 'cache');
    const lock = await runAlba(['lock', project.recipe, '--mirror', withCredentials, '--cache', cache]);
    assert.equal(lock.status, 0, explainRun(lock));
    const res = await runAlba(['build', project.recipe, '--mirror', withCredentials, '--cache', cache, '--out', out, '--json']);
    assert.equal(res.status, 0, explainRun(res));
    assert.ok(
      mirror.requests.some((r) => r.endsWith('.deb')),
      'the packages came from the mirror',
    );
    assert.match(await allText(out), new RegExp(`${new URL(mirror.url).host}/pool/`), 'the SBOMs name where the packages came from');
    for (const [what, text] of [
      ['the layout (SBOMs, provenance, configs, layers)', await allText(out)],
      ['the lock', await readFile(project.lock, 'utf8')],
      ['the cache (indexes, layers, the build stamp a warm build answers from)', await allText(cache)],
      ['what was printed', `${lock.stdout}${lock.stderr}${res.stdout}${res.stderr}`],
    ] as const) {
      assert.ok(!text.includes(PASSWORD), `${what} holds the password`);
      assert.ok(!text.includes(encodeURIComponent(PASSWORD)), `${what} holds the password, encoded`);
    }
  });
}

test('a recipe source URL with credentials is RECIPE_INVALID, without printing them', async () => {
  const dir = join(work, 'in-recipe');
  await writeFixtureProject(dir, { url: SNAPSHOT, keyring });
  const recipe = join(dir, 'recipe.yaml');
  await writeFile(recipe, fixtureRecipeYaml({ url: mirror.url.replace('http://', `http://reader:${PASSWORD}@`), keyring }));
  const res = await runAlba(['build', recipe, '--cache', join(work, 'cache'), '--out', join(work, 'never')]);
  assert.equal(res.status, 1, explainRun(res));
  assert.match(res.stderr, /error\[RECIPE_INVALID\]/);
  assert.match(res.stderr, /holds a user name or password/);
  assert.ok(!`${res.stdout}${res.stderr}`.includes(PASSWORD), res.stderr);
});
