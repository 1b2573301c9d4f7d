import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ErrorCode } from '../../src/errors.js';
import { fakeElf } from '../helpers/fake-elf.js';
import {
  FIXTURE_APP_LINES,
  FIXTURE_PACKAGES,
  fixtureRecipeYaml,
  makeFixtureDistro,
  writeFixtureProject,
  type FixtureProject,
} from '../helpers/fixture-distro.js';
import type { Repo, RepoPackage } from '../helpers/make-repo.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';
import { explainRun, runAlba } from '../helpers/run-alba.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

// `alba build` on bad input, end to end (the compiled CLI: run `tsc -p .` first): each case first
// builds a good image into --out, then breaks one input and builds again into the same --out. The
// failed build must exit 1 with `alba: error[CODE]` and no stack trace, and leave the previous
// layout exactly as it was, with no temp directory beside it.

/** Deterministic incompressible bytes, so a truncated data.tar.xz really is cut short. */
function noise(size: number): Buffer {
  const parts: Buffer[] = [];
  let block = createHash('sha256').update('alba').digest();
  while (parts.length * 32 < size) {
    block = createHash('sha256').update(block).digest();
    parts.push(block);
  }
  return Buffer.concat(parts).subarray(0, size);
}

/** Hostile packages added to the fixture distro; a recipe gets them only when it lists them. */
const HOSTILE: RepoPackage[] = [
  {
    arch: 'all',
    deb: {
      control: { Package: 'evil-paths', Version: '1.0', Architecture: 'all', Maintainer: 'Mallory <mallory@example.org>' },
      files: [
        { path: './usr/', type: 'directory' },
        { path: './usr/../../etc/evil', content: 'pwned\n' },
      ],
    },
  },
  {
    arch: 'all',
    deb: {
      control: { Package: 'truncated-data', Version: '1.0', Architecture: 'all', Maintainer: 'Mallory <mallory@example.org>' },
      files: [
        { path: './usr/', type: 'directory' },
        { path: './usr/share/', type: 'directory' },
        { path: './usr/share/blob', content: noise(16384) },
      ],
      truncateData: 6000,
    },
  },
];

const work = await mkdtemp(join(tmpdir(), 'alba-build-bad-'));
const servers: RepoServer[] = [];
let repo: Repo;
before(async () => {
  repo = await makeFixtureDistro(join(work, 'repo'), undefined, HOSTILE);
});
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(work, { recursive: true, force: true });
});

/** One case: a good build, then `breakIt`, then a build that must fail. */
interface Case {
  name: string;
  /** The expected error code (one of them, when the failure may surface either way). */
  codes: ErrorCode[];
  /** What the error message must say. */
  message: (c: Context) => RegExp;
  breakIt: (c: Context) => Promise<void>;
  /** The failed build uses a fresh cache (so the .deb is fetched again) instead of the good build's. */
  freshCache?: boolean;
  /** Further checks after the failed build. */
  check?: (c: Context) => Promise<void>;
}

