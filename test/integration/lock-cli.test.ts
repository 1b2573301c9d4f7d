import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ErrorCode } from '../../src/errors.js';
import type { LockedPackage, LockFile } from '../../src/lock/lock-types.js';
import { makeRepo, makeRepoKey, type Repo, type RepoKey, type RepoOptions, type RepoPackage } from '../helpers/make-repo.js';
import { serveDir, type Fault, type RepoServer } from '../helpers/repo-server.js';
import { albaBin, type AlbaRun, explainRun, runAlba } from '../helpers/run-alba.js';

// End-to-end tests of `alba lock` as a user runs it: the compiled CLI (run `tsc -p .` first) as a
// child process, against a signed fixture repository served on 127.0.0.1.

const work = await mkdtemp(join(tmpdir(), 'alba-lock-cli-'));
const servers: RepoServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(work, { recursive: true, force: true });
});

const ARCHS = ['amd64', 'arm64'];

/** One package built for each of ARCHS. */
function perArch(control: Record<string, string>): RepoPackage[] {
  return ARCHS.map((arch) => ({
    arch,
    deb: { control: { ...control, Architecture: arch }, files: [{ path: `./usr/share/doc/${control['Package']}/${arch}`, content: arch }] },
  }));
}

/** Architecture `all`: listed in every binary-<arch> index. */
function archAll(control: Record<string, string>): RepoPackage {
  return { arch: 'all', deb: { control: { ...control, Architecture: 'all' } } };
}

/**
 * stable: app needs libc6, `libssl3 | libssl1.1` (only the second exists) and the virtual
 * mail-transport-agent (provided by tinymta, `all`); chainy → broken → libmissing is unsatisfiable.
 * stable-updates: a newer libc6, which the lock must prefer.
 */
function repoOptions(key: RepoKey, extra: Partial<RepoOptions> = {}): RepoOptions {
  return {
    key,
    suites: [
      {
        name: 'stable',
        architectures: ARCHS,
        components: [
          {
            name: 'main',
            packages: [
              ...perArch({ Package: 'app', Version: '1.0-1', Depends: 'libc6 (>= 2.36), libssl3 | libssl1.1, mail-transport-agent' }),
              ...perArch({ Package: 'libc6', Version: '2.36-9', Source: 'glibc', Depends: 'libgcc-s1', 'Multi-Arch': 'same' }),
              ...perArch({ Package: 'libgcc-s1', Version: '12.2.0-14', Source: 'gcc-12', Depends: 'gcc-12-base (= 12.2.0-14)' }),
              ...perArch({ Package: 'gcc-12-base', Version: '12.2.0-14', Source: 'gcc-12' }),
              ...perArch({ Package: 'libssl1.1', Version: '1.1.1w-1', Source: 'openssl1.1' }),
              ...perArch({ Package: 'broken', Version: '1.0', Depends: 'libmissing (>= 1)' }),
              archAll({ Package: 'tinymta', Version: '0.1-1', Provides: 'mail-transport-agent' }),
              archAll({ Package: 'tzdata', Version: '2025b-1' }),
              archAll({ Package: 'chainy', Version: '1.0', Depends: 'broken' }),
            ],
          },
        ],
      },
      {
        name: 'stable-updates',
        architectures: ARCHS,
        components: [
          {
            name: 'main',
            packages: perArch({ Package: 'libc6', Version: '2.36-9+deb12u1', Source: 'glibc', Depends: 'libgcc-s1', 'Multi-Arch': 'same' }),
          },
        ],
      },
    ],
    ...extra,
  };
}

interface RecipeSpec {
  url: string;
  suites?: string[];
  archs?: string[];
  packages?: string[];
  keyring?: string;
}

function recipeYaml(spec: RecipeSpec): string {
  return [
    'name: test/app',
    `archs: [${(spec.archs ?? ARCHS).join(', ')}]`,
    'sources:',
    `  - url: ${spec.url}`,
    `    suites: [${(spec.suites ?? ['stable', 'stable-updates']).join(', ')}]`,
    '    components: [main]',
    `keyring: [${spec.keyring ?? keyringPath}]`,
    `packages: [${(spec.packages ?? ['app', 'tzdata']).join(', ')}]`,
    '',
  ].join('\n');
}

