import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readLayout } from '../../src/source/oci-layout.js';
import { makeFixtureDistro, writeFixtureProject, type FixtureProject } from '../helpers/fixture-distro.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';
import { albaBin, explainRun, runAlba } from '../helpers/run-alba.js';
import { verifyLayoutExternally } from '../helpers/verify-layout.js';

// The cache is trusted by name, so alba checks the name: a flipped bit in a cached layer, .deb or
// parsed index is found, evicted with a note and rebuilt or fetched again, never published; a
// layout shares no inode with the cache; temp files of killed runs go; replacing --out is whole
// at every instant, and two builds into one --out both end well. The compiled CLI, end to end.

const work = await mkdtemp(join(tmpdir(), 'alba-build-damage-'));
let server: RepoServer;
let project: FixtureProject;
const cache = join(work, 'cache');

before(async () => {
  const repo = await makeFixtureDistro(join(work, 'repo'));
  server = await serveDir(repo.dir);
  project = await writeFixtureProject(join(work, 'project'), { url: server.url, keyring: repo.keyringPath });
  const lock = await runAlba(['lock', project.recipe, '--cache', cache]);
  assert.equal(lock.status, 0, explainRun(lock));
});
after(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

async function build(out: string): Promise<{ status: number | null; stderr: string; index: string }> {
  const res = await runAlba(['build', project.recipe, '--cache', cache, '--out', out]);
  assert.equal(res.status, 0, explainRun(res));
  await verifyLayoutExternally(out);
  return { status: res.status, stderr: res.stderr, index: await readFile(join(out, 'index.json'), 'utf8') };
}

/** Flips one bit in the middle of a file, in place. */
async function flipBit(path: string): Promise<void> {
  const bytes = await readFile(path);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  await writeFile(path, bytes);
}

/** The largest package layer of the first platform of a layout (not the base and files layers, which every build writes anew). */
async function biggestLayer(out: string): Promise<string> {
  const layout = await readLayout(out);
  const index = JSON.parse(await readFile(join(out, 'blobs', 'sha256', layout.index.manifests[0]!.digest.slice(7)), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const manifest = JSON.parse(await readFile(join(out, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as {
    layers: { digest: string; size: number }[];
  };
  return [...manifest.layers.slice(0, -2)].sort((a, b) => b.size - a.size)[0]!.digest.slice(7);
}

describe('a damaged cache never reaches an output', () => {
  test('a flipped bit in a cached layer: the earlier layout is untouched, the next build notes it, rebuilds it and writes the same image', async () => {
    const first = await build(join(work, 'out1'));
    const layer = await biggestLayer(join(work, 'out1'));
    await flipBit(join(cache, 'blobs', 'sha256', layer));
    await verifyLayoutExternally(join(work, 'out1')); // no shared inode: out1 is intact
    const second = await build(join(work, 'out2'));
    assert.match(second.stderr, new RegExp(`note: the cached layer .*${layer} is corrupt .*built again`));
    assert.equal(second.index, first.index, 'the same digests');
    const third = await build(join(work, 'out3'));
    assert.doesNotMatch(third.stderr, /corrupt/, 'the rebuilt layer is sound');
  });

  test('a flipped bit in a cached .deb: fetched again, with a note naming the cache path', async () => {
    const first = await readFile(join(work, 'out1', 'index.json'), 'utf8');
    const debs = await readdir(join(cache, 'blobs', 'sha256'));
    const lock = JSON.parse(await readFile(project.recipe.replace(/\.yaml$/, '.lock.json'), 'utf8')) as {
      archs: Record<string, { name: string; sha256: string }[]>;
    };
    const libc = lock.archs['amd64']!.find((p) => p.name === 'libc6')!;
    assert.ok(debs.includes(libc.sha256));
    await flipBit(join(cache, 'blobs', 'sha256', libc.sha256));
    await rm(join(cache, 'layers'), { recursive: true, force: true }); // so that the layer is built from the .deb again
    const res = await build(join(work, 'out4'));
    assert.match(
      res.stderr,
      new RegExp(
        `note: the cached libc6 .* ${join(cache, 'blobs', 'sha256', libc.sha256).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is corrupt .*fetched again`,
      ),
    );
    assert.match(res.stderr, /fetched libc6/);
    assert.equal(res.index, first);
  });

  test('a flipped bit in a parsed index: noted, fetched and parsed again; the same lock', async () => {
    const lockPath = project.recipe.replace(/\.yaml$/, '.lock.json');
    const before = await readFile(lockPath, 'utf8');
    await rm(join(cache, 'resolutions'), { recursive: true, force: true }); // so that the indexes are read
    const [entry] = (await readdir(join(cache, 'indexes'))).filter((n) => n.endsWith('.deb822'));
    const path = join(cache, 'indexes', entry!);
    const bytes = await readFile(path);
    const at = bytes.indexOf('\nVersion: 2.');
    assert.ok(at >= 0, 'the entry holds a version 2.x');
    bytes[at + 10] = '3'.charCodeAt(0); // a version digit: still a valid stanza
    await writeFile(path, bytes);
    const res = await runAlba(['lock', project.recipe, '--cache', cache, '--update']);
    assert.equal(res.status, 0, explainRun(res));
    assert.match(res.stderr, /note: the parsed index .* is corrupt .*fetched and parsed again/);
    assert.equal(await readFile(lockPath, 'utf8'), before);
  });

  test('temp files of killed runs are removed once old; fresh ones (a concurrent run) are left', async () => {
    const tmp = join(cache, 'blobs', 'tmp');
    await mkdir(tmp, { recursive: true });
    const old = new Date(Date.now() - 2 * 3600_000);
    await writeFile(join(tmp, '999-old'), 'half a download');
    await utimes(join(tmp, '999-old'), old, old);
    await writeFile(join(tmp, '999-fresh'), 'a download in flight');
    const staged = join(work, '.out1.alba-999-dead');
    await mkdir(join(staged, 'blobs'), { recursive: true });
    await utimes(staged, old, old);
    await build(join(work, 'out1'));
    assert.deepEqual(await readdir(tmp), ['999-fresh']);
    await assert.rejects(stat(staged), 'the staged layout of a killed run is gone');
  });
});

describe('--out is replaced whole', () => {
  test('a build killed at many instants leaves the old layout or the new one, valid', async () => {
    const out = join(work, 'killed');
    await build(out);
    const spawnBuild = (revision: string): { exited: Promise<unknown>; kill: () => void } => {
      const child = spawn(
        process.execPath,
        [albaBin, 'build', project.recipe, '--cache', cache, '--out', out, '--annotation', `org.opencontainers.image.revision=${revision}`],
        { stdio: 'ignore' },
      );
      return { exited: new Promise((r) => child.once('exit', r)), kill: () => child.kill('SIGKILL') };
    };
    // the kills spread over a whole build as long as one takes on this machine now (a new annotation:
    // no warm answer), the last ones after its commit
    const started = Date.now();
    await spawnBuild('timed').exited;
    const whole = Date.now() - started;
    const versions = new Set([await readFile(join(out, 'index.json'), 'utf8')]);
    // on a loaded machine a build may take longer than the one timed: then later kills, until one gets past the commit
    for (let i = 0; i < 12 || (versions.size === 1 && i < 20); i++) {
      const { exited, kill } = spawnBuild(String(i));
      await new Promise((r) => setTimeout(r, whole * (i < 12 ? (i + 1) / 10 : i - 10)));
      kill();
      await exited;
      await verifyLayoutExternally(out);
      versions.add(await readFile(join(out, 'index.json'), 'utf8'));
    }
    assert.ok(versions.size > 1, 'some of the killed builds got as far as the commit');
    const res = await runAlba(['build', project.recipe, '--cache', cache, '--out', out]);
    assert.equal(res.status, 0, explainRun(res));
    await verifyLayoutExternally(out);
  });

  test('two builds into one --out at once both exit 0 and leave a valid layout', async () => {
    const out = join(work, 'twice');
    const [a, b] = await Promise.all([
      runAlba(['build', project.recipe, '--cache', cache, '--out', out, '--annotation', 'org.opencontainers.image.revision=a']),
      runAlba(['build', project.recipe, '--cache', cache, '--out', out, '--annotation', 'org.opencontainers.image.revision=b']),
    ]);
    assert.equal(a.status, 0, explainRun(a));
    assert.equal(b.status, 0, explainRun(b));
    await verifyLayoutExternally(out);
    assert.deepEqual(await readdir(join(out, 'blobs')), ['sha256']);
    assert.deepEqual(
      (await readdir(work)).filter((n) => n.startsWith('.twice.alba-')),
      [],
      'nothing left beside it',
    );
  });
});
