import assert from 'node:assert/strict';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAlbaError, type ErrorCode } from '../../src/errors.js';
import { field, parseDeb822 } from '../../src/debian/deb822.js';
import { cacheArea } from '../../src/cache.js';
import { downloadDebs } from '../../src/debian/download.js';
import { fetchBytes } from '../../src/debian/http.js';
import { loadKeyring, type Keyring } from '../../src/debian/keyring.js';
import { loadPackagesIndex } from '../../src/debian/packages-index.js';
import { packagesOf } from '../helpers/index-packages.js';
import { fetchRelease } from '../../src/debian/release.js';
import { BlobStore } from '../../src/oci/blob-store.js';
import { makeRepo, makeRepoKey, type Repo, type RepoOptions, type RepoSuite } from '../helpers/make-repo.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';

const work = await mkdtemp(join(tmpdir(), 'alba-repo-fetch-'));
const servers: RepoServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(work, { recursive: true, force: true });
});

const suite = (extra: Partial<RepoSuite> = {}): RepoSuite => ({
  name: 'stable',
  components: [
    {
      name: 'main',
      packages: [
        {
          arch: 'amd64',
          deb: {
            control: {
              Package: 'hello',
              Version: '1:2.10-3',
              Architecture: 'amd64',
              Depends: 'libc6 (>= 2.34)',
              'Pre-Depends': 'dpkg',
              Maintainer: 'Jöhn <j@example.org>',
            },
            files: [{ path: './usr/bin/hello', content: 'amd64' }],
          },
        },
        {
          arch: 'arm64',
          deb: {
            control: { Package: 'hello', Version: '1:2.10-3', Architecture: 'arm64', Depends: 'libc6 (>= 2.34)' },
            files: [{ path: './usr/bin/hello', content: 'arm64' }],
          },
        },
        {
          arch: 'all',
          deb: {
            control: {
              Package: 'tzdata',
              Version: '2025b-1',
              Architecture: 'all',
              Source: 'tzdata-src (2025b-0.1)',
              Provides: 'tzdata-data',
              'Multi-Arch': 'foreign',
            },
          },
        },
      ],
    },
  ],
  ...extra,
});

let counter = 0;
/** Builds a repo in a fresh directory and serves it; servers close after the file's tests. */
async function served(options: Partial<RepoOptions> = {}): Promise<{ repo: Repo; server: RepoServer; keyring: Keyring; cacheDir: string }> {
  const dir = join(work, `repo-${++counter}`);
  const repo = await makeRepo(dir, { suites: [suite()], ...options });
  const server = await serveDir(dir);
  servers.push(server);
  return { repo, server, keyring: await loadKeyring([repo.keyringPath]), cacheDir: join(work, `cache-${counter}`) };
}

function rejectsWith(code: ErrorCode, ...patterns: (string | RegExp)[]): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isAlbaError(err, code), `expected AlbaError ${code}, got ${String(err)} (${(err as { code?: string }).code})`);
    for (const p of patterns) assert.match(err.message, typeof p === 'string' ? new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : p);
    return true;
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
}

const key = await makeRepoKey();

