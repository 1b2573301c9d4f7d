import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LockCheck } from '../../src/lock/check.js';
import type { LockFile } from '../../src/lock/lock-types.js';
import { makeRepo, makeRepoKey, type RepoPackage } from '../helpers/make-repo.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';
import { explainRun, runAlba } from '../helpers/run-alba.js';

// `alba lock RECIPE --check` as a scheduled CI job runs it: the compiled CLI against a signed fixture
// repository on 127.0.0.1 with a stable and a stable-security suite.

const work = await mkdtemp(join(tmpdir(), 'alba-lock-check-'));
const ARCHS = ['amd64', 'arm64'];
let server: RepoServer;
let recipe: string;
let lockPath: string;
let cache: string;

function perArch(control: Record<string, string>): RepoPackage[] {
  return ARCHS.map((arch) => ({ arch, deb: { control: { ...control, Architecture: arch } } }));
}

before(async () => {
  const key = await makeRepoKey();
  const libc = { Package: 'libc6', Source: 'glibc' };
  const repo = await makeRepo(join(work, 'repo'), {
    key,
    suites: [
      {
        name: 'stable',
        architectures: ARCHS,
        components: [
          {
            name: 'main',
            packages: [...perArch({ Package: 'app', Version: '1.0-1', Depends: 'libc6' }), ...perArch({ ...libc, Version: '2.36-9' })],
          },
        ],
      },
      {
        name: 'stable-security',
        architectures: ARCHS,
        components: [{ name: 'main', packages: perArch({ ...libc, Version: '2.36-9+deb12u3' }) }],
      },
    ],
  });
  server = await serveDir(repo.dir);
  recipe = join(work, 'recipe.yaml');
  lockPath = join(work, 'recipe.lock.json');
  cache = join(work, 'cache');
  const yaml = [
    'name: test/app',
    `archs: [${ARCHS.join(', ')}]`,
    'sources:',
    `  - url: ${server.url}`,
    '    suites: [stable, stable-security]',
    '    components: [main]',
    `keyring: [${repo.keyringPath}]`,
    'packages: [app]',
    '',
  ].join('\n');
  await writeFile(recipe, yaml);
  const locked = await runAlba(['lock', recipe, '--cache', cache]);
  assert.equal(locked.status, 0, explainRun(locked));
});
after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

test('a current lock: exit 0, "is current", the lock file untouched', async () => {
  const before = await readFile(lockPath);
  const run = await runAlba(['lock', recipe, '--check', '--cache', cache]);
  assert.equal(run.status, 0, explainRun(run));
  assert.match(run.stdout, /is current\n$/);
  assert.deepEqual(await readFile(lockPath), before);
});

test('a lock older than the sources: exit 3, each package per arch, locked → available, from a security suite; nothing written', async () => {
  const lock = JSON.parse(await readFile(lockPath, 'utf8')) as LockFile;
  for (const arch of ARCHS) for (const p of lock.archs[arch]!) if (p.name === 'libc6') p.version = '2.36-9+deb12u1';
  const older = `${JSON.stringify(lock, null, 2)}\n`;
  await writeFile(lockPath, older);
  const run = await runAlba(['lock', recipe, '--check', '--json', '--cache', cache]);
  assert.equal(run.status, 3, explainRun(run));
  const result = JSON.parse(run.stdout) as LockCheck;
  assert.equal(result.current, false);
  assert.equal(result.recipeChanged, false);
  assert.deepEqual(
    result.changes.map((c) => [c.arch, c.name, c.architecture, c.locked, c.available, c.suite, c.security, c.kind]),
    ARCHS.map((a) => [a, 'libc6', a, '2.36-9+deb12u1', '2.36-9+deb12u3', 'stable-security', true, 'newer']),
  );
  assert.equal(await readFile(lockPath, 'utf8'), older, '--check wrote the lock file');
  const text = await runAlba(['lock', recipe, '--check', '--cache', cache]);
  assert.equal(text.status, 3, explainRun(text));
  assert.match(text.stdout, /^amd64 +libc6 \(amd64\) 2\.36-9\+deb12u1 → 2\.36-9\+deb12u3 +stable-security \[security\]$/m);
  assert.match(text.stdout, /2 package change\(s\), 2 from a security suite; run `alba lock --update`\n$/);
  const updated = await runAlba(['lock', recipe, '--update', '--cache', cache]);
  assert.equal(updated.status, 0, explainRun(updated));
  const after = await runAlba(['lock', recipe, '--check', '--cache', cache]);
  assert.equal(after.status, 0, `after --update: ${explainRun(after)}`);
});

test('errors exit 1, not 3: an unreachable source', async () => {
  const yaml = (await readFile(recipe, 'utf8')).replace(server.url, 'http://127.0.0.1:9/');
  const other = join(work, 'unreachable.yaml');
  await writeFile(other, yaml);
  await writeFile(join(work, 'unreachable.lock.json'), await readFile(lockPath));
  const run = await runAlba(['lock', other, '--check', '--cache', cache]);
  assert.equal(run.status, 1, explainRun(run));
  assert.match(run.stderr, /error\[/);
});

test('no lock to check, and --snapshot on a recipe without snapshot:, are errors', async () => {
  const other = join(work, 'nolock.yaml');
  await writeFile(other, await readFile(recipe, 'utf8'));
  const none = await runAlba(['lock', other, '--check', '--cache', cache]);
  assert.equal(none.status, 1, explainRun(none));
  assert.match(none.stderr, /error\[LOCK_INVALID\].*no lock file to check/);
  const snap = await runAlba(['lock', recipe, '--check', '--snapshot', 'latest', '--cache', cache]);
  assert.equal(snap.status, 2, explainRun(snap));
  assert.match(snap.stderr, /has no snapshot: key/);
});
