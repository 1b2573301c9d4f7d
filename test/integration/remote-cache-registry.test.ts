import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildRecipe, isAlbaError, openRemoteCache } from '../../src/index.js';
import { RegistryClient } from '../../src/sink/registry/client.js';
import { memoryBlob } from '../../src/oci/graph.js';
import { digestOf, type Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { entryTag, RECORD_MEDIA_TYPE } from '../../src/builder/remote-cache-registry.js';
import type { LockFile } from '../../src/lock/lock-types.js';
import { startFaultProxy, type FaultProxy, type SeenRequest } from '../helpers/fault-proxy.js';
import type { FixtureProject } from '../helpers/fixture-distro.js';
import { debsIn, digests, startFleet, type BuildJson } from '../helpers/remote-cache-fleet.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import type { RepoServer } from '../helpers/repo-server.js';
import { explainRun, runAlba, type AlbaRun } from '../helpers/run-alba.js';
import { requireTool } from '../helpers/tools.js';

// `--remote-cache docker://HOST/REPO` against the CNCF distribution registry: one small manifest per
// entry (tag alba-v1-<sha256 of the key>, config = the record, layer = the layer blob). The cache is
// reached through a recording proxy, so the tests see every blob a runner reads from it; with
// `--push` and no --out a layer is read from the cache only when the destination lacks it.

const enabled = requireTool('docker-registry');
const CACHE = 'fleet-cache';
const work = await mkdtemp(join(tmpdir(), 'alba-remote-cache-registry-'));
const dockerConfig = join(work, 'docker-config');
let registry: RegistryServer;
let proxy: FaultProxy;
let server: RepoServer;
let project: FixtureProject;
let lock: LockFile;
let cacheUrl: string;
let first: { index: string; manifests: string[] };
let runners = 0;

interface Entry {
  tag: string;
  manifest: Buffer;
  config: { digest: string; size: number };
  layer: { digest: string; size: number; mediaType: string };
  record: { key: string; record: { digest: string; diffId: string; control?: string } };
}

/** One build as a fresh runner: an empty cache directory. */
async function runner(extra: string[], out = true): Promise<{ run: AlbaRun; json?: BuildJson; cache: string; requests: SeenRequest[] }> {
  const n = ++runners;
  const cache = join(work, `cache-${n}`);
  const seen = proxy.requests.length;
  const outArgs = out ? ['--out', join(work, `out-${n}`)] : [];
  const run = await runAlba(['build', project.recipe, '--cache', cache, ...outArgs, '--json', ...extra], {
    env: { DOCKER_CONFIG: dockerConfig },
  });
  return {
    run,
    cache,
    requests: proxy.requests.slice(seen),
    ...(run.status === 0 ? { json: JSON.parse(run.stdout) as BuildJson } : {}),
  };
}

function client(repository: string): RegistryClient {
  return new RegistryClient({ registry: registry.host, repository }, { push: true });
}

/** Every entry of the cache repository. */
async function entries(): Promise<Entry[]> {
  const c = client(CACHE);
  return Promise.all(
    (await c.tags()).map(async (tag) => {
      const manifest = (await c.manifest(tag)).bytes;
      const parsed = JSON.parse(manifest.toString('utf8')) as { config: Entry['config']; layers: Entry['layer'][] };
      const config = await c.blob(parsed.config as { digest: Digest; size: number });
      return {
        tag,
        manifest,
        config: parsed.config,
        layer: parsed.layers[0]!,
        record: JSON.parse(config.toString('utf8')) as Entry['record'],
      };
    }),
  );
}

/** Puts `record` (any JSON) under `tag` as an entry whose layer is `layer`. */
async function putEntry(tag: string, record: unknown, layer: Entry['layer']): Promise<void> {
  const c = client(CACHE);
  const bytes = Buffer.from(JSON.stringify(record));
  const config = { mediaType: RECORD_MEDIA_TYPE, digest: digestOf(bytes), size: bytes.length };
  await c.uploadBlob(memoryBlob({ bytes, descriptor: config }));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.manifest, config, layers: [layer] }));
  await c.putManifest(
    tag,
    memoryBlob({ bytes: manifest, descriptor: { mediaType: MediaType.manifest, digest: digestOf(manifest), size: manifest.length } }),
  );
}