describe('happy path', () => {
  let ctx: Awaited<ReturnType<typeof served>>;
  before(async () => (ctx = await served({ key })));

  test('the InRelease is verified and parsed', async () => {
    const release = await fetchRelease({ url: `${ctx.server.url}/`, suite: 'stable', keyring: ctx.keyring });
    assert.equal(release.file, 'InRelease');
    assert.equal(release.verified, true);
    assert.deepEqual(release.signedBy, [(await key.privateKey.getSigningKey()).getKeyID().toHex()]);
    assert.equal(release.url, ctx.server.url);
    assert.equal(release.fetchedFrom, ctx.server.url);
    assert.deepEqual(release.architectures, ['amd64', 'arm64']);
    assert.deepEqual(release.components, ['main']);
    assert.equal(release.suiteName, 'stable');
    assert.match(release.date ?? '', /^\d{4}-\d\d-\d\dT/);
    const inRelease = await readFile(join(ctx.repo.dir, 'dists/stable/InRelease'));
    assert.equal(release.sha256, createHash('sha256').update(inRelease).digest('hex'));
    assert.ok(release.files.has('main/binary-amd64/Packages.xz'));
  });

  test('an armored keyring works as well as a binary one', async () => {
    const release = await fetchRelease({ url: ctx.server.url, suite: 'stable', keyring: await loadKeyring([ctx.repo.armoredKeyringPath]) });
    assert.equal(release.verified, true);
  });

  test('Packages.xz is fetched, checked and parsed per arch; a warm run downloads nothing', async () => {
    const release = await fetchRelease({ url: ctx.server.url, suite: 'stable', keyring: ctx.keyring });
    const amd64 = await loadPackagesIndex(release, 'main', 'amd64', { cacheDir: ctx.cacheDir });
    assert.equal(amd64.fromCache, false);
    assert.equal(amd64.file.path, 'main/binary-amd64/Packages.xz');
    const hello = ctx.repo.debs.find((d) => d.name === 'hello' && d.architecture === 'amd64');
    const tz = ctx.repo.debs.find((d) => d.name === 'tzdata');
    assert.deepEqual(packagesOf(amd64), [
      {
        name: 'hello',
        version: '1:2.10-3',
        architecture: 'amd64',
        source: 'hello',
        sourceVersion: '1:2.10-3',
        depends: 'libc6 (>= 2.34)',
        preDepends: 'dpkg',
        maintainer: 'Jöhn <j@example.org>',
        filename: hello?.filename,
        size: hello?.size,
        sha256: hello?.sha256,
      },
      {
        name: 'tzdata',
        version: '2025b-1',
        architecture: 'all',
        source: 'tzdata-src',
        sourceVersion: '2025b-0.1',
        provides: 'tzdata-data',
        multiArch: 'foreign',
        filename: tz?.filename,
        size: tz?.size,
        sha256: tz?.sha256,
      },
    ]);
    const arm64 = await loadPackagesIndex(release, 'main', 'arm64', { cacheDir: ctx.cacheDir });
    assert.deepEqual(
      packagesOf(arm64).map((p) => `${p.name}:${p.architecture}`),
      ['hello:arm64', 'tzdata:all'],
    );

    const before = ctx.server.requests.length;
    const warmRelease = await fetchRelease({ url: ctx.server.url, suite: 'stable', keyring: ctx.keyring });
    const warm = await loadPackagesIndex(warmRelease, 'main', 'amd64', { cacheDir: ctx.cacheDir });
    assert.equal(warm.fromCache, true);
    assert.deepEqual(packagesOf(warm), packagesOf(amd64));
    assert.deepEqual(ctx.server.requests.slice(before), ['/dists/stable/InRelease']);
  });

  test('debs are downloaded into the store once, then served from it', async () => {
    const store = new BlobStore(cacheArea(ctx.cacheDir, 'blobs'));
    const items = ctx.repo.debs.map((d) => ({
      url: `${ctx.server.url}/${d.filename}`,
      sha256: d.sha256,
      size: d.size,
      what: `${d.name} ${d.version}`,
    }));
    const progress: boolean[] = [];
    const first = await downloadDebs(items, { store, concurrency: 2, onProgress: (p) => progress.push(p.cached) });
    assert.deepEqual(
      first.map((r) => r.cached),
      [false, false, false],
    );
    assert.deepEqual(progress, [false, false, false]);
    for (const [i, r] of first.entries()) {
      assert.equal(r.digest, `sha256:${ctx.repo.debs[i]?.sha256}`);
      assert.deepEqual(await readFile(r.path), await readFile(join(ctx.repo.dir, ctx.repo.debs[i]?.filename ?? '')));
    }
    const before = ctx.server.requests.length;
    const again = await downloadDebs(items, { store });
    assert.deepEqual(
      again.map((r) => r.cached),
      [true, true, true],
    );
    assert.equal(ctx.server.requests.length, before);
  });
});