let counter = 0;
/** A fresh directory holding `recipe.yaml`; the cache goes to a sibling directory. */
async function recipeDir(yaml: string): Promise<{ dir: string; recipe: string; lock: string; cache: string }> {
  const dir = join(work, `case-${++counter}`);
  await mkdir(dir);
  const recipe = join(dir, 'recipe.yaml');
  await writeFile(recipe, yaml);
  return { dir, recipe, lock: join(dir, 'recipe.lock.json'), cache: join(work, `cache-${counter}`) };
}

async function served(dir: string, faults: Record<string, Fault> = {}): Promise<RepoServer> {
  const server = await serveDir(dir);
  servers.push(server);
  for (const [path, fault] of Object.entries(faults)) server.fault(path, fault);
  return server;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let key: RepoKey;
let repo: Repo;
let keyringPath: string;
let server: RepoServer;
before(async () => {
  key = await makeRepoKey();
  repo = await makeRepo(join(work, 'repo'), repoOptions(key));
  keyringPath = repo.keyringPath;
  server = await served(repo.dir);
});

describe('alba lock on a good recipe', () => {
  let ctx: Awaited<ReturnType<typeof recipeDir>>;
  let first: AlbaRun;
  let lockBytes: Buffer;
  let lock: LockFile;
  before(async () => {
    ctx = await recipeDir(recipeYaml({ url: server.url }));
    first = await runAlba(['lock', ctx.recipe, '--cache', ctx.cache]);
    lockBytes = await readFile(ctx.lock).catch(() => Buffer.alloc(0));
    lock = JSON.parse(lockBytes.toString('utf8') || 'null') as LockFile;
  });

  test('exits 0 and writes <recipe>.lock.json beside the recipe, nothing else', async () => {
    assert.equal(first.status, 0, explainRun(first));
    assert.match(first.stdout, new RegExp(`wrote ${ctx.lock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n$`));
    assert.doesNotMatch(first.stderr, /warning|error/i);
    assert.deepEqual(await readdir(ctx.dir), ['recipe.lock.json', 'recipe.yaml']);
  });

  test('the lock lists, per arch, the resolved closure with where each .deb is and its hash', () => {
    assert.equal(lock.lockVersion, 1);
    assert.equal(lock.name, 'test/app');
    assert.match(lock.inputs, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(Object.keys(lock.archs), ARCHS);
    const names = ['app', 'gcc-12-base', 'libc6', 'libgcc-s1', 'libssl1.1', 'tinymta', 'tzdata'];
    for (const arch of ARCHS) {
      const packages = lock.archs[arch] ?? [];
      assert.deepEqual(
        packages.map((p) => p.name),
        names,
        arch,
      );
      const byName = new Map(packages.map((p) => [p.name, p]));
      const expected: Record<string, Partial<LockedPackage>> = {
        app: { version: '1.0-1', architecture: arch, source: 'app', suite: 'stable', dependsOn: ['libc6', 'libssl1.1', 'tinymta'] },
        libc6: {
          version: '2.36-9+deb12u1',
          architecture: arch,
          source: 'glibc',
          sourceVersion: '2.36-9+deb12u1',
          suite: 'stable-updates',
          dependsOn: ['libgcc-s1'],
        },
        'libgcc-s1': { version: '12.2.0-14', architecture: arch, source: 'gcc-12', suite: 'stable', dependsOn: ['gcc-12-base'] },
        'gcc-12-base': { architecture: arch, source: 'gcc-12', dependsOn: [] },
        'libssl1.1': { architecture: arch, source: 'openssl1.1', dependsOn: [] },
        tinymta: { version: '0.1-1', architecture: 'all', suite: 'stable', dependsOn: [] },
        tzdata: { version: '2025b-1', architecture: 'all', dependsOn: [] },
      };
      for (const [name, fields] of Object.entries(expected)) {
        const p = byName.get(name);
        assert.ok(p !== undefined, `${arch}: ${name} missing`);
        for (const [field, value] of Object.entries(fields))
          assert.deepEqual(p[field as keyof LockedPackage], value, `${arch} ${name}.${field}`);
      }
      for (const p of packages) {
        const deb = repo.debs.find((d) => d.name === p.name && d.version === p.version && d.architecture === p.architecture);
        assert.ok(deb !== undefined, `${arch}: ${p.name} ${p.version} ${p.architecture} is not a .deb of the fixture`);
        assert.deepEqual([p.filename, p.size, p.sha256], [deb.filename, deb.size, deb.sha256], `${arch} ${p.name}`);
        assert.equal(p.repo, server.url);
        assert.equal(p.component, 'main');
      }
    }
  });

  test('the lock records each Release by the hash of the InRelease served', async () => {
    assert.deepEqual(
      lock.releases.map((r) => [r.repo, r.suite, r.file]),
      [
        [server.url, 'stable', 'InRelease'],
        [server.url, 'stable-updates', 'InRelease'],
      ],
    );
    for (const r of lock.releases) assert.equal(r.sha256, sha256(await readFile(join(repo.dir, 'dists', r.suite, 'InRelease'))), r.suite);
  });

  test('--json prints the lock path, per-stage timings and package counts on stdout', async () => {
    const run = await runAlba(['lock', ctx.recipe, '--cache', ctx.cache, '--update', '--json']);
    assert.equal(run.status, 0, explainRun(run));
    const out = JSON.parse(run.stdout) as {
      lock: string;
      timings: Record<string, number>;
      archs: Record<string, number>;
      resolutionCached: boolean;
    };
    assert.equal(out.lock, ctx.lock);
    assert.deepEqual(Object.keys(out.timings).sort(), ['indexes', 'releases', 'resolve']);
    const { releases, indexes, resolve } = out.timings as { releases: number; indexes: number; resolve: number };
    for (const seconds of [releases, indexes, resolve]) assert.ok(Number.isFinite(seconds) && seconds >= 0, String(seconds));
    if (out.resolutionCached) assert.equal(indexes, 0, 'a cached resolution reads no index');
    assert.deepEqual(out.archs, { amd64: 7, arm64: 7 });
  });

  test('--update re-resolves to a byte-identical file, from the cache and from a fresh cache', async () => {
    for (const cache of [ctx.cache, join(work, 'fresh-cache')]) {
      const run = await runAlba(['lock', ctx.recipe, '--cache', cache, '--update']);
      assert.equal(run.status, 0, explainRun(run));
      assert.ok((await readFile(ctx.lock)).equals(lockBytes), `lock changed with --cache ${cache}`);
    }
  });

  test('without --update an up-to-date lock is left alone and nothing is fetched', async () => {
    const before = await stat(ctx.lock);
    const requests = server.requests.length;
    const run = await runAlba(['lock', ctx.recipe, '--cache', ctx.cache]);
    assert.equal(run.status, 0, explainRun(run));
    assert.match(run.stderr, /is up to date \(use --update to re-resolve\)/);
    assert.equal(server.requests.length, requests, 'the CLI fetched something');
    const after = await stat(ctx.lock);
    assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs]);
    assert.ok((await readFile(ctx.lock)).equals(lockBytes));
  });

  test('a lock made from other inputs is stale: lock without --update re-resolves', async () => {
    await writeFile(ctx.recipe, recipeYaml({ url: server.url, packages: ['tzdata'] }));
    const run = await runAlba(['lock', ctx.recipe, '--cache', ctx.cache]);
    assert.equal(run.status, 0, explainRun(run));
    const relocked = JSON.parse(await readFile(ctx.lock, 'utf8')) as LockFile;
    assert.deepEqual(
      Object.values(relocked.archs).map((ps) => ps.map((p) => p.name)),
      [['tzdata'], ['tzdata']],
    );
    assert.notEqual(relocked.inputs, lock.inputs);
  });
});

