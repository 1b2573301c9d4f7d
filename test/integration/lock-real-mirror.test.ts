import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import type { LockedPackage, LockFile } from '../../src/lock/lock-types.js';
import { repoRoot } from '../helpers/repo-root.js';
import { runAlba, type AlbaRun } from '../helpers/run-alba.js';
import { requireTool } from '../helpers/tools.js';

// `alba lock` of the shipped recipes against the host's Debian mirror (`--mirror apt`), checked
// against known facts of bookworm and against the .debs `apt-get download` fetches from the same
// mirror. Outside CI an unreachable mirror skips these tests; with CI=true it fails them.

const work = await mkdtemp(join(tmpdir(), 'alba-lock-real-'));
after(() => rm(work, { recursive: true, force: true }));

const ARCHS = ['amd64', 'arm64'] as const;

interface Locked {
  run: AlbaRun;
  lock?: LockFile;
}

const locks = new Map<string, Promise<Locked>>();

/** Locks a copy of recipes/NAME.yaml (so no lock file is written into the repository), once per file. */
function lockRecipe(name: 'static' | 'base'): Promise<Locked> {
  let pending = locks.get(name);
  if (pending === undefined) {
    pending = (async () => {
      const dir = join(work, name);
      await mkdir(dir);
      const recipe = join(dir, `${name}.yaml`);
      await copyFile(join(repoRoot(), 'recipes', `${name}.yaml`), recipe);
      const run = await runAlba(['lock', recipe, '--mirror', 'apt', '--cache', join(work, 'cache')], { timeoutMs: 300_000 });
      if (run.status !== 0) return { run };
      return { run, lock: JSON.parse(await readFile(join(dir, `${name}.lock.json`), 'utf8')) as LockFile };
    })();
    locks.set(name, pending);
  }
  return pending;
}

/** The lock of recipes/NAME.yaml; undefined (test skipped) when the mirror is unreachable outside CI. */
async function lockOrSkip(t: TestContext, name: 'static' | 'base'): Promise<LockFile | undefined> {
  const { run, lock } = await lockRecipe(name);
  if (lock !== undefined) return lock;
  if (/error\[(NETWORK|APT_SOURCES)\]/.test(run.stderr) && process.env.CI !== 'true') {
    t.skip(`the host's Debian mirror is not usable: ${run.stderr.split('\n')[0]}`);
    return undefined;
  }
  assert.fail(`alba lock ${name}.yaml --mirror apt failed (status ${run.status}):\n${run.stderr}`);
}

function packagesOf(lock: LockFile, arch: string): Map<string, LockedPackage> {
  return new Map((lock.archs[arch] ?? []).map((p) => [p.name, p]));
}

test('real mirror: recipes/static.yaml locks exactly its five packages (resolve: explicit) for amd64 and arm64', async (t) => {
  const lock = await lockOrSkip(t, 'static');
  if (lock === undefined) return;
  assert.deepEqual(Object.keys(lock.archs), ['amd64', 'arm64']);
  for (const arch of ARCHS) {
    const packages = packagesOf(lock, arch);
    assert.deepEqual([...packages.keys()], ['base-files', 'ca-certificates', 'media-types', 'netbase', 'tzdata'], arch);
    assert.equal(packages.get('base-files')?.architecture, arch);
    for (const name of ['ca-certificates', 'media-types', 'netbase', 'tzdata'])
      assert.equal(packages.get(name)?.architecture, 'all', `${arch} ${name}`);
  }
});

