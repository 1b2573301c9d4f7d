import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { digestOf, type Digest } from '../../src/oci/digest.js';
import { checkLayout, readLayout } from '../../src/source/oci-layout.js';
import { after, before, describe, test } from 'node:test';
import { buildFixtureLayout, type FixtureLayout } from '../helpers/fixture-layout.js';
import { bigLayout } from '../helpers/big-layout.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { type AlbaRun, explainRun, runAlba } from '../helpers/run-alba.js';
import { requireTool } from '../helpers/tools.js';
import { openRegistrySink } from '../../src/sink/registry/registry-sink.js';
import { MediaType } from '../../src/oci/media-types.js';
import { Readable } from 'node:stream';

// `alba container push` against a real CNCF distribution 2.8 registry, checked with skopeo and
// umoci; no-op re-push, auth sources, cross-repository mounts, docker archives and injected faults
// through a recording proxy. Uses the compiled CLI.

const TAG = 'pushed';
const USER = { username: 'bob', password: 'se:cret pw' };
const haveTools = requireTool('docker-registry') && requireTool('skopeo') && requireTool('umoci') && requireTool('htpasswd');

const work = await mkdtemp(join(tmpdir(), 'alba-push-'));
const cache = join(work, 'cache'); // the fixture build's cache (buildFixtureLayout)
const dockerConfig = join(work, 'docker-config');
let fixture: FixtureLayout;
let registry: RegistryServer;
let authRegistry: RegistryServer;
let layout: string;
let recipe: string;

before(async () => {
  if (!haveTools) return;
  fixture = await buildFixtureLayout(work, TAG);
  ({ layout, recipe } = fixture);
  await mkdir(dockerConfig, { recursive: true });
  registry = await startRegistry();
  authRegistry = await startRegistry({ auth: USER });
});
after(async () => {
  await registry?.close();
  await authRegistry?.close();
  await fixture?.close();
  await rm(work, { recursive: true, force: true });
});

/** `alba container push` with an isolated cache (unless `args` name one: --cache is given once) and docker config. */
function push(args: string[], env: Record<string, string> = {}): Promise<AlbaRun> {
  const cacheArgs = args.includes('--cache') ? [] : ['--cache', cache];
  return runAlba(['container', 'push', ...cacheArgs, ...args], { env: { DOCKER_CONFIG: dockerConfig, ...env } });
}

function run(cmd: string, args: string[]): { status: number | null; out: string } {
  const res = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: res.status, out: `${res.stdout}${res.stderr}` };
}

async function layoutIndex(): Promise<{
  digest: string;
  bytes: Buffer;
  manifests: { digest: string; platform?: { architecture: string } }[];
}> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const digest = index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === TAG)!.digest;
  const bytes = await readFile(join(layout, 'blobs', 'sha256', digest.slice(7)));
  return { digest, bytes, ...(JSON.parse(bytes.toString('utf8')) as { manifests: { digest: string }[] }) };
}

async function tagsOf(host: string, repository: string, basic?: string): Promise<string[]> {
  const res = await fetch(`http://${host}/v2/${repository}/tags/list`, {
    headers: basic === undefined ? {} : { authorization: `Basic ${Buffer.from(basic).toString('base64')}` },
  });
  if (res.status === 404) return [];
  return ((await res.json()) as { tags: string[] | null }).tags ?? [];
}

function blobUploads(proxy: FaultProxy): number {
  return proxy.requests.filter((r) => (r.method === 'PATCH' || r.method === 'PUT') && r.path.includes('/blobs/uploads/')).length;
}