/** One bad input: how to set it up, the code it must give, and what stderr must name. */
interface BadCase {
  name: string;
  code: ErrorCode;
  /** Returns the recipe text; may start a faulty server or write a damaged repository. */
  recipe: () => Promise<string>;
  /** Expected in the error message (besides the code). */
  says: (string | RegExp)[];
  /** Resolution errors come after the (verified) indexes were cached; everything else leaves the cache empty. */
  cachesVerifiedIndexes?: boolean;
}

const inRelease = (suite: string): Promise<string> => readFile(join(repo.dir, 'dists', suite, 'InRelease'), 'utf8');
const amd64Index = '/dists/stable/main/binary-amd64/Packages.xz';

const BAD: BadCase[] = [
  {
    name: 'malformed YAML',
    code: 'RECIPE_INVALID',
    recipe: async () => recipeYaml({ url: server.url }).replace('archs: [amd64, arm64]', 'archs: [amd64, arm64'),
    says: [/recipe\.yaml:\d+:\d+: /],
  },
  {
    name: 'unknown package',
    code: 'PACKAGE_NOT_FOUND',
    recipe: async () => recipeYaml({ url: server.url, packages: ['app', 'nosuchpkg'] }),
    says: ['package nosuchpkg not found in stable, stable-updates main amd64'],
    cachesVerifiedIndexes: true,
  },
  {
    name: 'unsatisfiable dependency',
    code: 'UNSATISFIABLE',
    recipe: async () => recipeYaml({ url: server.url, packages: ['chainy'] }),
    says: ['chainy → broken → libmissing (>= 1) → not found in stable, stable-updates main amd64'],
    cachesVerifiedIndexes: true,
  },
  {
    name: 'tampered InRelease',
    code: 'SIGNATURE_INVALID',
    recipe: async () => {
      const text = (await inRelease('stable')).replace('Origin: alba-test', 'Origin: alba-evil');
      const faulty = await served(repo.dir, { '/dists/stable/InRelease': { body: text } });
      return recipeYaml({ url: faulty.url });
    },
    says: [/http:\/\/127\.0\.0\.1:\d+\/dists\/stable\/InRelease has a signature that does not verify/],
  },
  {
    name: 'tampered Release (detached Release.gpg)',
    code: 'SIGNATURE_INVALID',
    recipe: async () => {
      const detached = await makeRepo(join(work, 'repo-detached'), repoOptions(key, { signing: 'release-gpg' }));
      const text = (await readFile(join(detached.dir, 'dists/stable/Release'), 'utf8')).replace('Origin: alba-test', 'Origin: alba-evil');
      const faulty = await served(detached.dir, { '/dists/stable/Release': { body: text } });
      return recipeYaml({ url: faulty.url });
    },
    says: [/http:\/\/127\.0\.0\.1:\d+\/dists\/stable\/Release has a signature that does not verify/],
  },
  {
    name: 'a validly signed Release of another suite (testing/trixie served at dists/stable)',
    code: 'RELEASE_INVALID',
    recipe: async () => {
      const options = repoOptions(key);
      options.suites[0] = { ...options.suites[0]!, suiteField: 'testing', codename: 'trixie' };
      const other = await makeRepo(join(work, 'repo-other-suite'), options);
      return recipeYaml({ url: (await served(other.dir)).url });
    },
    says: [/dists\/stable\/InRelease is the Release of another suite \(Suite: testing, Codename: trixie\), not of stable/],
  },
  {
    name: 'Packages.xz whose hash is not the one in the Release',
    code: 'DIGEST_MISMATCH',
    recipe: async () => {
      const data = await readFile(join(repo.dir, amd64Index));
      const damaged = Buffer.from(data);
      const at = Math.floor(damaged.length / 2);
      damaged[at] = (damaged[at] ?? 0) ^ 0xff;
      const faulty = await served(repo.dir, { [amd64Index]: { body: damaged } });
      return recipeYaml({ url: faulty.url, suites: ['stable'], archs: ['amd64'] });
    },
    says: [
      /http:\/\/127\.0\.0\.1:\d+\/dists\/stable\/main\/binary-amd64\/Packages\.xz: expected sha256:[0-9a-f]{64}, got sha256:[0-9a-f]{64}/,
    ],
  },
  {
    name: 'truncated Packages.xz (vouched for by the Release)',
    code: 'DECOMPRESS_FAILED',
    recipe: async () => {
      const truncated = await makeRepo(
        join(work, 'repo-truncated'),
        repoOptions(key, {
          tamperIndex: (path, data) => (path === 'main/binary-amd64/Packages.xz' ? data.subarray(0, Math.floor(data.length / 2)) : data),
        }),
      );
      return recipeYaml({ url: (await served(truncated.dir)).url, suites: ['stable'], archs: ['amd64'] });
    },
    says: [/http:\/\/127\.0\.0\.1:\d+\/dists\/stable\/main\/binary-amd64\/Packages\.xz/],
  },
  {
    name: 'unreachable source (closed port)',
    code: 'NETWORK',
    recipe: async () => recipeYaml({ url: `http://127.0.0.1:${await closedPort()}` }),
    says: [/cannot reach http:\/\/127\.0\.0\.1:\d+\/dists\/stable\/InRelease/],
  },
  {
    name: 'keyring that does not exist',
    code: 'KEYRING_MISSING',
    recipe: async () => recipeYaml({ url: server.url, keyring: join(work, 'no-such-keyring.gpg') }),
    says: ['no-such-keyring.gpg'],
  },
];