describe('signatures', () => {
  test('a tampered InRelease is SIGNATURE_INVALID', async () => {
    const { repo, server, keyring } = await served();
    const text = await readFile(join(repo.dir, 'dists/stable/InRelease'), 'utf8');
    server.fault('/dists/stable/InRelease', { body: text.replace('Components: main', 'Components: main evil') });
    await assert.rejects(
      fetchRelease({ url: server.url, suite: 'stable', keyring }),
      rejectsWith('SIGNATURE_INVALID', `${server.url}/dists/stable/InRelease`, 'does not verify'),
    );
  });

  test('a Release signed by an unknown key is SIGNATURE_INVALID naming the key id', async () => {
    const { server } = await served();
    const other = await makeRepo(join(work, 'other-key'), { suites: [suite()] });
    const keyring = await loadKeyring([other.keyringPath]);
    await assert.rejects(
      fetchRelease({ url: server.url, suite: 'stable', keyring }),
      rejectsWith('SIGNATURE_INVALID', /signed by unknown key [0-9a-f]{16} \(not in .*keyring\.gpg\)/),
    );
  });

  test('allowInsecure accepts an unknown key and says the Release is not verified', async () => {
    const { server } = await served();
    const release = await fetchRelease({ url: server.url, suite: 'stable', keyring: { keys: [], paths: [] }, allowInsecure: true });
    assert.equal(release.verified, false);
    assert.deepEqual(release.signedBy, []);
    assert.ok(release.files.has('main/binary-amd64/Packages.xz'));
  });

  test('an unsigned repository is SIGNATURE_INVALID, or accepted with allowInsecure', async () => {
    const { server, keyring } = await served({ signing: 'none' });
    await assert.rejects(
      fetchRelease({ url: server.url, suite: 'stable', keyring }),
      rejectsWith('SIGNATURE_INVALID', `${server.url}/dists/stable/Release is not signed`),
    );
    const release = await fetchRelease({ url: server.url, suite: 'stable', keyring, allowInsecure: true });
    assert.deepEqual([release.file, release.verified], ['Release', false]);
  });

  test('without InRelease, Release + Release.gpg are fetched and verified', async () => {
    const { server, keyring } = await served();
    server.fault('/dists/stable/InRelease', { status: 404 });
    const release = await fetchRelease({ url: server.url, suite: 'stable', keyring });
    assert.deepEqual([release.file, release.verified], ['Release', true]);
    assert.deepEqual(server.requests, ['/dists/stable/InRelease', '/dists/stable/Release', '/dists/stable/Release.gpg']);
    const bytes = await fetchBytes(`${server.url}/dists/stable/Release`);
    assert.equal(release.sha256, createHash('sha256').update(bytes).digest('hex'));
  });

  test('a Release that does not match Release.gpg is SIGNATURE_INVALID', async () => {
    const { repo, server, keyring } = await served();
    server.fault('/dists/stable/InRelease', { status: 404 });
    const text = await readFile(join(repo.dir, 'dists/stable/Release'), 'utf8');
    server.fault('/dists/stable/Release', { body: text.replace('Suite: stable', 'Suite: evil') });
    await assert.rejects(
      fetchRelease({ url: server.url, suite: 'stable', keyring }),
      rejectsWith('SIGNATURE_INVALID', `${server.url}/dists/stable/Release has a signature that does not verify`),
    );
  });

  test('a missing keyring file is KEYRING_MISSING', async () => {
    await assert.rejects(loadKeyring([join(work, 'nope.gpg')]), rejectsWith('KEYRING_MISSING', 'nope.gpg'));
  });
});

describe('Valid-Until', () => {
  test('an expired Release is RELEASE_INVALID, but fine for a snapshot source', async () => {
    const { server, keyring } = await served({
      suites: [suite({ date: new Date('2024-01-01T00:00:00Z'), validUntil: new Date('2024-01-08T00:00:00Z') })],
    });
    await assert.rejects(
      fetchRelease({ url: server.url, suite: 'stable', keyring }),
      rejectsWith('RELEASE_INVALID', 'expired', '2024-01-08T00:00:00.000Z'),
    );
    const release = await fetchRelease({ url: server.url, suite: 'stable', keyring, snapshot: true });
    assert.equal(release.validUntil, '2024-01-08T00:00:00.000Z');
    assert.equal(release.verified, true);
  });
});