interface Context {
  dir: string;
  project: FixtureProject;
  server: RepoServer;
  cache: string;
  out: string;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Rewrites the recipe with other packages and locks it again. */
async function relockWith(c: Context, packages: string[]): Promise<void> {
  await writeFile(
    c.project.recipe,
    fixtureRecipeYaml({ url: c.server.url, keyring: repo.keyringPath, packages, extra: FIXTURE_APP_LINES }),
  );
  const lock = await runAlba(['lock', c.project.recipe, '--cache', c.cache, '--update']);
  assert.equal(lock.status, 0, explainRun(lock));
}

function lockedDeb(name: string, arch: string): { filename: string; sha256: string; size: number } {
  const deb = repo.debs.find((d) => d.name === name && d.architecture === arch);
  assert.ok(deb !== undefined, `fixture has no ${name} ${arch}`);
  return deb;
}

async function cachedBlobs(cache: string): Promise<string[]> {
  return (await readdir(join(cache, 'blobs'), { recursive: true }).catch(() => [] as string[])).map(String);
}

/**
 * Serves `body` instead of libc6 (arm64) after the lock, and checks that nothing of it reaches the
 * cache; `detail` is what the message must say after the URL, given the locked and served .debs.
 */
function swappedDeb(
  name: string,
  body: (original: Buffer) => Buffer,
  codes: ErrorCode[],
  detail: (locked: { sha256: string; size: number }, served: Buffer) => string,
): Case {
  let served: Buffer | undefined;
  return {
    name,
    codes,
    freshCache: true,
    message: () => {
      const deb = lockedDeb('libc6', 'arm64');
      return new RegExp(
        `^libc6 2\\.36-9\\+deb12u7 \\(arm64\\) \\(http://127\\.0\\.0\\.1:\\d+/${escape(deb.filename)}\\): ${detail(deb, served as Buffer)}`,
      );
    },
    breakIt: async (c) => {
      const deb = lockedDeb('libc6', 'arm64');
      served = body(await readFile(join(repo.dir, deb.filename)));
      c.server.fault(`/${deb.filename}`, { body: served });
    },
    check: async (c) => {
      const deb = lockedDeb('libc6', 'arm64');
      const blobs = await cachedBlobs(`${c.cache}-fresh`);
      const bad = createHash('sha256')
        .update(served as Buffer)
        .digest('hex');
      assert.ok(!blobs.some((b) => b.endsWith(deb.sha256) || b.endsWith(bad)), `the cache keeps the swapped .deb: ${blobs.join(' ')}`);
      assert.deepEqual(
        blobs.filter((b) => b.startsWith('tmp') && b !== 'tmp'),
        [],
        'temp files left in the cache',
      );
    },
  };
}

const CASES: Case[] = [
  {
    name: 'a static file missing for one arch',
    codes: ['FILE_MISSING'],
    message: (c) => new RegExp(`arm64: ${escape(c.project.programs.get('arm64') as string)} does not exist`),
    breakIt: (c) => rm(c.project.programs.get('arm64') as string),
  },
  {
    name: 'a static file built for the wrong arch',
    codes: ['ELF_ARCH_MISMATCH'],
    message: (c) => new RegExp(`${escape(c.project.programs.get('arm64') as string)} is an ELF for x86-64.*not arm64`),
    breakIt: (c) => writeFile(c.project.programs.get('arm64') as string, fakeElf('amd64', 'wrong arch')),
  },
  {
    name: 'a .deb with a ../ entry',
    codes: ['DEB_UNSAFE_ENTRY'],
    message: () => /evil-paths 1\.0 \(all\).*\.\.\/\.\.\/etc\/evil/,
    breakIt: (c) => relockWith(c, [...FIXTURE_PACKAGES, 'evil-paths']),
  },
  {
    name: 'a .deb with a truncated data.tar.xz',
    codes: ['DECOMPRESS_FAILED', 'DEB_INVALID'],
    message: () => /truncated-data 1\.0 \(all\)/,
    breakIt: (c) => relockWith(c, [...FIXTURE_PACKAGES, 'truncated-data']),
  },
  swappedDeb(
    'a .deb that differs from the lock (same size)',
    (original) => Buffer.concat([original.subarray(0, original.length - 1), Buffer.from([original[original.length - 1]! ^ 0xff])]),
    ['DIGEST_MISMATCH'],
    (locked, served) => `expected sha256:${locked.sha256}, got sha256:${createHash('sha256').update(served).digest('hex')}$`,
  ),
  swappedDeb(
    'a .deb longer than the lock says',
    (original) => Buffer.concat([original, Buffer.from('trailing')]),
    ['SIZE_MISMATCH'],
    (locked) => `expected ${locked.size} bytes`,
  ),
  {
    name: 'a stale lock (packages changed after locking)',
    codes: ['LOCK_STALE'],
    message: (c) => new RegExp(`${escape(c.project.lock)} was made from other packages`),
    breakIt: (c) =>
      writeFile(
        c.project.recipe,
        fixtureRecipeYaml({
          url: c.server.url,
          keyring: repo.keyringPath,
          packages: FIXTURE_PACKAGES.filter((p) => p !== 'tzdata'),
          extra: FIXTURE_APP_LINES,
        }),
      ),
  },
];

describe('alba build on bad input fails cleanly and keeps the previous layout', () => {
  CASES.forEach((k, i) => {
    test(k.name, async () => {
      const server = await serveDir(repo.dir);
      servers.push(server);
      const dir = join(work, `case-${i}`);
      const project = await writeFixtureProject(join(dir, 'project'), { url: server.url, keyring: repo.keyringPath });
      const c: Context = { dir, project, server, cache: join(dir, 'cache'), out: join(dir, 'out') };

      const lock = await runAlba(['lock', project.recipe, '--cache', c.cache]);
      assert.equal(lock.status, 0, explainRun(lock));
      const good = await runAlba(['build', project.recipe, '--cache', c.cache, '--out', c.out]);
      assert.equal(good.status, 0, explainRun(good));
      const before = await snapshotTree(c.out);

      await k.breakIt(c);
      const bad = await runAlba(['build', project.recipe, '--cache', k.freshCache === true ? `${c.cache}-fresh` : c.cache, '--out', c.out]);
      assert.equal(bad.status, 1, explainRun(bad));
      const m = /^alba: error\[([A-Z_]+)\]: (.*)$/m.exec(bad.stderr);
      assert.ok(m !== null, `no "alba: error[CODE]" line:\n${bad.stderr}`);
      assert.ok(k.codes.includes(m[1] as ErrorCode), `code ${m[1]}, expected ${k.codes.join(' or ')}:\n${bad.stderr}`);
      assert.match(m[2] as string, k.message(c));
      assert.doesNotMatch(bad.stderr, /^\s+at /m, 'stack trace on stderr');
      assert.doesNotMatch(bad.stderr, /internal error/);

      assert.deepEqual(await snapshotTree(c.out), before, 'the previous layout changed');
      assert.deepEqual(
        (await readdir(dir)).filter((n) => n.startsWith('.out.alba-')),
        [],
        'temp layout left beside --out',
      );
      await k.check?.(c);
    });
  });
});

// Where alba cannot write: error[IO] naming the path, at once — never "internal error" (a raw
// file-system error), never "another alba has been writing it" (any failure to take the output's
// lock was reported so), never a hang (Node's recursive mkdir loops under /proc).
describe('alba build where it cannot write fails with error[IO] naming the path', () => {
  const places: { name: string; args: (c: { dir: string; cache: string }) => string[]; path: RegExp }[] = [
    { name: '--out under a regular file', args: (c) => ['--out', join(c.dir, 'file', 'out')], path: /unwritable\/file/ },
    { name: '--out under a broken symbolic link', args: (c) => ['--out', join(c.dir, 'dangling', 'out')], path: /dangling/ },
    { name: '--out under /proc (no directory can be made there)', args: () => ['--out', '/proc/alba-test/out'], path: /\/proc\/alba-test/ },
    { name: '--cache under a regular file', args: (c) => ['--cache', join(c.dir, 'file', 'cache')], path: /unwritable\/file/ },
    {
      name: '--format oci-archive --out under a regular file',
      args: (c) => ['--format', 'oci-archive', '--out', join(c.dir, 'file', 'x.tar')],
      path: /unwritable\/file/,
    },
  ];
  let project: FixtureProject;
  let dir: string;
  let cache: string;
  before(async () => {
    const server = await serveDir(repo.dir);
    servers.push(server);
    dir = join(work, 'unwritable');
    project = await writeFixtureProject(join(dir, 'project'), { url: server.url, keyring: repo.keyringPath });
    cache = join(dir, 'cache');
    await writeFile(join(dir, 'file'), '');
    await symlink(join(dir, 'nowhere'), join(dir, 'dangling'));
    const lock = await runAlba(['lock', project.recipe, '--cache', cache]);
    assert.equal(lock.status, 0, explainRun(lock));
  });
  for (const place of places) {
    test(place.name, async () => {
      const args = place.args({ dir, cache });
      const res = await runAlba(
        [
          'build',
          project.recipe,
          ...(args.includes('--cache') ? [] : ['--cache', cache]),
          ...args,
          ...(args.includes('--out') ? [] : ['--out', join(dir, 'out')]),
        ],
        { timeoutMs: 60_000 },
      );
      assert.equal(res.status, 1, explainRun(res));
      const m = /^alba: error\[([A-Z_]+)\]: (.*)$/m.exec(res.stderr);
      assert.ok(m !== null && m[1] === 'IO', explainRun(res));
      assert.match(m[2] as string, place.path);
      assert.match(res.stderr, /^ {2}hint: /m);
      assert.doesNotMatch(res.stderr, /internal error|^\s+at /m);
    });
  }
});

test('a cache inside --out (or --out inside the cache) is USAGE before the build: --out is replaced whole', async () => {
  const server = await serveDir(repo.dir);
  servers.push(server);
  const dir = join(work, 'overlap');
  const project = await writeFixtureProject(join(dir, 'project'), { url: server.url, keyring: repo.keyringPath });
  const lock = await runAlba(['lock', project.recipe, '--cache', join(dir, 'cache')]);
  assert.equal(lock.status, 0, explainRun(lock));
  for (const [cache, out] of [
    [join(dir, 'out', 'cache'), join(dir, 'out')],
    [join(dir, 'cache'), join(dir, 'cache', 'out')],
  ] as const) {
    const res = await runAlba(['build', project.recipe, '--cache', cache, '--out', out]);
    assert.equal(res.status, 2, explainRun(res));
    assert.match(res.stderr, /^alba: error\[USAGE\]: --out .* and the cache .* are one inside the other$/m);
  }
  assert.deepEqual(await readdir(dir).then((n) => n.sort()), ['cache', 'project'], 'nothing built into the overlapping --out');
});
