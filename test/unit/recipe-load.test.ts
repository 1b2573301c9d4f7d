import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { loadRecipe } from '../../src/recipe/load.js';
import { parseRecipe } from '../../src/recipe/parse.js';
import { repoRoot } from '../helpers/repo-root.js';

test('loadRecipe resolves paths against the recipe directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'alba-recipe-'));
  try {
    const file = join(dir, 'app.yaml');
    await writeFile(
      file,
      'name: app\narchs: [amd64]\nsnapshot: 20250520T000000Z\ndist: bookworm\npackages: [libc6]\nkeyring: [k.gpg]\nfiles: [{src: "bin/{arch}", dst: /app}]\n',
    );
    const r = await loadRecipe(file);
    assert.equal(r.path, file);
    assert.deepEqual(r.keyrings, [join(dir, 'k.gpg')]);
    assert.equal(r.files[0]!.src, join(dir, 'bin/{arch}'));
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('loadRecipe of a missing file is RECIPE_NOT_FOUND naming the path', async () => {
  const missing = join(tmpdir(), 'alba-no-such-dir', 'recipe.yaml');
  await assert.rejects(loadRecipe(missing), (err) => isAlbaError(err, 'RECIPE_NOT_FOUND') && err.message.includes(missing));
});

test('loadRecipe reports problems with the path as given', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'alba-recipe-'));
  try {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'name: app\narchs: [amd64]\n');
    await assert.rejects(
      loadRecipe(file),
      (err) => isAlbaError(err, 'RECIPE_INVALID') && err.message.startsWith(`${file}:1:1: missing required key "packages"`),
    );
  } finally {
    await rm(dir, { recursive: true });
  }
});

const examples: Array<{ file: string; resolve: string; packages: string[]; extra?: (r: Awaited<ReturnType<typeof loadRecipe>>) => void }> =
  [
    { file: 'static', resolve: 'explicit', packages: ['base-files', 'netbase', 'media-types', 'tzdata', 'ca-certificates'] },
    {
      file: 'base',
      resolve: 'dependencies',
      packages: ['base-files', 'netbase', 'media-types', 'tzdata', 'ca-certificates', 'libc6', 'libssl3'],
      extra: (r) => assert.deepEqual(r.exclude, ['awk', 'debconf', 'openssl']),
    },
    {
      file: 'busybox',
      resolve: 'explicit',
      packages: ['base-files', 'netbase', 'media-types', 'tzdata', 'ca-certificates', 'busybox-static'],
      extra: (r) => assert.deepEqual([r.entrypoint, r.cmd], [['/bin/busybox'], ['sh']]),
    },
  ];
for (const e of examples) {
  test(`example recipes/${e.file}.yaml is valid`, async () => {
    const r = await loadRecipe(join(repoRoot(), 'recipes', `${e.file}.yaml`));
    assert.equal(r.name, `distroless/${e.file}`);
    assert.deepEqual(
      r.archs.map((a) => a.name),
      ['amd64', 'arm64'],
    );
    assert.equal(r.snapshot, '20250520T000000Z');
    assert.deepEqual(
      r.sources.map((s) => s.suites),
      [['bookworm', 'bookworm-updates'], ['bookworm-security']],
    );
    assert.equal(r.resolve, e.resolve);
    assert.deepEqual(
      r.packages.map((p) => p.name),
      e.packages,
    );
    assert.equal(r.runAs, 'nonroot');
    e.extra?.(r);
  });
}

test('the YAML examples of docs/recipe.md are valid recipes', async () => {
  const doc = await readFile(join(repoRoot(), 'docs', 'recipe.md'), 'utf8');
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.equal(blocks.length, 3);
  const full = parseRecipe(blocks[0]!, 'example.yaml', '/r');
  assert.deepEqual(full.env, { APP_PORT: '8080' });
  const minimal = 'name: a\narchs: [amd64]\nsnapshot: 20250520T000000Z\ndist: bookworm\npackages: [libc6]\n';
  const paths = parseRecipe(minimal + blocks[1]!, 'paths.yaml', '/r');
  assert.deepEqual(
    paths.paths.map((p) => p.type),
    ['symlink', 'directory'],
  );
  const accounts = parseRecipe(minimal + blocks[2]!, 'accounts.yaml', '/r');
  assert.deepEqual(
    accounts.users.map((u) => u.name),
    ['root', 'app'],
  );
  assert.equal(accounts.runAs, 'app');
});