describe(
  'alba container push to a distribution registry',
  { skip: haveTools ? false : 'docker-registry, skopeo, umoci or htpasswd is missing' },
  () => {
    test('push, then skopeo pulls back the same digests, inspect --raw is the index, umoci unpacks, alba sbom reads the SBOMs', async () => {
      const res = await push(['-t', 'fixture/app:1.0', '-t', 'fixture/app:latest', layout, `docker://${registry.host}`]);
      assert.equal(res.status, 0, explainRun(res));
      const index = await layoutIndex();
      assert.equal(res.stdout.trim().split('\n').pop(), `${registry.host}/fixture/app@${index.digest}`);
      assert.match(res.stderr, /\[blob linux\/amd64\] \d+ sent/);
      assert.deepEqual((await tagsOf(registry.host, 'fixture/app')).filter((t) => !t.startsWith('sha256-')).sort(), ['1.0', 'latest']);

      const raw = run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/fixture/app:1.0`]);
      assert.equal(raw.status, 0, raw.out);
      assert.ok(Buffer.from(raw.out, 'utf8').equals(index.bytes), 'skopeo inspect --raw is the built index, byte for byte');

      const back = join(work, 'back');
      const copy = run('skopeo', [
        'copy',
        '--all',
        '--src-tls-verify=false',
        `docker://${registry.host}/fixture/app:1.0`,
        `oci:${back}:1.0`,
      ]);
      assert.equal(copy.status, 0, copy.out);
      const pulled = (await readdir(join(back, 'blobs', 'sha256'))).sort();
      const builtImageBlobs = new Set(await imageBlobsOf(layout, index.digest));
      assert.deepEqual(pulled, [...builtImageBlobs].sort(), 'the pulled layout holds exactly the image blobs of the built one');

      for (const arch of ['amd64', 'arm64']) {
        const single = join(work, `single-${arch}`);
        const one = run('skopeo', [
          'copy',
          '--override-arch',
          arch,
          '--src-tls-verify=false',
          `docker://${registry.host}/fixture/app:1.0`,
          `oci:${single}:img`,
        ]);
        assert.equal(one.status, 0, one.out);
        const bundle = join(work, `bundle-${arch}`);
        const unpack = run('umoci', ['unpack', ...(process.getuid?.() === 0 ? [] : ['--rootless']), '--image', `${single}:img`, bundle]);
        assert.equal(unpack.status, 0, unpack.out);
      }

      for (const [args, file] of [
        [[], 'index.spdx.json'],
        [['--platform', 'linux/arm64'], 'arm64.spdx.json'],
        [['--platform', 'amd64'], 'amd64.spdx.json'],
      ] as const) {
        const sbom = await runAlba(['sbom', `${registry.host}/fixture/app:1.0`, ...args]);
        assert.equal(sbom.status, 0, explainRun(sbom));
        assert.ok(
          Buffer.from(sbom.stdout, 'utf8').equals(await readFile(join(layout, 'sbom', file))),
          `alba sbom ${args.join(' ')} is sbom/${file}`,
        );
      }
    });

    test('pushing again sends no blob bytes and writes no manifest', async () => {
      const proxy = await startFaultProxy(registry.url);
      try {
        const first = await push(['-t', 'fixture/again:1.0', layout, `docker://${proxy.host}`]);
        assert.equal(first.status, 0, explainRun(first));
        assert.ok(blobUploads(proxy) > 0, 'the first push uploads');
        proxy.requests.length = 0;
        const started = Date.now();
        const second = await push(['-t', 'fixture/again:1.0', layout, `docker://${proxy.host}`]);
        const seconds = (Date.now() - started) / 1000;
        assert.equal(second.status, 0, explainRun(second));
        assert.equal(blobUploads(proxy), 0, `no upload on a no-op push:\n${proxy.requests.map((r) => `${r.method} ${r.path}`).join('\n')}`);
        assert.ok(
          proxy.requests.some((r) => r.path.includes('/fixture/again/')),
          'the re-push went through the proxy',
        );
        assert.deepEqual(
          proxy.requests.filter((r) => r.method !== 'HEAD' && r.method !== 'GET').map((r) => `${r.method} ${r.path}`),
          [],
          'a no-op re-push makes only HEAD and GET requests',
        );
        assert.match(second.stderr, /skipped/);
        process.stderr.write(`# no-op re-push took ${seconds.toFixed(2)} s (CLI start included)\n`);
      } finally {
        await proxy.close();
      }
    });

    test('the sink never takes an earlier "held" for granted: a manifest deleted after holdsComplete saw it is stored again by putManifest', async () => {
      const first = await push(['-t', 'fixture/held:1.0', layout, `docker://${registry.host}`]);
      assert.equal(first.status, 0, explainRun(first));
      const { digest, bytes } = await layoutIndex();
      const descriptor = { mediaType: MediaType.index, digest: digest as Digest, size: bytes.length };
      const sink = await openRegistrySink({ registry: registry.host, repository: 'fixture/held' });
      assert.equal(await sink.holdsComplete(descriptor), true);
      const removed = await fetch(`${registry.url}/v2/fixture/held/manifests/${digest}`, { method: 'DELETE' });
      assert.equal(removed.status, 202, 'the test registry deletes the index');
      const stored = await sink.putManifest({
        descriptor,
        bytes,
        open: async () => Readable.from([bytes]),
      });
      assert.equal(stored, 'sent', 'the index is sent again, not skipped on the answer holdsComplete had');
      const back = await fetch(`${registry.url}/v2/fixture/held/manifests/${digest}`, {
        method: 'HEAD',
        headers: { accept: MediaType.index },
      });
      assert.equal(back.status, 200, 'the registry holds the index again');
    });

    test('answers asked ahead are forgotten at finish: a platform manifest deleted after the prefetch saw it is stored by the next walk', async () => {
      const first = await push(['-t', 'fixture/ahead:1.0', layout, `docker://${registry.host}`]);
      assert.equal(first.status, 0, explainRun(first));
      const { manifests } = await layoutIndex();
      const platform = manifests[0]!.digest;
      const bytes = await readFile(join(layout, 'blobs', 'sha256', platform.slice(7)));
      const descriptor = { mediaType: MediaType.manifest, digest: platform as Digest, size: bytes.length };
      const proxy = await startFaultProxy(registry.url);
      try {
        const sink = await openRegistrySink({ registry: proxy.host, repository: 'fixture/ahead' });
        sink.prefetch!({ blobs: [], manifests: [descriptor] });
        // the registry has answered the walk's question (held) before the removal deletes it
        const asked = (): boolean => proxy.requests.some((r) => r.method === 'HEAD' && r.path.endsWith(platform) && r.status === 200);
        for (let i = 0; i < 200 && !asked(); i++) await new Promise((r) => setTimeout(r, 25));
        assert.ok(asked(), 'the prefetch asked, and the registry said held');
        const removed = await fetch(`${registry.url}/v2/fixture/ahead/manifests/${platform}`, { method: 'DELETE' });
        assert.equal(removed.status, 202);
        await sink.finish(false); // the walk failed; publish() walks again once it finds a removal ran
        const stored = await sink.putManifest({ descriptor, bytes, open: async () => Readable.from([bytes]) });
        assert.equal(stored, 'sent', 'stored again, not skipped on the answer the failed walk asked ahead');
        const back = await fetch(`${registry.url}/v2/fixture/ahead/manifests/${platform}`, {
          method: 'HEAD',
          headers: { accept: MediaType.manifest },
        });
        assert.equal(back.status, 200);
      } finally {
        await proxy.close();
      }
    });

    test('a tag found in place before the links is asked again before the tags: moved meanwhile, it gets a push record and is moved back', async () => {
      const first = await push(['-t', 'fixture/moved:1.0', layout, `docker://${registry.host}`]);
      assert.equal(first.status, 0, explainRun(first));
      const { digest, bytes, manifests } = await layoutIndex();
      const root = { mediaType: MediaType.index, digest: digest as Digest, size: bytes.length };
      const sink = await openRegistrySink({ registry: registry.host, repository: 'fixture/moved' });
      assert.deepEqual(await sink.tagReferrers!(['1.0'], root), [], 'the tag is on the root: no record');
      // another push moves the tag meanwhile (to one of the platform manifests)
      const platform = await readFile(join(layout, 'blobs', 'sha256', manifests[0]!.digest.slice(7)));
      const moved = await fetch(`${registry.url}/v2/fixture/moved/manifests/1.0`, {
        method: 'PUT',
        headers: { 'content-type': MediaType.manifest },
        body: platform,
      });
      assert.equal(moved.status, 201);
      const outcome = await sink.tag('1.0', { descriptor: root, bytes, open: async () => Readable.from([bytes]) });
      assert.equal(outcome, 'sent', 'the tag is written again, not skipped on the answer tagReferrers had');
      const now = await fetch(`${registry.url}/v2/fixture/moved/manifests/1.0`, { method: 'HEAD', headers: { accept: MediaType.index } });
      assert.equal(now.headers.get('docker-content-digest'), digest, 'the tag is back on the root');
      const referrers = await fetch(`${registry.url}/v2/fixture/moved/manifests/${digest.replace(':', '-')}`, {
        headers: { accept: MediaType.index },
      });
      const listed = ((await referrers.json()) as { manifests: { annotations?: Record<string, string> }[] }).manifests;
      assert.equal(
        listed.filter((d) => d.annotations?.['dev.alba.push.tag'] === '1.0').length,
        2,
        'a second push record for 1.0 is linked',
      );
    });

    test("a referrers tag another writer rewrites right after alba's write (a lost update) is read back, merged again and rewritten: every entry stays", async () => {
      const repo = 'fixture/raced';
      const { digest, bytes } = await layoutIndex();
      const subject = { mediaType: MediaType.index, digest, size: bytes.length };
      const tagPath = `/v2/${repo}/manifests/${digest.replace(':', '-')}`;
      // another tool's referrer of the index (a signature), already in the registry
      const empty = { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(Buffer.from('{}')), size: 2 };
      const started = await fetch(`${registry.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
      const location = new URL(started.headers.get('location')!, registry.url);
      location.searchParams.set('digest', empty.digest);
      assert.equal((await fetch(location, { method: 'PUT', body: '{}' })).status, 201);
      const foreignBytes = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.manifest,
          artifactType: 'application/vnd.example.signature',
          config: empty,
          layers: [empty],
          subject,
        }),
      );
      const foreign = {
        mediaType: MediaType.manifest,
        digest: digestOf(foreignBytes),
        size: foreignBytes.length,
        artifactType: 'application/vnd.example.signature',
      };
      const stored = await fetch(`${registry.url}/v2/${repo}/manifests/${foreign.digest}`, {
        method: 'PUT',
        headers: { 'content-type': MediaType.manifest },
        body: foreignBytes,
      });
      assert.equal(stored.status, 201);
      // the other writer read the tag before alba wrote it (none there), and writes its own index
      // (its signature alone) once alba's write has landed, before alba reads the tag back
      const theirs = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.index, manifests: [foreign] });
      const proxy = await startFaultProxy(registry.url);
      let albaWrites = 0;
      let raced = false;
      proxy.fault = (r) => {
        if (r.path !== tagPath) return undefined;
        if (r.method === 'PUT') albaWrites++;
        if (r.method !== 'GET' || albaWrites !== 1 || raced) return undefined;
        raced = true;
        return {
          hold: fetch(`${registry.url}${tagPath}`, { method: 'PUT', headers: { 'content-type': MediaType.index }, body: theirs }).then(
            (res) => assert.equal(res.status, 201, 'the other writer overwrites the tag'),
          ),
        };
      };
      try {
        const res = await push(['-t', `${repo}:1.0`, layout, `docker://${proxy.host}`]);
        assert.equal(res.status, 0, explainRun(res));
      } finally {
        await proxy.close();
      }
      assert.ok(raced, 'the other writer raced alba');
      assert.equal(albaWrites, 2, 'alba wrote the tag again after reading back what the other writer left');
      const listed = (
        (await (await fetch(`${registry.url}${tagPath}`, { headers: { accept: MediaType.index } })).json()) as {
          manifests: { digest: string; artifactType?: string; annotations?: Record<string, string> }[];
        }
      ).manifests;
      assert.ok(
        listed.some((d) => d.digest === foreign.digest),
        "the other writer's entry is kept",
      );
      assert.ok(
        listed.some((d) => d.artifactType === MediaType.spdx),
        "alba's SBOM of the index is listed again",
      );
      assert.ok(
        listed.some((d) => d.annotations?.['dev.alba.push.tag'] === '1.0'),
        "alba's push record is listed again",
      );
    });

    test('a second repository of the same registry gets its blobs by cross-repository mount', async () => {
      const proxy = await startFaultProxy(registry.url);
      try {
        assert.equal((await push(['-t', 'fixture/source:1.0', layout, `docker://${proxy.host}`])).status, 0);
        proxy.requests.length = 0;
        const res = await push(['-t', 'fixture/mounted:1.0', layout, `docker://${proxy.host}`]);
        assert.equal(res.status, 0, explainRun(res));
        assert.ok(
          proxy.requests.some((r) => r.method === 'POST' && r.path.includes('mount=') && r.path.includes('from=fixture%2Fsource')),
          'mount requests were made',
        );
        assert.equal(blobUploads(proxy), 0, 'no blob was uploaded');
        assert.match(res.stderr, /mounted/);
      } finally {
        await proxy.close();
      }
    });

    test('--chunk-size uploads in PATCHes of that size; the image pulls back whole', async () => {
      const proxy = await startFaultProxy(registry.url);
      try {
        const res = await push([
          '-t',
          'fixture/chunked:1',
          '--chunk-size',
          '1k',
          '--cache',
          join(work, 'chunk-cache'),
          layout,
          `docker://${proxy.host}`,
        ]);
        assert.equal(res.status, 0, explainRun(res));
        const patches = proxy.requests.filter((r) => r.method === 'PATCH').length;
        const blobs = new Set(await imageBlobsOf(layout, (await layoutIndex()).digest)).size;
        assert.ok(patches > blobs, `${patches} PATCH requests for ${blobs} blobs`);
        const back = run('skopeo', [
          'copy',
          '--all',
          '--src-tls-verify=false',
          `docker://${registry.host}/fixture/chunked:1`,
          `oci:${join(work, 'chunked-back')}:1`,
        ]);
        assert.equal(back.status, 0, back.out);
      } finally {
        await proxy.close();
      }
    });

    test('a blob over 16 MiB goes up in one streamed PATCH, then an empty PUT', async () => {
      const big = await bigLayout(join(work, 'big'), 20);
      const proxy = await startFaultProxy(registry.url);
      try {
        const res = await push(['-t', 'fixture/big:1', '--cache', join(work, 'big-cache'), big.dir, `docker://${proxy.host}`]);
        assert.equal(res.status, 0, explainRun(res));
        assert.equal(proxy.requests.filter((r) => r.method === 'PATCH').length, 1);
        const blob = await fetch(`${registry.url}/v2/fixture/big/blobs/${big.layer}`);
        assert.equal(digestOf(Buffer.from(await blob.arrayBuffer())), big.layer);
      } finally {
        await proxy.close();
      }
    });

    test('oci:DIR as a target writes a layout with per-platform refs', async () => {
      const dir = join(work, 'oci-target');
      const res = await push(['-t', 'copy:v2', layout, `oci:${dir}`]);
      assert.equal(res.status, 0, explainRun(res));
      const copy = await readLayout(dir);
      await checkLayout(copy, { hashes: true });
      assert.equal(copy.findRef('v2')?.digest, (await layoutIndex()).digest);
      assert.ok(copy.findRef('v2-linux-arm64-v8'));
    });

    test('alba build --push builds and pushes; the last stdout line pins the digest', async () => {
      const res = await runAlba(['build', recipe, '--cache', cache, '--push', `docker://${registry.host}`], {
        env: { DOCKER_CONFIG: dockerConfig },
      });
      assert.equal(res.status, 0, explainRun(res));
      assert.equal(res.stdout.trim().split('\n').pop(), `${registry.host}/test/fixture@${(await layoutIndex()).digest}`);
      assert.deepEqual(
        (await tagsOf(registry.host, 'test/fixture')).filter((t) => !t.startsWith('sha256-')),
        [TAG],
      );
    });

    test('container ls lists the tags of a repository with their class and digest, not the referrers tags', async () => {
      const res = await runAlba(['container', 'ls', '-t', 'fixture/app', '--class', 'all', '--json', `docker://${registry.host}`]);
      assert.equal(res.status, 0, explainRun(res));
      const entries = JSON.parse(res.stdout) as { tag: string; class: string; digest: string }[];
      assert.deepEqual(entries.map((e) => [e.tag, e.class]).sort(), [
        ['1.0', 'dev'],
        ['latest', 'dev'],
      ]);
      assert.ok(entries.every((e) => e.digest.startsWith('sha256:')));
    });

    describe('credentials', () => {
      const basic = `${USER.username}:${USER.password}`;
      test('from --creds', async () => {
        const res = await push(['-t', 'auth/flag:1', '--creds', basic, layout, `docker://${authRegistry.host}`]);
        assert.equal(res.status, 0, explainRun(res));
        assert.deepEqual(
          (await tagsOf(authRegistry.host, 'auth/flag', basic)).filter((t) => !t.startsWith('sha256-')),
          ['1'],
        );
      });
      test('from ALBA_REGISTRY_USER / ALBA_REGISTRY_PASSWORD', async () => {
        const res = await push(['-t', 'auth/env:1', layout, `docker://${authRegistry.host}`], {
          ALBA_REGISTRY_USER: USER.username,
          ALBA_REGISTRY_PASSWORD: USER.password,
        });
        assert.equal(res.status, 0, explainRun(res));
      });
      test("from docker's config.json (base64 auth)", async () => {
        const dir = join(work, 'cfg-auth');
        await mkdir(dir, { recursive: true });
        await writeFile(
          join(dir, 'config.json'),
          JSON.stringify({ auths: { [authRegistry.host]: { auth: Buffer.from(basic).toString('base64') } } }),
        );
        const res = await push(['-t', 'auth/config:1', layout, `docker://${authRegistry.host}`], { DOCKER_CONFIG: dir });
        assert.equal(res.status, 0, explainRun(res));
      });
      test('from a docker-credential helper on PATH', async () => {
        const dir = join(work, 'cfg-helper');
        const bin = join(work, 'helper-bin');
        await mkdir(dir, { recursive: true });
        await mkdir(bin, { recursive: true });
        await writeFile(join(dir, 'config.json'), JSON.stringify({ credHelpers: { [authRegistry.host]: 'albatest' } }));
        const helper = join(bin, 'docker-credential-albatest');
        await writeFile(
          helper,
          `#!/bin/sh\nread server\n[ "$server" = "${authRegistry.host}" ] || { echo "credentials not found in native keychain"; exit 1; }\nprintf '{"ServerURL":"%s","Username":"${USER.username}","Secret":"${USER.password}"}' "$server"\n`,
        );
        await chmod(helper, 0o755);
        const res = await push(['-t', 'auth/helper:1', layout, `docker://${authRegistry.host}`], {
          DOCKER_CONFIG: dir,
          PATH: `${bin}:${process.env.PATH ?? ''}`,
        });
        assert.equal(res.status, 0, explainRun(res));
      });
      test('a wrong password: error[REGISTRY] 401 with a hint, exit 1, no stack trace, nothing tagged', async () => {
        const res = await push(['-t', 'auth/wrong:1', '--creds', `${USER.username}:nope`, layout, `docker://${authRegistry.host}`]);
        assert.equal(res.status, 1, explainRun(res));
        assert.match(res.stderr, /error\[REGISTRY\].*401/);
        assert.match(res.stderr, /hint:/);
        assert.doesNotMatch(res.stderr, /\n\s+at /);
        assert.doesNotMatch(res.stderr, /nope/, 'the password is never printed');
        assert.deepEqual(await tagsOf(authRegistry.host, 'auth/wrong', basic), []);
      });
    });

    describe('docker archives', () => {
      let archives: string;
      before(async () => {
        if (!haveTools) return;
        archives = join(work, 'archives');
        await mkdir(archives, { recursive: true });
        const amd64 = run('skopeo', ['copy', `oci:${layout}:${TAG}-linux-amd64`, `docker-archive:${join(archives, 'linux.amd64.tar')}`]);
        assert.equal(amd64.status, 0, amd64.out);
        const arm64 = join(work, 'arm64.tar');
        const copy = run('skopeo', ['copy', `oci:${layout}:${TAG}-linux-arm64-v8`, `docker-archive:${arm64}`]);
        assert.equal(copy.status, 0, copy.out);
        await writeFile(join(archives, 'linux.arm64.tar.gz'), gzipSync(await readFile(arm64)));
      });

      test('a directory of archives (one gzipped) becomes one 2-platform index; the same archives give the same digest; umoci unpacks each', async () => {
        const first = await push(['-t', 'archives/app:1', archives, `docker://${registry.host}`]);
        assert.equal(first.status, 0, explainRun(first));
        assert.match(first.stderr, /-- load docker archives --/);
        const second = await push(['-t', 'archives/again:1', archives, `docker://${registry.host}`]);
        assert.equal(second.status, 0, explainRun(second));
        const digest = (r: AlbaRun): string => r.stdout.trim().split('@').pop() as string;
        assert.equal(digest(first), digest(second));
        const raw = run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/archives/app:1`]);
        const index = JSON.parse(raw.out) as { manifests: { platform: { architecture: string } }[] };
        assert.deepEqual(
          index.manifests.map((m) => m.platform.architecture),
          ['amd64', 'arm64'],
        );
        for (const arch of ['amd64', 'arm64']) {
          const single = join(work, `archive-${arch}`);
          const one = run('skopeo', [
            'copy',
            '--override-arch',
            arch,
            '--src-tls-verify=false',
            `docker://${registry.host}/archives/app:1`,
            `oci:${single}:img`,
          ]);
          assert.equal(one.status, 0, one.out);
          const unpack = run('umoci', [
            'unpack',
            ...(process.getuid?.() === 0 ? [] : ['--rootless']),
            '--image',
            `${single}:img`,
            join(work, `archive-bundle-${arch}`),
          ]);
          assert.equal(unpack.status, 0, unpack.out);
        }
      });

      test('an archive whose config disagrees with its name is refused', async () => {
        const wrong = join(work, 'wrong-archives');
        await mkdir(wrong, { recursive: true });
        await writeFile(join(wrong, 'linux.arm64.tar'), await readFile(join(archives, 'linux.amd64.tar')));
        const res = await push(['-t', 'archives/wrong:1', wrong, `docker://${registry.host}`]);
        assert.equal(res.status, 1, explainRun(res));
        assert.match(res.stderr, /error\[PLATFORM_MISMATCH\].*linux\/arm64.*linux\/amd64/);
        assert.deepEqual(await tagsOf(registry.host, 'archives/wrong'), []);
      });
    });

    describe('faults injected by a proxy', () => {
      const withProxy = async (
        fault: FaultProxy['fault'],
        repository: string,
        env: Record<string, string> = {},
      ): Promise<{ res: AlbaRun; proxy: FaultProxy }> => {
        const proxy = await startFaultProxy(registry.url);
        proxy.fault = fault;
        try {
          return { res: await push(['-t', `${repository}:1`, layout, `docker://${proxy.host}`], env), proxy };
        } finally {
          await proxy.close();
        }
      };
      const expectPushed = async (res: AlbaRun, repository: string): Promise<void> => {
        assert.equal(res.status, 0, explainRun(res));
        assert.equal(res.stdout.trim().split('@').pop(), (await layoutIndex()).digest);
        assert.deepEqual(
          (await tagsOf(registry.host, repository)).filter((t) => !t.startsWith('sha256-')),
          ['1'],
        );
      };

      test('a 500 on the first blob PUT is retried', async () => {
        let done = false;
        const { res } = await withProxy(
          (r) => (!done && r.method === 'PUT' && r.path.includes('/blobs/uploads/') ? ((done = true), { status: 500 }) : undefined),
          'faults/500',
        );
        assert.ok(done, 'the 500 was injected');
        await expectPushed(res, 'faults/500');
        assert.match(res.stderr, /retrying/);
      });
      test('a 429 with Retry-After: 2 is honoured', async () => {
        // the pause alba takes from it, said on stderr; that withRetry waits it out is retry.test.ts's (mocked timers)
        let done = false;
        const { res } = await withProxy(
          (r) =>
            !done && r.method === 'HEAD' && r.path.includes('/blobs/')
              ? ((done = true), { status: 429, headers: { 'retry-after': '2' } })
              : undefined,
          'faults/429',
        );
        assert.ok(done, 'the 429 was injected');
        await expectPushed(res, 'faults/429');
        assert.match(res.stderr, /retrying in 2\.0 s/);
      });
      test('a connection reset mid-upload is retried', async () => {
        let done = false;
        const { res } = await withProxy(
          (r) => (!done && r.method === 'PUT' && r.path.includes('/blobs/uploads/') ? ((done = true), 'reset') : undefined),
          'faults/reset',
        );
        assert.ok(done, 'a connection was reset');
        await expectPushed(res, 'faults/reset');
        assert.match(res.stderr, /retrying/);
      });
      test('an answer that stalls past the idle timeout is retried', async () => {
        let done = false;
        const { res } = await withProxy(
          (r) => (!done && r.method === 'HEAD' ? ((done = true), { stallMs: 3000 }) : undefined),
          'faults/stall',
          { ALBA_HTTP_IDLE_TIMEOUT: '1' },
        );
        assert.ok(done, 'an answer was stalled');
        await expectPushed(res, 'faults/stall');
        assert.match(res.stderr, /retrying/);
      });
      test('a registry that stays down: NETWORK after bounded retries, exit 1, no tag', async () => {
        const { res, proxy } = await withProxy((r) => (r.path === '/v2/' ? undefined : { status: 503 }), 'faults/down');
        assert.equal(res.status, 1, explainRun(res));
        assert.match(res.stderr, /error\[REGISTRY\].*503/);
        // bounded: the ping, then at most 8 blobs in flight, each tried 1 + 4 times; nothing new starts after a failure
        assert.ok(proxy.requests.length <= 1 + 8 * 5, `bounded: ${proxy.requests.length} requests`);
        assert.deepEqual(await tagsOf(registry.host, 'faults/down'), []);
      });
    });
  },
);

/** Every blob an image index reaches (the index, manifests, configs, layers), as hex names. */
async function imageBlobsOf(dir: string, digest: string): Promise<string[]> {
  const read = async (
    d: string,
  ): Promise<{ manifests?: { digest: string }[]; config?: { digest: string }; layers?: { digest: string }[] }> =>
    JSON.parse(await readFile(join(dir, 'blobs', 'sha256', d.slice(7)), 'utf8')) as never;
  const out = new Set<string>([digest.slice(7)]);
  for (const m of (await read(digest)).manifests ?? []) {
    out.add(m.digest.slice(7));
    const manifest = await read(m.digest);
    for (const d of [manifest.config, ...(manifest.layers ?? [])]) if (d !== undefined) out.add(d.digest.slice(7));
  }
  return [...out];
}