test('real mirror: recipes/base.yaml locks glibc, libgcc and OpenSSL per arch, the data packages as `all`', async (t) => {
  const lock = await lockOrSkip(t, 'base');
  if (lock === undefined) return;
  assert.deepEqual(lock.releases.map((r) => r.suite).sort(), ['bookworm', 'bookworm-security', 'bookworm-updates']);
  for (const r of lock.releases)
    assert.match(
      r.repo,
      /^https:\/\/snapshot\.debian\.org\/archive\/debian(-security)?\/20250520T000000Z$/,
      'the lock keeps the recipe URLs, not the mirror',
    );
  for (const arch of ARCHS) {
    const packages = packagesOf(lock, arch);
    for (const name of ['base-files', 'libc6', 'libgcc-s1', 'gcc-12-base', 'libssl3']) {
      assert.equal(packages.get(name)?.architecture, arch, `${arch}: ${name}`);
    }
    for (const name of ['tzdata', 'netbase', 'ca-certificates']) assert.equal(packages.get(name)?.architecture, 'all', `${arch}: ${name}`);
    for (const name of ['awk', 'mawk', 'debconf', 'openssl', 'perl-base'])
      assert.ok(!packages.has(name), `${arch}: ${name} is excluded or not needed`);
    assert.equal(packages.get('libc6')?.source, 'glibc');
    assert.equal(packages.get('libgcc-s1')?.source, packages.get('gcc-12-base')?.source, 'both come from gcc-12');
    assert.ok(packages.get('libc6')?.dependsOn.includes('libgcc-s1'), `${arch}: libc6 depends on libgcc-s1`);
    assert.ok(packages.get('libgcc-s1')?.dependsOn.includes('gcc-12-base'), `${arch}: libgcc-s1 depends on gcc-12-base`);
    assert.ok(packages.get('libssl3')?.dependsOn.includes('libc6'), `${arch}: libssl3 depends on libc6`);
    for (const p of packages.values()) {
      assert.match(p.filename, new RegExp(`^pool/(updates/)?main/.+_${p.architecture}\\.deb$`), `${arch}: ${p.name}`);
      assert.match(p.sha256, /^[0-9a-f]{64}$/);
      assert.ok(p.size > 0);
    }
  }
  const amd64 = packagesOf(lock, 'amd64');
  const arm64 = packagesOf(lock, 'arm64');
  for (const name of ['libc6', 'base-files']) {
    assert.equal(amd64.get(name)?.version, arm64.get(name)?.version, `${name}: same version on both archs`);
    assert.notEqual(amd64.get(name)?.sha256, arm64.get(name)?.sha256, `${name}: different .debs per arch`);
  }
  assert.equal(amd64.get('tzdata')?.sha256, arm64.get('tzdata')?.sha256, 'tzdata: one `all` .deb for both archs');
});

/** Runs apt-get with a private state (lists, cache) for one architecture, leaving the host's apt state alone. */
function aptGet(stateDir: string, arch: string, args: string[], cwd: string): void {
  const options = [
    `APT::Architecture=${arch}`,
    `APT::Architectures=${arch}`,
    `Dir::State::Lists=${join(stateDir, 'lists')}`,
    `Dir::Cache=${join(stateDir, 'cache')}`,
    'Dir::State::status=/dev/null',
  ].flatMap((o) => ['-o', o]);
  const res = spawnSync('apt-get', ['-q', ...options, ...args], { cwd, encoding: 'utf8', timeout: 300_000 });
  assert.equal(res.status, 0, `apt-get ${args.join(' ')} failed:\n${res.stdout}\n${res.stderr}`);
}

for (const arch of ARCHS) {
  test(`real mirror: the lock's libc6 and base-files for ${arch} are the .debs apt-get download fetches`, async (t) => {
    const lock = await lockOrSkip(t, 'base');
    if (lock === undefined || !requireTool('apt-get', t)) return;
    const state = join(work, `apt-${arch}`);
    const downloads = join(state, 'debs');
    for (const dir of ['lists/partial', 'cache/archives/partial', 'debs']) await mkdir(join(state, dir), { recursive: true });
    aptGet(state, arch, ['update'], state);
    const names = ['libc6', 'base-files'];
    aptGet(state, arch, ['download', ...names.map((n) => `${n}:${arch}`)], downloads);
    const files = await readdir(downloads);
    const packages = packagesOf(lock, arch);
    for (const name of names) {
      const file = files.find((f) => f.startsWith(`${name}_`) && f.endsWith(`_${arch}.deb`));
      assert.ok(file !== undefined, `apt-get download gave no ${name} .deb for ${arch}: ${files.join(' ')}`);
      const locked = packages.get(name);
      assert.ok(locked !== undefined, `${name} not in the ${arch} lock`);
      const data = await readFile(join(downloads, file));
      const aptVersion = decodeURIComponent(file.slice(name.length + 1, -`_${arch}.deb`.length));
      assert.equal(locked.version, aptVersion, `${name} ${arch}: version`);
      assert.equal(locked.size, data.length, `${name} ${arch}: size`);
      assert.equal(locked.sha256, createHash('sha256').update(data).digest('hex'), `${name} ${arch}: sha256`);
    }
  });
}