async function putManifestBytes(tag: string, manifest: Buffer): Promise<void> {
  await client(CACHE).putManifest(
    tag,
    memoryBlob({ bytes: manifest, descriptor: { mediaType: MediaType.manifest, digest: digestOf(manifest), size: manifest.length } }),
  );
}

/** The GET requests of `requests` that read one of `digests`' blobs. */
function blobReads(requests: SeenRequest[], digests: Iterable<string>): string[] {
  const wanted = [...digests];
  return requests
    .filter((r) => r.method === 'GET' && /\/blobs\/sha256:/.test(r.path) && wanted.some((d) => r.path.endsWith(d)))
    .map((r) => r.path);
}

before(async () => {
  if (!enabled) return;
  await mkdir(dockerConfig, { recursive: true });
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
  cacheUrl = `docker://${proxy.host}/${CACHE}`;
  ({ server, project, lock } = await startFleet(work));
});
after(async () => {
  await server?.close();
  await proxy?.close();
  await registry?.close();
  await rm(work, { recursive: true, force: true });
});

test(
  'two runners filling one registry cache at once: the same digests, one tagged entry per package layer, each naming its key',
  { skip: enabled ? false : 'docker-registry is not installed' },
  async () => {
    const [a, b] = await Promise.all([runner(['--remote-cache', cacheUrl]), runner(['--remote-cache', cacheUrl])]);
    assert.equal(a.run.status, 0, explainRun(a.run));
    assert.equal(b.run.status, 0, explainRun(b.run));
    first = digests(a.json);
    assert.deepEqual(digests(b.json), first);
    assert.doesNotMatch(a.run.stderr + b.run.stderr, /warning: remote cache/);
    const all = await entries();
    const packages = new Set(Object.values(lock.archs).flatMap((ps) => ps.map((p) => p.sha256)));
    assert.equal(all.length, packages.size, 'one entry per package layer');
    for (const e of all) {
      assert.equal(e.tag, entryTag(e.record.key));
      assert.equal(e.layer.digest, e.record.record.digest, 'the entry manifest references its layer, so registry gc keeps it');
    }
    // a third runner takes every layer from the cache: no .deb
    const c = await runner(['--remote-cache', cacheUrl, '--remote-cache-mode', 'read']);
    assert.equal(c.run.status, 0, explainRun(c.run));
    assert.deepEqual(digests(c.json), first);
    assert.deepEqual(await debsIn(c.cache, lock), []);
  },
);

test(
  'the library opens the same cache: openRemoteCache, then buildRecipe on an empty disk gives the same digests from it',
  { skip: enabled ? false : 'docker-registry is not installed' },
  async () => {
    const cacheDir = join(work, `cache-${++runners}`);
    const lines: string[] = [];
    const remoteCache = await openRemoteCache(cacheUrl, { mode: 'read', log: (line) => lines.push(line) });
    const built = await buildRecipe(project.recipe, { cacheDir, remoteCache });
    assert.equal(built.graph.root.descriptor.digest, first.index);
    assert.ok(remoteCache.report.hits > 0 && remoteCache.report.misses === 0, JSON.stringify(remoteCache.report));
    assert.deepEqual(await debsIn(cacheDir, lock), [], 'no .deb downloaded');
    assert.deepEqual(lines, []);
    await assert.rejects(
      openRemoteCache(`docker://user:secret@${proxy.host}/${CACHE}`),
      (err: unknown) => isAlbaError(err, 'USAGE') && !err.message.includes('secret'),
    );
    await assert.rejects(openRemoteCache('ftp://host/cache'), (err: unknown) => isAlbaError(err, 'USAGE'));
  },
);

test(
  'a registry cache that is down costs a warning, not the build',
  { skip: enabled ? false : 'docker-registry is not installed' },
  async () => {
    const e = await runner(['--remote-cache', 'docker://127.0.0.1:9/cache']);
    assert.equal(e.run.status, 0, explainRun(e.run));
    assert.match(e.run.stderr, /warning: remote cache unreachable/);
    assert.deepEqual(digests(e.json), first);
  },
);