function assertFailedWith(run: AlbaRun, c: BadCase): void {
  assert.equal(run.status, 1, explainRun(run));
  const [first] = run.stderr.split('\n');
  assert.match(first ?? '', new RegExp(`^alba: error\\[${c.code}\\]: `), explainRun(run));
  for (const s of c.says)
    assert.match(first ?? '', typeof s === 'string' ? new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : s, explainRun(run));
  assert.match(run.stderr, /^ {2}hint: \S/m, 'a hint says what to do');
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(run.stderr, /internal error/);
  assert.equal(run.stdout, '');
}

/** Index cache entries are named by the SHA256 the verified Release lists for the file fetched. */
async function assertCache(cache: string, c: BadCase): Promise<void> {
  const files = await filesUnder(cache);
  if (c.cachesVerifiedIndexes !== true) {
    assert.deepEqual(files, [], 'nothing cached');
    return;
  }
  assert.ok(files.length > 0, 'the verified indexes are cached');
  const listed = new Set<string>();
  for (const suite of ['stable', 'stable-updates']) {
    for (const m of (await inRelease(suite)).matchAll(/^ ([0-9a-f]{64}) +\d+ \S+$/gm)) listed.add(`indexes/${m[1]}.deb822`);
  }
  for (const f of files) assert.ok(listed.has(f), `unexpected cache entry ${f}`);
}