describe('broken indexes', () => {
  test('a Packages.xz whose hash does not match is DIGEST_MISMATCH and is not cached', async () => {
    const { repo, server, keyring, cacheDir } = await served();
    const path = '/dists/stable/main/binary-amd64/Packages.xz';
    const good = await readFile(join(repo.dir, path));
    const bad = Buffer.from(good);
    bad[Math.floor(bad.length / 2)]! ^= 0xff;
    server.fault(path, { body: bad });
    const release = await fetchRelease({ url: server.url, suite: 'stable', keyring });
    const expected = release.files.get('main/binary-amd64/Packages.xz')?.sha256 ?? '';
    await assert.rejects(
      loadPackagesIndex(release, 'main', 'amd64', { cacheDir }),
      rejectsWith('DIGEST_MISMATCH', `${server.url}${path}`, `expected sha256:${expected}`),
    );
    assert.deepEqual(await filesUnder(cacheDir), []);
  });

  test('a truncated Packages.xz is SIZE_MISMATCH and is not cached', async () => {
    const { repo, server, keyring, cacheDir } = await served();
    const path = '/dists/stable/main/binary-amd64/Packages.xz';
    server.fault(path, { body: (await readFile(join(repo.dir, path))).subarray(0, 100) });
    const release = await fetchRelease({ url: server.url, suite: 'stable', keyring });
    await assert.rejects(
      loadPackagesIndex(release, 'main', 'amd64', { cacheDir }),
      rejectsWith('SIZE_MISMATCH', `${server.url}${path}`, 'got 100'),
    );
    assert.deepEqual(await filesUnder(cacheDir), []);
  });

  test('a truncated Packages.xz vouched for by the Release is DECOMPRESS_FAILED and is not cached', async () => {
    const { server, keyring, cacheDir } = await served({
      tamperIndex: (path, data) => (path.endsWith('.xz') ? data.subarray(0, data.length - 20) : data),
    });
    const release = await fetchRelease({ url: server.url, suite: 'stable', keyring });
    await assert.rejects(loadPackagesIndex(release, 'main', 'amd64', { cacheDir }), rejectsWith('DECOMPRESS_FAILED', 'Packages.xz'));
    assert.deepEqual(await filesUnder(cacheDir), []);
  });

  test('gzip and plain indexes are read when there is no xz', async () => {
    const { server, keyring, cacheDir } = await served({ indexCompression: 'gz' });
    const release = await fetchRelease({ url: server.url, suite: 'stable', keyring });
    const index = await loadPackagesIndex(release, 'main', 'amd64', { cacheDir });
    assert.equal(index.file.path, 'main/binary-amd64/Packages.gz');
    assert.equal(packagesOf(index).length, 2);
  });

  test('with Acquire-By-Hash the index is fetched by hash, and from the plain path when the mirror lacks it', async () => {
    const { server, keyring, cacheDir } = await served({ byHash: true });
    const release = await fetchRelease({ url: server.url, suite: 'stable', keyring });
    assert.equal(release.acquireByHash, true);
    const byHash = await loadPackagesIndex(release, 'main', 'amd64', { cacheDir });
    assert.match(server.requests.at(-1) ?? '', /main\/binary-amd64\/by-hash\/SHA256\/[0-9a-f]{64}$/);
    assert.equal(packagesOf(byHash).length, 2);
    server.fault(new URL(byHash.file.url).pathname, { status: 404 });
    const plain = await loadPackagesIndex(release, 'main', 'amd64', {});
    assert.match(server.requests.at(-1) ?? '', /main\/binary-amd64\/Packages\.xz$/);
    assert.deepEqual(packagesOf(plain), packagesOf(byHash));
  });

  test('a component the Release does not list is INDEX_MISSING', async () => {
    const { server, keyring } = await served();
    const release = await fetchRelease({ url: server.url, suite: 'stable', keyring });
    await assert.rejects(loadPackagesIndex(release, 'contrib', 'amd64'), (err) => {
      rejectsWith('INDEX_MISSING', `${server.url} stable lists no contrib/binary-amd64/Packages`)(err);
      assert.match((err as { hint: string }).hint, /components \[main\] and architectures \[amd64 arm64\]/);
      return true;
    });
  });
});