test(
  '--remote-cache-mode read writes nothing to the registry cache',
  { skip: enabled ? false : 'docker-registry is not installed' },
  async () => {
    const r = await runner(['--remote-cache', `docker://${proxy.host}/readonly-cache`, '--remote-cache-mode', 'read']);
    assert.equal(r.run.status, 0, explainRun(r.run));
    assert.deepEqual(await client('readonly-cache').tags(), []);
    assert.deepEqual(
      r.requests.filter((q) => q.method !== 'GET' && q.method !== 'HEAD').map((q) => `${q.method} ${q.path}`),
      [],
    );
  },
);

test(
  'a hostile record, a garbage entry and a blob served corrupt are refused with a warning, built from the .debs, the same digests, the records repaired',
  { skip: enabled ? false : 'docker-registry is not installed' },
  async () => {
    const all = (await entries()).filter((e) => typeof e.record.record.control === 'string');
    const [victim, donor, broken, garbage, forged] = all;
    assert.ok(victim !== undefined && donor !== undefined && broken !== undefined && garbage !== undefined && forged !== undefined);
    // forged: the embedded record (one request) is another record than the descriptor names
    const genuine = JSON.parse(forged.manifest.toString('utf8')) as { config: { data?: string } };
    assert.equal(typeof genuine.config.data, 'string', 'small records ride in their manifest');
    const lie = Buffer.from(
      JSON.stringify({ key: forged.record.key, record: { ...forged.record.record, diffId: donor.record.record.diffId } }),
    );
    await putManifestBytes(
      forged.tag,
      Buffer.from(JSON.stringify({ ...genuine, config: { ...genuine.config, data: lie.toString('base64') } })),
    );
    // hostile: the victim's key over another package's record (a valid layer, the wrong package)
    await putEntry(victim.tag, { key: victim.record.key, record: donor.record.record }, donor.layer);
    // garbage: an image manifest whose config is not a record
    const notRecord = Buffer.from('{"architecture":"amd64"}');
    await client(CACHE).uploadBlob(
      memoryBlob({ bytes: notRecord, descriptor: { mediaType: MediaType.config, digest: digestOf(notRecord), size: notRecord.length } }),
    );
    const image = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.manifest,
        config: { mediaType: MediaType.config, digest: digestOf(notRecord), size: notRecord.length },
        layers: [garbage.layer],
      }),
    );
    await putManifestBytes(garbage.tag, image);
    // corrupt: the cache serves other bytes for a third entry's layer
    proxy.fault = (r) => (r.method === 'GET' && r.path.endsWith(broken.layer.digest) ? { status: 200, body: 'not the layer' } : undefined);
    try {
      const c = await runner(['--remote-cache', cacheUrl]);
      assert.equal(c.run.status, 0, explainRun(c.run));
      assert.deepEqual(digests(c.json), first);
      assert.match(c.run.stderr, new RegExp(`warning: remote cache: .*${victim.tag}.* refused \\(its control stanza is not that of`));
      assert.match(
        c.run.stderr,
        new RegExp(`warning: remote cache: .*${garbage.tag}.* refused \\(its manifest is not an alba remote cache entry`),
      );
      assert.match(c.run.stderr, new RegExp(`warning: remote cache: .*${broken.layer.digest}.* refused \\(`));
      assert.match(
        c.run.stderr,
        new RegExp(`warning: remote cache: .*${forged.tag}.* refused \\(its embedded record does not match its descriptor`),
      );
    } finally {
      proxy.fault = () => undefined;
    }
    const after = new Map((await entries()).map((e) => [e.tag, e.manifest] as const));
    assert.ok(after.get(victim.tag)?.equals(victim.manifest), 'the hostile record was not replaced by the good one');
    assert.ok(after.get(garbage.tag)?.equals(garbage.manifest), 'the garbage entry was not replaced');
    assert.ok(after.get(forged.tag)?.equals(forged.manifest), 'the forged entry was not replaced');
  },
);