describe('alba lock on bad input: one error code, exit 1, no lock, nothing cached', () => {
  let goodLock: Buffer;
  before(async () => {
    const ctx = await recipeDir(recipeYaml({ url: server.url }));
    const run = await runAlba(['lock', ctx.recipe, '--cache', ctx.cache]);
    assert.equal(run.status, 0, explainRun(run));
    goodLock = await readFile(ctx.lock);
  });

  for (const c of BAD) {
    test(`${c.name}: error[${c.code}]`, async () => {
      const ctx = await recipeDir(await c.recipe());
      const run = await runAlba(['lock', ctx.recipe, '--cache', ctx.cache]);
      assertFailedWith(run, c);
      assert.deepEqual(await readdir(ctx.dir), ['recipe.yaml'], 'no lock file (or temp file) left');
      await assertCache(ctx.cache, c);

      // A lock file already there (from an earlier good run) survives a failed `--update`.
      await writeFile(ctx.lock, goodLock);
      const before = await stat(ctx.lock);
      const again = await runAlba(['lock', ctx.recipe, '--cache', ctx.cache, '--update']);
      assertFailedWith(again, c);
      assert.deepEqual(await readdir(ctx.dir), ['recipe.lock.json', 'recipe.yaml']);
      assert.ok((await readFile(ctx.lock)).equals(goodLock), 'the existing lock file changed');
      assert.equal((await stat(ctx.lock)).mtimeMs, before.mtimeMs);
      await assertCache(ctx.cache, c);
    });
  }
});

