import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeFixtureDistro, writeFixtureProject, type FixtureProject } from '../helpers/fixture-distro.js';
import { readLayerEntries } from '../helpers/read-layer.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';
import { albaBin, runAlba, type AlbaRun } from '../helpers/run-alba.js';
import { requireTool } from '../helpers/tools.js';

// Command-line options of `alba build` beyond the recipe (--annotation, --arch), and the
// recipe's `ca-certificates: package`.

const work = await mkdtemp(join(tmpdir(), 'alba-build-options-'));
const cache = join(work, 'cache');
let server: RepoServer;
let project: FixtureProject;
let keyringPath: string;
before(async () => {
  const repo = await makeFixtureDistro(join(work, 'repo'));
  server = await serveDir(repo.dir);
  keyringPath = repo.keyringPath;
  project = await writeFixtureProject(join(work, 'project'), { url: server.url, keyring: repo.keyringPath, tag: 'opt' });
  const lock = await runAlba(['lock', project.recipe, '--cache', cache]);
  assert.equal(lock.status, 0, lock.stderr);
});
after(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

async function indexOf(
  layout: string,
): Promise<{ manifests: { platform?: { architecture: string } }[]; annotations?: Record<string, string> }> {
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
  const run = await runAlba([
    'build',
    project.recipe,
    '--cache',
    cache,
    '--out',
    out,
    '--annotation',
    revision,
    '--annotation',
    'org.opencontainers.image.version=1.2.3',
  ]);
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
  assert.deepEqual(
    (await indexOf(out)).manifests.map((m) => m.platform?.architecture),
    ['arm64'],
  );
  assert.deepEqual(
    (JSON.parse(run.stdout) as { manifests: { platform: string }[] }).manifests.map((m) => m.platform),
    ['arm64'],
  );
  const other = await runAlba(['build', project.recipe, '--cache', cache, '--out', out, '--arch', 'armhf']);
  assert.equal(other.status, 2, explain(other));
  assert.match(other.stderr, /error\[USAGE\]: --arch armhf: not one of the recipe's archs/);
});

test('ca-certificates: package ships every file of the package besides the bundle; the default ships only the bundle and the copyright', async () => {
  const layerPaths = async (out: string): Promise<string[]> => {
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const top = JSON.parse(await readFile(join(out, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const manifest = JSON.parse(await readFile(join(out, 'blobs', 'sha256', top.manifests[0]!.digest.slice(7)), 'utf8')) as {
      layers: { digest: string }[];
    };
    const entries = await Promise.all(manifest.layers.map((l) => readLayerEntries(join(out, 'blobs', 'sha256', l.digest.slice(7)))));
    return entries.flat().map((e) => e.header.name);
  };
  const full = await writeFixtureProject(join(work, 'project-ca'), {
    url: server.url,
    keyring: keyringPath,
    tag: 'ca',
    extra: ['ca-certificates: package'],
  });
  const out = join(work, 'ca-package');
  const run = await runAlba(['build', full.recipe, '--cache', cache, '--out', out]);
  assert.equal(run.status, 0, explain(run));
  const paths = await layerPaths(out);
  assert.ok(
    paths.some((p) => p.startsWith('usr/share/ca-certificates/mozilla/') && p.endsWith('.crt')),
    'the .crt files are there',
  );
  assert.ok(paths.includes('etc/ssl/certs/ca-certificates.crt'));
  const slim = join(work, 'ca-bundle');
  assert.equal((await runAlba(['build', project.recipe, '--cache', cache, '--out', slim])).status, 0);
  const slimPaths = await layerPaths(slim);
  assert.ok(!slimPaths.some((p) => p.startsWith('usr/share/ca-certificates/')));
  assert.ok(slimPaths.includes('usr/share/doc/ca-certificates/copyright') && slimPaths.includes('etc/ssl/certs/ca-certificates.crt'));
  const bad = await writeFixtureProject(join(work, 'project-ca-bad'), {
    url: server.url,
    keyring: keyringPath,
    extra: ['ca-certificates: bundel'],
  });
  const refused = await runAlba(['build', bad.recipe, '--cache', cache, '--out', join(work, 'ca-bad')]);
  assert.equal(refused.status, 1, explain(refused));
  assert.match(refused.stderr, /recipe\.yaml:13:18: ca-certificates: unknown mode "bundel" — did you mean "bundle"\?/);
});

test("--format oci-archive: one tar of the layout, the same bytes on every build, the layout's digests; docker-archive: one per platform, named by it, skopeo reads each", async (t) => {
  if (!requireTool('skopeo', t)) return;
  const layout = join(work, 'fmt-layout');
  assert.equal((await runAlba(['build', project.recipe, '--cache', cache, '--out', layout])).status, 0);
  const layoutIndex = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const archive = join(work, 'fmt', 'app.tar');
  const first = await runAlba(['build', project.recipe, '--cache', cache, '--format', 'oci-archive', '--out', archive]);
  assert.equal(first.status, 0, explain(first));
  const bytes = await readFile(archive);
  assert.equal((await runAlba(['build', project.recipe, '--cache', cache, '--format', 'oci-archive', '--out', archive])).status, 0);
  assert.ok((await readFile(archive)).equals(bytes), 'deterministic');
  const raw = spawnSync('skopeo', ['inspect', '--raw', `oci-archive:${archive}:opt`], { encoding: null });
  assert.equal(raw.status, 0, String(raw.stderr));
  assert.equal(`sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`, layoutIndex.manifests[0]!.digest);

  const docker = await runAlba([
    'build',
    project.recipe,
    '--cache',
    cache,
    '--format',
    'docker-archive',
    '--out',
    join(work, 'fmt', 'app-docker.tar'),
  ]);
  assert.equal(docker.status, 0, explain(docker));
  for (const arch of ['amd64', 'arm64']) {
    const file = join(work, 'fmt', `app-docker-linux-${arch === 'arm64' ? 'arm64-v8' : arch}.tar`);
    assert.match(docker.stdout, new RegExp(`wrote ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(docker-archive`));
    const inspect = spawnSync('skopeo', ['inspect', `docker-archive:${file}`], { encoding: 'utf8' });
    assert.equal(inspect.status, 0, inspect.stderr);
    assert.equal((JSON.parse(inspect.stdout) as { Architecture: string }).Architecture, arch);
  }
  const bad = await runAlba(['build', project.recipe, '--cache', cache, '--format', 'tarball']);
  assert.equal(bad.status, 2, explain(bad));
});

test('progress: redrawn in place on a terminal (a pseudo-TTY through script) and cleared; plain lines in a pipe; --quiet prints the result only', async (t) => {
  if (!requireTool('script', t)) return;
  const freshCache = join(work, 'cache-progress');
  const out = join(work, 'progress-out');
  const command = [process.execPath, albaBin, 'build', project.recipe, '--cache', freshCache, '--out', out].map((a) => `'${a}'`).join(' ');
  const env = { ...process.env };
  delete env.CI;
  const tty = await new Promise<string>((resolve) => {
    const child = spawn('script', ['-qefc', command, '/dev/null'], { env });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.on('close', () => resolve(text));
  });
  assert.match(tty, /\r\.debs \d+\/\d+, [\d.]+ kB of [\d.]+ kB/, 'download progress, redrawn with a carriage return');
  assert.match(tty, /\rlayers \d+\/\d+/, 'layer progress');
  assert.ok(tty.includes('\r\u001b[K'), 'the line is cleared at the end');
  assert.match(tty, /wrote .*progress-out/);
  const piped = await runAlba(['build', project.recipe, '--cache', join(work, 'cache-progress-2'), '--out', out]);
  assert.equal(piped.status, 0, explain(piped));
  assert.doesNotMatch(piped.stderr, /\r/, 'no redrawing in a pipe');
  assert.match(piped.stderr, /^fetched /m, 'plain lines');
  const quiet = await runAlba(['build', project.recipe, '--cache', join(work, 'cache-progress-3'), '--out', out, '--quiet']);
  assert.equal(quiet.status, 0, explain(quiet));
  assert.equal(quiet.stderr, '', '--quiet: nothing but errors on stderr');
  assert.match(quiet.stdout, /^index +sha256:/m, 'the result is still printed');
  const failing = await runAlba(['build', join(work, 'no-such.yaml'), '-q']);
  assert.match(failing.stderr, /error\[RECIPE_NOT_FOUND\]/, 'errors are printed under --quiet');
});

test('without a lock: each .deb is fetched once (downloads start as each arch resolves), and the image is the one a lock gives', async () => {
  const locked = await runAlba(['build', project.recipe, '--cache', cache, '--out', join(work, 'from-lock'), '--json']);
  assert.equal(locked.status, 0, explain(locked));
  const fresh = await writeFixtureProject(join(work, 'no-lock'), { url: server.url, keyring: keyringPath, tag: 'opt' });
  const before = server.requests.length;
  const run = await runAlba(['build', fresh.recipe, '--cache', join(work, 'no-lock-cache'), '--out', join(work, 'no-lock-out'), '--json']);
  assert.equal(run.status, 0, explain(run));
  assert.match(run.stderr, /no lock file .*resolving now/);
  const debs = server.requests.slice(before).filter((p) => p.endsWith('.deb'));
  assert.ok(debs.length > 0, 'the build fetched .debs');
  assert.deepEqual(
    debs.filter((p, i) => debs.indexOf(p) !== i),
    [],
    'no .deb fetched twice',
  );
  const digest = (r: AlbaRun): string => (JSON.parse(r.stdout) as { index: { digest: string } }).index.digest;
  assert.equal(digest(run), digest(locked));

  const one = await writeFixtureProject(join(work, 'no-lock-amd64'), { url: server.url, keyring: keyringPath, tag: 'opt' });
  const at = server.requests.length;
  const amd64 = await runAlba([
    'build',
    one.recipe,
    '--cache',
    join(work, 'no-lock-amd64-cache'),
    '--out',
    join(work, 'no-lock-amd64-out'),
    '--arch',
    'amd64',
  ]);
  assert.equal(amd64.status, 0, explain(amd64));
  assert.deepEqual(
    server.requests.slice(at).filter((p) => p.endsWith('_arm64.deb')),
    [],
    '--arch amd64 fetches no arm64 .deb',
  );
});