test(
  '--creds is for the push targets: the cache on another host, asking for credentials, never gets them',
  { skip: enabled ? false : 'docker-registry is not installed' },
  async () => {
    // the cache asks for Basic credentials: a client holding --creds for it would send them on the next request
    proxy.fault = (q) =>
      q.authorization === undefined ? { status: 401, headers: { 'www-authenticate': 'Basic realm="cache"' } } : undefined;
    try {
      const r = await runner(['--remote-cache', cacheUrl, '--push', `docker://${registry.host}/creds`, '--creds', 'pusher:s3cret'], false);
      assert.equal(r.run.status, 0, explainRun(r.run));
      assert.ok(r.requests.length > 0, 'the cache was not asked');
      assert.deepEqual(
        r.requests.filter((q) => q.authorization !== undefined).map((q) => `${q.method} ${q.path}`),
        [],
      );
      assert.match(r.run.stderr, /warning: remote cache/);
      assert.doesNotMatch(r.run.stderr + r.run.stdout, /s3cret/);
    } finally {
      proxy.fault = () => undefined;
    }
  },
);

test(
  'with the mirror closed and an empty disk: build --push from a warm cache to a registry holding the layers reads no layer byte and no .deb, and pushes the same digests',
  { skip: enabled ? false : 'docker-registry is not installed' },
  async () => {
    await server.close();
    const layers = new Set((await entries()).map((e) => e.layer.digest));
    // the destination (not the cache's host: no mount) gets the layers once: read lazily from the cache, each checked
    const fill = await runner(['--remote-cache', cacheUrl, '--push', `docker://${registry.host}/dest`], false);
    assert.equal(fill.run.status, 0, explainRun(fill.run));
    assert.deepEqual(digests(fill.json), first);
    assert.equal(blobReads(fill.requests, layers).length, layers.size, 'the first push reads each layer from the cache once');
    const again = await runner(['--remote-cache', cacheUrl, '--push', `docker://${registry.host}/dest`], false);
    assert.equal(again.run.status, 0, explainRun(again.run));
    assert.deepEqual(digests(again.json), first);
    assert.deepEqual(blobReads(again.requests, layers), [], 'layer bytes read from the cache');
    assert.deepEqual(
      { lazy: again.json?.remoteCache?.lazy, blobBytes: again.json?.remoteCache?.blobBytes },
      { lazy: layers.size, blobBytes: 0 },
      'the --json report of the remote cache',
    );
    assert.deepEqual(await debsIn(again.cache, lock), []);
    assert.equal((await client('dest').manifestDigest('1.0')) ?? '', first.index);
  },
);

test(
  'pushing to another repository of the cache registry mounts the layers from the cache: no layer byte read',
  { skip: enabled ? false : 'docker-registry is not installed' },
  async () => {
    const layers = new Set((await entries()).map((e) => e.layer.digest));
    const m = await runner(['--remote-cache', cacheUrl, '--push', `docker://${proxy.host}/mounted`], false);
    assert.equal(m.run.status, 0, explainRun(m.run));
    assert.deepEqual(digests(m.json), first);
    assert.deepEqual(blobReads(m.requests, layers), []);
    const mounts = m.requests.filter(
      (r) => r.method === 'POST' && r.path.includes(`/v2/mounted/blobs/uploads/?mount=`) && r.path.includes(`from=${CACHE}`),
    );
    assert.ok(mounts.length >= layers.size, `mount requests: ${mounts.length}`);
    assert.equal((await client('mounted').manifestDigest('1.0')) ?? '', first.index);
  },
);

test(
  'a layer taken by its record whose bytes fail a check when a push needs them fails the push: nothing is tagged',
  { skip: enabled ? false : 'docker-registry is not installed' },
  async () => {
    const all = (await entries()).filter((e) => typeof e.record.record.control === 'string');
    const [victim, donor] = all;
    assert.ok(victim !== undefined && donor !== undefined);
    // the right package, the right blob, another layer's diff_id
    await putEntry(
      victim.tag,
      { key: victim.record.key, record: { ...victim.record.record, diffId: donor.record.record.diffId } },
      victim.layer,
    );
    try {
      const f = await runner(['--remote-cache', cacheUrl, '--push', `docker://${registry.host}/never`], false);
      assert.notEqual(f.run.status, 0, explainRun(f.run));
      assert.match(f.run.stderr, /error\[REMOTE_CACHE\].*uncompressed bytes hash to/);
      assert.equal(await client('never').manifestDigest('1.0'), undefined, 'an image with a layer that failed its check was tagged');
    } finally {
      await putManifestBytes(victim.tag, victim.manifest);
    }
  },
);