describe('transient failures are retried; lasting ones are not hidden', () => {
  const count = (server: RepoServer, path: string): number => server.requests.filter((r) => r === path).length;

  test('a .deb answered 503 once, then cut midway once, is downloaded on the third try', async () => {
    const { repo, server, cacheDir } = await served();
    const deb = repo.debs[0]!;
    const path = `/${deb.filename}`;
    server.fault(path, { status: 503, times: 1 });
    const store = new BlobStore(cacheArea(cacheDir, 'blobs'));
    const [got] = await downloadDebs([{ url: `${server.url}${path}`, sha256: deb.sha256, size: deb.size, what: 'hello' }], { store });
    assert.deepEqual(await readFile(got!.path), await readFile(join(repo.dir, deb.filename)));
    assert.equal(count(server, path), 2);

    const other = repo.debs[1]!;
    const otherPath = `/${other.filename}`;
    server.fault(otherPath, { cutAfter: Math.floor(other.size / 2), times: 1 });
    const [again] = await downloadDebs([{ url: `${server.url}${otherPath}`, sha256: other.sha256, size: other.size, what: 'other' }], {
      store,
    });
    assert.deepEqual(await readFile(again!.path), await readFile(join(repo.dir, other.filename)));
    assert.equal(count(server, otherPath), 2);
  });

  test('a Packages.xz cut midway once is fetched again and parsed whole', async () => {
    const { server, keyring, cacheDir } = await served();
    const release = await fetchRelease({ url: server.url, suite: 'stable', keyring });
    const path = '/dists/stable/main/binary-amd64/Packages.xz';
    server.fault(path, { cutAfter: 40, times: 1 });
    const index = await loadPackagesIndex(release, 'main', 'amd64', { cacheDir });
    assert.equal(packagesOf(index).length, 2);
    assert.equal(count(server, path), 2);
  });

  test('a server failing every time gives HTTP_STATUS after four tries (the retry policy); a 404 is not retried', async () => {
    const { repo, server, cacheDir } = await served();
    const deb = repo.debs[0]!;
    const path = `/${deb.filename}`;
    server.fault(path, { status: 502 });
    const store = new BlobStore(cacheArea(cacheDir, 'blobs'));
    const item = { url: `${server.url}${path}`, sha256: deb.sha256, size: deb.size, what: 'hello' };
    await assert.rejects(downloadDebs([item], { store }), rejectsWith('HTTP_STATUS', '502'));
    assert.equal(count(server, path), 4);
    server.fault(path, { status: 404 });
    await assert.rejects(downloadDebs([item], { store }), rejectsWith('HTTP_STATUS', '404'));
    assert.equal(count(server, path), 5);
    assert.deepEqual(await filesUnder(cacheArea(cacheDir, 'blobs')), []);
  });
});

describe('broken debs', () => {
  test('a .deb whose hash does not match is DIGEST_MISMATCH and leaves nothing in the store', async () => {
    const { repo, server, cacheDir } = await served();
    const deb = repo.debs[0];
    assert.ok(deb !== undefined);
    const bad = Buffer.from(await readFile(join(repo.dir, deb.filename)));
    bad[bad.length - 1]! ^= 0xff;
    server.fault(`/${deb.filename}`, { body: bad });
    const store = new BlobStore(cacheArea(cacheDir, 'blobs'));
    const url = `${server.url}/${deb.filename}`;
    await assert.rejects(
      downloadDebs([{ url, sha256: deb.sha256, size: deb.size, what: 'hello 1:2.10-3 (amd64)' }], { store }),
      rejectsWith('DIGEST_MISMATCH', 'hello 1:2.10-3 (amd64)', url, `expected sha256:${deb.sha256}`, /got sha256:[0-9a-f]{64}/),
    );
    assert.deepEqual(await filesUnder(cacheArea(cacheDir, 'blobs')), []);
  });

  test('a .deb longer than promised is SIZE_MISMATCH and leaves nothing in the store', async () => {
    const { repo, server, cacheDir } = await served();
    const deb = repo.debs[0];
    assert.ok(deb !== undefined);
    server.fault(`/${deb.filename}`, { body: Buffer.concat([await readFile(join(repo.dir, deb.filename)), Buffer.alloc(10)]) });
    const store = new BlobStore(cacheArea(cacheDir, 'blobs'));
    await assert.rejects(
      downloadDebs([{ url: `${server.url}/${deb.filename}`, sha256: deb.sha256, size: deb.size, what: 'hello' }], { store }),
      rejectsWith('SIZE_MISMATCH', 'hello', `expected ${deb.size} bytes`),
    );
    assert.deepEqual(await filesUnder(cacheArea(cacheDir, 'blobs')), []);
  });
});