describe('alba lock and Release dates and text', () => {
  test('--update refuses a Release older than the one the lock recorded (a rollback), naming both dates; --allow-downgrade accepts it', async () => {
    const dir = join(work, 'repo-rollback');
    const newer = new Date('2026-11-20T10:00:00Z');
    const older = new Date('2026-11-01T10:00:00Z');
    const withDate = (date: Date): RepoOptions => {
      const options = repoOptions(key);
      return { ...options, suites: options.suites.map((s) => ({ ...s, date })) };
    };
    await makeRepo(dir, withDate(newer));
    const own = await served(dir);
    const ctx = await recipeDir(recipeYaml({ url: own.url }));
    const first = await runAlba(['lock', ctx.recipe, '--cache', ctx.cache]);
    assert.equal(first.status, 0, explainRun(first));
    const locked = await readFile(ctx.lock);
    await makeRepo(dir, withDate(older)); // the same server now serves an older, validly signed archive
    const refused = await runAlba(['lock', ctx.recipe, '--cache', ctx.cache, '--update']);
    assert.equal(refused.status, 1, explainRun(refused));
    assert.match(
      refused.stderr,
      /error\[RELEASE_INVALID\]: .*dists\/stable: its Release is dated 2026-11-01T10:00:00\.000Z, older than the 2026-11-20T10:00:00\.000Z the lock recorded/,
    );
    assert.match(refused.stderr, /hint: .*--allow-downgrade/);
    assert.ok((await readFile(ctx.lock)).equals(locked), 'the lock is untouched');
    const allowed = await runAlba(['lock', ctx.recipe, '--cache', ctx.cache, '--update', '--allow-downgrade']);
    assert.equal(allowed.status, 0, explainRun(allowed));
    assert.equal((JSON.parse(await readFile(ctx.lock, 'utf8')) as LockFile).releases[0]?.date, older.toISOString());
  });

  test('text outside the signed block of an InRelease is reported and never used', async () => {
    const text = await inRelease('stable');
    const padded = `Suite: evil\nSHA256:\n ${'0'.repeat(64)} 1 main/binary-amd64/Packages.xz\n${text}Origin: evil\n`;
    const faulty = await served(repo.dir, { '/dists/stable/InRelease': { body: padded } });
    const ctx = await recipeDir(recipeYaml({ url: faulty.url }));
    const run = await runAlba(['lock', ctx.recipe, '--cache', ctx.cache]);
    assert.equal(run.status, 0, explainRun(run));
    assert.match(
      run.stderr,
      /note: http:\/\/127\.0\.0\.1:\d+\/dists\/stable\/InRelease holds \d+ bytes outside its signed block: ignored, never read/,
    );
    const lock = JSON.parse(await readFile(ctx.lock, 'utf8')) as LockFile;
    assert.ok(
      Object.values(lock.archs).every((ps) => ps.some((p) => p.name === 'app')),
      'resolved from the signed text',
    );
  });
});

describe('alba lock on a flaky or hostile network', () => {
  test('an InRelease cut midway is fetched again', async () => {
    const flaky = await served(repo.dir, { '/dists/stable/InRelease': { cutAfter: 100, times: 1 } });
    const ctx = await recipeDir(recipeYaml({ url: flaky.url }));
    const run = await runAlba(['lock', ctx.recipe, '--cache', ctx.cache]);
    assert.equal(run.status, 0, explainRun(run));
    assert.equal(flaky.requests.filter((p) => p === '/dists/stable/InRelease').length, 2);
  });

  test('a 503 with Retry-After: 2 on the InRelease is retried', async () => {
    const busy = await served(repo.dir, { '/dists/stable/InRelease': { status: 503, headers: { 'retry-after': '2' }, times: 1 } });
    const ctx = await recipeDir(recipeYaml({ url: busy.url }));
    const run = await runAlba(['lock', ctx.recipe, '--cache', ctx.cache]);
    assert.equal(run.status, 0, explainRun(run));
    // retried once; that the pause is Retry-After's is retry.test.ts's (mocked timers: no duration measured)
    assert.equal(busy.requests.filter((p) => p === '/dists/stable/InRelease').length, 2);
  });

  test('an InRelease dripped a byte every 20 s is given up with NETWORK within two minutes, not retried; the lock is untouched', async () => {
    const ctx = await recipeDir(recipeYaml({ url: server.url }));
    const first = await runAlba(['lock', ctx.recipe, '--cache', ctx.cache]);
    assert.equal(first.status, 0, explainRun(first));
    const locked = await readFile(ctx.lock);
    const slow = await served(repo.dir, { '/dists/stable/InRelease': { dripMs: 20_000 } });
    await writeFile(ctx.recipe, recipeYaml({ url: slow.url }));
    // runAlba kills a run after 120 s (status null): one still waiting then fails here
    const run = await runAlba(['lock', ctx.recipe, '--cache', ctx.cache, '--update']);
    assert.equal(run.status, 1, explainRun(run));
    assert.match(run.stderr, /error\[NETWORK\]: .*InRelease: the body came slower than 1024 bytes\/s over 60 s/);
    assert.equal(slow.requests.filter((p) => p === '/dists/stable/InRelease').length, 1, 'a slow body is not tried again');
    assert.ok((await readFile(ctx.lock)).equals(locked));
  });
});

describe('alba and a reader that goes away', () => {
  test('stdout closed before alba writes (`alba … | head`): exit 141 as SIGPIPE would give, no stack trace', async () => {
    const child = spawn(process.execPath, [albaBin, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [status] = (await once(child, 'close')) as [number | null];
    assert.equal(status, 141, stderr);
    assert.equal(stderr, '');
  });
});