describe('network', () => {
  test('an unreachable source is NETWORK naming the URL', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as AddressInfo;
        probe.close(() => resolve(p));
      });
    });
    const url = `http://user:secret@127.0.0.1:${port}`;
    await assert.rejects(fetchRelease({ url, suite: 'stable', keyring: { keys: [], paths: [] } }), (err) => {
      rejectsWith('NETWORK', `cannot reach http://127.0.0.1:${port}/dists/stable/InRelease`, 'ECONNREFUSED')(err);
      assert.doesNotMatch((err as Error).message, /secret/);
      assert.match((err as { hint: string }).hint, /--mirror/);
      return true;
    });
  });

  test('a server that does not answer is NETWORK after the timeout', async () => {
    const { server, keyring } = await served();
    server.fault('/dists/stable/InRelease', { hang: true });
    await assert.rejects(
      fetchRelease({ url: server.url, suite: 'stable', keyring, timeoutMs: 200 }),
      rejectsWith('NETWORK', 'no answer for 0.2 s'),
    );
  });

  test('a missing suite is HTTP_STATUS 404', async () => {
    const { server, keyring } = await served();
    await assert.rejects(
      fetchRelease({ url: server.url, suite: 'nosuch', keyring }),
      rejectsWith('HTTP_STATUS', `GET ${server.url}/dists/nosuch/Release: 404 Not Found`),
    );
  });

  test('the mirror option fetches from another URL but keeps the canonical one', async () => {
    const { server, keyring } = await served();
    const release = await fetchRelease({ url: 'http://canonical.invalid/debian', mirror: server.url, suite: 'stable', keyring });
    assert.deepEqual([release.url, release.fetchedFrom], ['http://canonical.invalid/debian', server.url]);
    const index = await loadPackagesIndex(release, 'main', 'amd64');
    assert.equal(index.file.url, `${server.url}/dists/stable/main/binary-amd64/Packages.xz`);
  });
});

/** The first Debian source of the machine's APT configuration (read at run time, never written down). */
async function aptSource(): Promise<{ url: string; suite: string; keyring: string } | undefined> {
  const dir = '/etc/apt/sources.list.d';
  const names = (await readdir(dir).catch(() => [])).filter((n) => n.endsWith('.sources')).sort();
  for (const name of names) {
    for (const stanza of parseDeb822(await readFile(join(dir, name), 'utf8'))) {
      const url = field(stanza, 'URIs')?.split(/\s+/)[0];
      const suite = field(stanza, 'Suites')?.split(/\s+/)[0];
      if (url !== undefined && suite !== undefined && !suite.includes('security')) {
        return { url, suite, keyring: field(stanza, 'Signed-By') ?? '/usr/share/keyrings/debian-archive-keyring.gpg' };
      }
    }
  }
  return undefined;
}

test('real mirror: the Debian InRelease verifies with the archive keyring, and amd64 main loads warm from the cache', async (t) => {
  const source = await aptSource();
  if (source === undefined) {
    assert.ok(process.env['CI'] !== 'true', 'no APT .sources file names a mirror');
    t.skip('no APT .sources file names a mirror');
    return;
  }
  const keyring = await loadKeyring([source.keyring]);
  let release;
  try {
    release = await fetchRelease({ url: source.url, suite: source.suite, keyring });
  } catch (err) {
    if (!isAlbaError(err, 'NETWORK') || process.env['CI'] === 'true') throw err;
    t.skip(`mirror unreachable: ${err.message}`);
    return;
  }
  assert.equal(release.verified, true);
  assert.ok(release.signedBy.length > 0);
  const cacheDir = join(work, 'real-cache');
  const cold = await loadPackagesIndex(release, 'main', 'amd64', { cacheDir });
  assert.equal(cold.fromCache, false);
  assert.ok(packagesOf(cold).length > 50_000, `${packagesOf(cold).length} packages`);
  const libc = packagesOf(cold).find((p) => p.name === 'libc6');
  assert.equal(libc?.source, 'glibc');
  assert.match(libc?.filename ?? '', /^pool\/main\/g\/glibc\/libc6_.*_amd64\.deb$/);
  const started = performance.now();
  const warm = await loadPackagesIndex(release, 'main', 'amd64', { cacheDir });
  const ms = performance.now() - started;
  t.diagnostic(`warm load of ${packagesOf(warm).length} packages: ${ms.toFixed(0)} ms`);
  assert.equal(warm.fromCache, true);
  assert.deepEqual(packagesOf(warm), packagesOf(cold));
});
