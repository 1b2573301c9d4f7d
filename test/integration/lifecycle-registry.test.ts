import assert from 'node:assert/strict';
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildFixtureLayout, type FixtureLayout } from '../helpers/fixture-layout.js';
import { type FaultProxy, startFaultProxy, type SeenRequest } from '../helpers/fault-proxy.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { explainRun, killAlbaAt, runAlba, type AlbaRun } from '../helpers/run-alba.js';
import { requireTool } from '../helpers/tools.js';
import { GC_PUSHES } from '../helpers/gc-pushes.js';
import { untagPlaceholder } from '../../src/lifecycle/untag-placeholder.js';

// `alba container ls|rm|gc` on a real distribution 2.8 registry: push times from push records,
// keep-N by class, removal by digest parents first, tags sharing a digest, a gc killed half-way
// and finished by a rerun; kept tags checked with skopeo and alba sbom. Uses the compiled CLI.

const haveTools = requireTool('docker-registry') && requireTool('skopeo');
const work = await mkdtemp(join(tmpdir(), 'alba-lifecycle-registry-'));
const cache = join(work, 'push-cache');
let fixture: FixtureLayout;
let registry: RegistryServer;
const digests = new Map<string, string>();

/** alba with the test's cache for the commands that keep state there (push's mount hints). */
function alba(args: string[]): Promise<AlbaRun> {
  return runAlba(args[1] === 'push' ? [...args, '--cache', cache] : args);
}

function run(cmd: string, args: string[]): { status: number | null; out: string } {
  const res = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: res.status, out: `${res.stdout}${res.stderr}` };
}

/** `skopeo copy --all` of `source` into a layout `work/<dir>` succeeds (every manifest and blob is there); `what` names it in the failure. */
function pullsWhole(source: string, dir: string, what: string): void {
  const copy = run('skopeo', ['copy', '--all', '--src-tls-verify=false', source, `oci:${join(work, dir)}:x`]);
  assert.equal(copy.status, 0, `${what}: ${copy.out}`);
}

/** The tags of `repository` but the referrers tags and the removal epoch's (which every removal leaves). */
async function tagsOf(repository: string): Promise<string[]> {
  const res = await fetch(`http://${registry.host}/v2/${repository}/tags/list`);
  if (res.status === 404) return [];
  return (((await res.json()) as { tags: string[] | null }).tags ?? [])
    .filter((t) => !t.startsWith('sha256-') && t !== 'alba-removal-epoch')
    .sort();
}

async function hasManifest(repository: string, digest: string): Promise<boolean> {
  const res = await fetch(`http://${registry.host}/v2/${repository}/manifests/${digest}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' },
  });
  return res.status === 200;
}

/** Every manifest the image tags of `repository` reach (indexes, platform manifests, referrers tags and referrers), walked by the test itself. */
async function reachable(repository: string): Promise<Set<string>> {
  const seen = new Set<string>();
  const accept = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json';
  const visit = async (reference: string): Promise<void> => {
    const res = await fetch(`http://${registry.host}/v2/${repository}/manifests/${reference}`, { headers: { accept } });
    if (res.status !== 200) return;
    const digest = res.headers.get('docker-content-digest') as string;
    if (seen.has(digest)) return;
    seen.add(digest);
    const json = (await res.json()) as { manifests?: { digest: string }[] };
    for (const child of json.manifests ?? []) await visit(child.digest);
    await visit(`sha256-${digest.slice(7)}`);
  };
  const res = await fetch(`http://${registry.host}/v2/${repository}/tags/list`);
  const tags = ((await res.json()) as { tags: string[] }).tags;
  // the removal epoch is no content: each removal, a refused one too, replaces it
  for (const tag of tags.filter((t) => !t.startsWith('sha256-') && t !== 'alba-removal-epoch')) await visit(tag);
  return seen;
}

/** Pushes GC_PUSHES to `repository`, each push another build of the fixture. */
async function pushAll(repository: string, host = registry.host): Promise<void> {
  for (const [i, tags] of GC_PUSHES.entries()) {
    const out = join(work, `build-${i}`);
    if (!digests.has(out)) {
      const b = await runAlba([
        'build',
        fixture.recipe,
        '--cache',
        fixture.cache,
        '--out',
        out,
        '--annotation',
        `org.opencontainers.image.revision=${i}`,
      ]);
      assert.equal(b.status, 0, explainRun(b));
      digests.set(out, '');
    }
    const res = await alba(['container', 'push', ...tags.flatMap((t) => ['-t', `${repository}:${t}`]), out, `docker://${host}`]);
    assert.equal(res.status, 0, explainRun(res));
    for (const t of tags) digests.set(`${repository}:${t}`, res.stdout.trim().split('@').pop() as string);
  }
}

/** Pushes the first build of GC_PUSHES (built by pushAll when no test has yet) to `repository` under `tags`; its index digest. */
async function pushFirstBuild(repository: string, tags: string[]): Promise<string> {
  const build = join(work, 'build-0');
  if (!digests.has(build)) await pushAll('life/race-seed');
  const pushed = await alba([
    'container',
    'push',
    ...tags.flatMap((t) => ['-t', `${repository}:${t}`]),
    build,
    `docker://${registry.host}`,
  ]);
  assert.equal(pushed.status, 0, explainRun(pushed));
  return pushed.stdout.trim().split('@').pop() as string;
}

before(async () => {
  if (!haveTools) return;
  fixture = await buildFixtureLayout(work, 'app');
  registry = await startRegistry();
});
after(async () => {
  await registry?.close();
  await fixture?.close();
  await rm(work, { recursive: true, force: true });
});

describe(
  'alba container ls, rm and gc on a distribution registry',
  { skip: haveTools ? false : 'docker-registry or skopeo is missing' },
  () => {
    test('ls: push times from push records, newest first; classes; no referrers tags', async () => {
      await pushAll('life/app');
      const res = await alba(['container', 'ls', '-t', 'life/app', '--class', 'all', '--json', `docker://${registry.host}`]);
      assert.equal(res.status, 0, explainRun(res));
      const entries = JSON.parse(res.stdout) as { tag: string; class: string; pushed?: string; digest: string }[];
      assert.equal(entries.length, 17);
      assert.ok(
        entries.every((e) => e.pushed !== undefined && e.digest === digests.get(`life/app:${e.tag}`)),
        res.stdout,
      );
      const dev = entries.filter((e) => e.class === 'dev').map((e) => e.tag);
      assert.equal(dev.length, 12);
      assert.deepEqual(dev.slice(2, 5), ['d10', 'd09', 'd08'], 'newest first, by push time');
      assert.deepEqual(
        entries.filter((e) => e.class === 'release').map((e) => e.tag),
        ['2.0.0', '1.1.0', '1.0.0'],
      );
      assert.deepEqual(
        entries.filter((e) => e.class === 'extra').map((e) => e.tag),
        ['2.1.0-rc.2', '2.1.0-rc.1'],
      );
    });

    test('gc --keep 5: dry run = real run, the right tags go, kept tags pull with their digests and SBOMs, nothing unreachable is left', async () => {
      const target = `docker://${registry.host}`;
      const everything = await reachable('life/app');
      const dry = await alba(['container', 'gc', '-t', 'life/app', '--keep', '5', '--dry-run', '--json', target]);
      assert.equal(dry.status, 0, explainRun(dry));
      assert.equal((await reachable('life/app')).size, everything.size, '--dry-run changes nothing');
      assert.equal((await tagsOf('life/app')).length, 17);
      const real = await alba(['container', 'gc', '-t', 'life/app', '--keep', '5', '--json', target]);
      assert.equal(real.status, 0, explainRun(real));
      const planned = JSON.parse(dry.stdout) as {
        dryRun: boolean;
        tags: string[];
        untag: { tag: string }[];
        objects: { key: string }[];
        blobs: { count: number };
      };
      const done = JSON.parse(real.stdout) as typeof planned;
      assert.deepEqual({ ...done, dryRun: true }, planned, 'the real run does exactly the plan');
      assert.deepEqual([...done.tags].sort(), ['d01', 'd02', 'd03', 'd04', 'd05', 'd06', 'd07']);
      assert.deepEqual(
        done.untag.map((u) => u.tag),
        ['d03'],
        'd03 shares its digest with the release 1.1.0: removed alone',
      );
      assert.ok(done.blobs.count > 0, 'the removed images leave blobs to the registry');
      assert.match(real.stderr, /blobs are the registry's to collect/);
      const kept = ['1.0.0', '1.1.0', '2.0.0', '2.1.0-rc.1', '2.1.0-rc.2', 'd08', 'd09', 'd10', 'd11', 'latest'];
      assert.deepEqual(await tagsOf('life/app'), [...kept].sort());
      for (const key of done.objects.map((o) => o.key)) assert.equal(await hasManifest('life/app', key), false, `${key} is deleted`);
      const left = await reachable('life/app');
      assert.deepEqual(
        [...everything].filter((d) => !left.has(d)).sort(),
        done.objects.map((o) => o.key).sort(),
        'exactly what no kept tag reaches went',
      );
      for (const tag of kept) {
        const inspect = run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/life/app:${tag}`]);
        assert.equal(inspect.status, 0, inspect.out);
        pullsWhole(`docker://${registry.host}/life/app:${tag}`, `back-${tag}`, tag);
        const sbom = await alba(['sbom', `${registry.host}/life/app:${tag}`, '--platform', 'arm64']);
        assert.equal(sbom.status, 0, `${tag}: ${explainRun(sbom)}`);
      }
      const again = await alba(['container', 'gc', '-t', 'life/app', '--keep', '5', '--json', target]);
      assert.deepEqual((JSON.parse(again.stdout) as { objects: unknown[] }).objects, [], 'a second gc has nothing to do');
    });

    test("a remote cache's entries (alba-v1-<hex> tags) in the repository gc prunes are not tags of images: ls, gc leave them", async () => {
      const target = `docker://${registry.host}`;
      const lock = await runAlba(['lock', fixture.recipe, '--cache', fixture.cache]);
      assert.equal(lock.status, 0, explainRun(lock));
      const built = await runAlba([
        'build',
        fixture.recipe,
        '--cache',
        fixture.cache,
        '--remote-cache',
        `docker://${registry.host}/life/shared`,
        '--push',
        `docker://${registry.host}/life/shared:nightly`,
      ]);
      assert.equal(built.status, 0, explainRun(built));
      const entries = (await tagsOf('life/shared')).filter((t) => t.startsWith('alba-v1-'));
      assert.ok(entries.length > 0, 'the build wrote cache entries beside its image');
      const ls = await alba(['container', 'ls', '-t', 'life/shared', '--class', 'all', '--json', target]);
      // the recipe's own tag and the one pushed
      assert.deepEqual((JSON.parse(ls.stdout) as { tag: string }[]).map((e) => e.tag).sort(), ['app', 'nightly']);
      const gc = await alba(['container', 'gc', '-t', 'life/shared', '--keep-dev', '0', '--json', target]);
      assert.equal(gc.status, 0, explainRun(gc));
      assert.deepEqual([...(JSON.parse(gc.stdout) as { tags: string[] }).tags].sort(), ['app', 'nightly']);
      assert.deepEqual(await tagsOf('life/shared'), entries, 'every cache entry is left');
    });

    test('rm of a tag whose digest a sibling shares refuses and changes nothing; --untag removes it alone; rm of the last tag deletes the image', async () => {
      const target = `docker://${registry.host}`;
      const before = await reachable('life/app');
      const refused = await alba(['container', 'rm', '-t', 'life/app:latest', target]);
      assert.equal(refused.status, 1, explainRun(refused));
      assert.match(refused.stderr, /error\[TAG_SHARED\].*d11/);
      assert.match(refused.stderr, /hint: .*--untag/);
      assert.deepEqual([...(await reachable('life/app'))].sort(), [...before].sort(), 'a refusal changes nothing');
      assert.ok((await tagsOf('life/app')).includes('latest'));
      const untag = await alba(['container', 'rm', '--untag', '-t', 'life/app:latest', target]);
      assert.equal(untag.status, 0, explainRun(untag));
      assert.ok(!(await tagsOf('life/app')).includes('latest'));
      assert.equal(
        run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/life/app:d11`]).status,
        0,
        'd11 still there',
      );
      const d11 = digests.get('life/app:d11') as string;
      const last = await alba(['container', 'rm', '-t', 'life/app:d11', '--json', target]);
      assert.equal(last.status, 0, explainRun(last));
      assert.equal(await hasManifest('life/app', d11), false, 'the index of d11 is deleted');
      assert.ok((JSON.parse(last.stdout) as { objects: unknown[] }).objects.length > 3, 'with its platform manifests and referrers');
      const missing = await alba(['container', 'rm', '-t', 'life/app:nope', target]);
      assert.equal(missing.status, 2, explainRun(missing));
    });

    test('a registry that deletes the manifest on a DELETE by tag (zot ≤ 2.0, Harbor 1.x): alba puts it back with its other tags; rm stops, --untag goes on through the placeholder', async () => {
      const index = await pushFirstBuild('life/zot', ['d1', 'latest']);
      const before = [...(await reachable('life/zot'))].sort();
      // a front that answers a DELETE by tag as zot 2.0 does: 202, the manifest deleted by digest (every tag on it goes)
      const front = await startFaultProxy(registry.url);
      const accept = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json';
      front.fault = (r) => {
        const m = /^(\/v2\/.+\/manifests)\/([^/]+)$/.exec(r.path);
        if (r.method !== 'DELETE' || m === null || m[2]?.startsWith('sha256:') === true) return undefined;
        return {
          answer: async () => {
            const head = await fetch(`${registry.url}${m[1]}/${m[2]}`, { method: 'HEAD', headers: { accept } });
            if (head.status !== 200) return { status: 404 };
            const del = await fetch(`${registry.url}${m[1]}/${head.headers.get('docker-content-digest')}`, { method: 'DELETE' });
            return { status: del.status };
          },
        };
      };
      try {
        const refused = await alba(['container', 'rm', '-t', 'life/zot:latest', `docker://${front.host}`]);
        assert.equal(refused.status, 1, explainRun(refused));
        assert.match(
          refused.stderr,
          /error\[TAG_SHARED\].*deleted .* itself on the DELETE of the tag latest, and the tags d1 with it; alba put it back/,
        );
        assert.deepEqual([...(await reachable('life/zot'))].sort(), before, 'put back: the refusal changes nothing');
        assert.deepEqual(await tagsOf('life/zot'), ['d1', 'latest']);
        const untag = await alba(['container', 'rm', '--untag', '-t', 'life/zot:latest', `docker://${front.host}`]);
        assert.equal(untag.status, 0, explainRun(untag));
        assert.match(untag.stderr, /warning: .*deleted .* itself on the DELETE of the tag latest.*alba put it back/);
        assert.deepEqual(await tagsOf('life/zot'), ['d1']);
        assert.equal(await hasManifest('life/zot', index), true, 'the index stays, under d1');
        pullsWhole(`docker://${registry.host}/life/zot:d1`, 'zot-d1', 'd1 pulls whole');
        assert.deepEqual([...(await reachable('life/zot'))].sort(), before, 'everything d1 reaches is there');
      } finally {
        await front.close();
      }
    });

    test('a removal killed with a tag on its placeholder (between its PUT and DELETE) is finished by the next removal, from the journal', async () => {
      const index = await pushFirstBuild('life/zot2', ['d1', 'latest']);
      const placeholder = untagPlaceholder('latest', index).descriptor.digest;
      const proxy = await startFaultProxy(registry.url);
      const placeholderDelete = (r: SeenRequest): boolean => r.method === 'DELETE' && r.path.endsWith(`/manifests/${placeholder}`);
      try {
        assert.ok(
          await killAlbaAt(proxy, placeholderDelete, 1, ['container', 'rm', '--untag', '-t', 'life/zot2:latest', `docker://${proxy.host}`]),
          'rm reached the delete of the placeholder',
        );
      } finally {
        await proxy.close();
      }
      assert.deepEqual(await tagsOf('life/zot2'), ['alba-removal-lease', 'd1', 'latest'], 'killed with latest on the placeholder');
      // a gc that keeps every tag finishes the killed rm from its journal (the lease is stale once unchanged for 30 s)
      const gc = await alba(['container', 'gc', '-t', 'life/zot2', '--keep-dev', '5', `docker://${registry.host}`]);
      assert.equal(gc.status, 0, explainRun(gc));
      assert.match(gc.stderr, /takes it over/);
      assert.deepEqual(await tagsOf('life/zot2'), ['d1']);
      assert.equal(await hasManifest('life/zot2', placeholder), false, 'the placeholder is deleted');
      assert.equal(await hasManifest('life/zot2', index), true, 'the index stays, under d1');
    });

    test('a gc killed half-way leaves every kept tag whole, and a rerun finishes the removal', async (t) => {
      await pushAll('life/killed');
      const dry = await alba(['container', 'gc', '-t', 'life/killed', '--keep', '5', '--dry-run', '--json', `docker://${registry.host}`]);
      const planned = (JSON.parse(dry.stdout) as { objects: { key: string }[] }).objects.map((o) => o.key);
      const proxy = await startFaultProxy(registry.url);
      t.after(() => proxy.close());
      // the placeholder of d03, then the 6 removed indexes (with their referrers tag indexes) in the first wave: stall on
      // the second delete after the last of those indexes (a platform manifest or a referrer)
      const removedIndexes = ['d01', 'd02', 'd04', 'd05', 'd06', 'd07'].map((t) => planned.indexOf(digests.get(`life/killed:${t}`) ?? ''));
      const stallAt = planned[Math.max(...removedIndexes) + 2];
      assert.ok(
        !removedIndexes.includes(-1) && stallAt !== undefined,
        `the plan deletes the removed indexes first:\n${planned.join('\n')}`,
      );
      const deletes = (r: SeenRequest): boolean => r.method === 'DELETE' && r.path.endsWith(`/manifests/${stallAt}`);
      assert.ok(
        await killAlbaAt(proxy, deletes, 1, ['container', 'gc', '-t', 'life/killed', '--keep', '5', `docker://${proxy.host}`]),
        'gc reached the delete after the indexes',
      );
      const kept = ['1.0.0', '1.1.0', '2.0.0', '2.1.0-rc.1', '2.1.0-rc.2', 'd08', 'd09', 'd10', 'd11', 'latest'];
      for (const tag of kept) {
        pullsWhole(`docker://${registry.host}/life/killed:${tag}`, `killed-${tag}`, `${tag} pulls whole after the kill`);
      }
      assert.ok(
        (await Promise.all(planned.map((d) => hasManifest('life/killed', d)))).some((held) => held),
        'the kill left part of the plan undone',
      );
      const left = await tagsOf('life/killed');
      assert.ok(left.includes('alba-removal-lease'), 'the killed removal left its lease, with its journal');
      assert.equal(
        left.filter((t) => t !== 'alba-removal-lease').length,
        kept.length,
        'the removed tags are gone already: only the journal knows what is left',
      );
      // the rerun may run anywhere: the journal is in the registry (and the lease is stale once unchanged for 30 s)
      const rerun = await alba(['container', 'gc', '-t', 'life/killed', '--keep', '5', `docker://${proxy.host}`]);
      await proxy.close();
      assert.equal(rerun.status, 0, explainRun(rerun));
      assert.match(rerun.stderr, /left by a run that stopped .*takes it over/);
      for (const d of planned) assert.equal(await hasManifest('life/killed', d), false, `${d} is deleted after the rerun`);
      assert.deepEqual(await tagsOf('life/killed'), [...kept].sort());
    });

    test("a tag a killed gc had deleted and a push put back on the same image is not the killed gc's to finish: a later gc that keeps it leaves it", async () => {
      const index = await pushFirstBuild('life/again', ['d1']);
      const proxy = await startFaultProxy(registry.url);
      let gcProcess: ChildProcess | undefined;
      // killed as the registry answers the delete of the index (which took d1), before the rest of the image goes
      proxy.rewrite = (r, status) => {
        if (r.method === 'DELETE' && r.path.endsWith(`/manifests/${index}`) && status === 202) gcProcess?.kill('SIGKILL');
      };
      try {
        const killed = await runAlba(['container', 'gc', '-t', 'life/again', '--keep-dev', '0', `docker://${proxy.host}`], {
          onSpawn: (child) => (gcProcess = child),
        });
        assert.equal(killed.status, null, explainRun(killed));
      } finally {
        await proxy.close();
      }
      assert.deepEqual(await tagsOf('life/again'), ['alba-removal-lease'], 'd1 went with its index; the journal names it');
      // the same image under the same tag: the journal entry d1@<index> names what d1 names again
      assert.equal(await pushFirstBuild('life/again', ['d1']), index);
      const gc = await alba(['container', 'gc', '-t', 'life/again', '--keep-dev', '5', `docker://${registry.host}`]);
      assert.equal(gc.status, 0, explainRun(gc));
      assert.match(gc.stderr, /takes it over/);
      assert.deepEqual(await tagsOf('life/again'), ['d1'], 'the tag pushed again stays');
      pullsWhole(`docker://${registry.host}/life/again:d1`, 'again', 'd1 pulls whole');
    });

    test('an rm killed once its index is deleted (the tag with it) is finished by the same rm run again: no USAGE, nothing left', async () => {
      const index = await pushFirstBuild('life/rmagain', ['d1']);
      const indexBytes = await fetch(`http://${registry.host}/v2/life/rmagain/manifests/${index}`, {
        headers: { accept: 'application/vnd.oci.image.index.v1+json' },
      });
      const platforms = ((await indexBytes.json()) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest);
      const proxy = await startFaultProxy(registry.url);
      let rmProcess: ChildProcess | undefined;
      proxy.rewrite = (r, status) => {
        if (r.method === 'DELETE' && r.path.endsWith(`/manifests/${index}`) && status === 202) rmProcess?.kill('SIGKILL');
      };
      try {
        const killed = await runAlba(['container', 'rm', '-t', 'life/rmagain:d1', `docker://${proxy.host}`], {
          onSpawn: (child) => (rmProcess = child),
        });
        assert.equal(killed.status, null, explainRun(killed));
      } finally {
        await proxy.close();
      }
      assert.deepEqual(await tagsOf('life/rmagain'), ['alba-removal-lease']);
      assert.ok(
        (await Promise.all(platforms.map((d) => hasManifest('life/rmagain', d)))).every(Boolean),
        'the platform manifests are left',
      );
      const again = await alba(['container', 'rm', '-t', 'life/rmagain:d1', `docker://${registry.host}`]);
      assert.equal(again.status, 0, explainRun(again));
      assert.match(again.stderr, /takes it over and finishes removing d1@/);
      for (const d of platforms) assert.equal(await hasManifest('life/rmagain', d), false, `${d} is deleted`);
      assert.deepEqual(await tagsOf('life/rmagain'), [], 'and the lease is gone');
    });

    test('a push that re-tags content a slow gc is deleting waits for the gc and repairs: it never reports success dangling', async () => {
      const index = await pushFirstBuild('life/race', ['d1']);
      const build = join(work, 'build-0');
      const proxy = await startFaultProxy(registry.url);
      let pushProxy: FaultProxy | undefined;
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      const indexDelete = (r: SeenRequest): boolean => r.method === 'DELETE' && r.path.endsWith(`/manifests/${index}`);
      // the gc's delete of the index is held: its plan is made and checked against the tags, the push tags meanwhile
      proxy.fault = (r) => (indexDelete(r) ? { hold: held } : undefined);
      try {
        const gcRun = alba(['container', 'gc', '-t', 'life/race', '--keep-dev', '0', `docker://${proxy.host}`]);
        for (let i = 0; i < 300 && !proxy.requests.some(indexDelete); i++) await new Promise((r) => setTimeout(r, 100));
        assert.ok(proxy.requests.some(indexDelete), 'the gc sent the delete of the index');
        let pushed: AlbaRun | undefined;
        // the push through a proxy of its own: the gc is released once the push has read the lease
        // twice (the second read comes after it found the first live), not after a guessed delay
        const leaseWatch = await startFaultProxy(registry.url);
        pushProxy = leaseWatch;
        const pushRun = alba(['container', 'push', '-t', 'life/race:d2', build, `docker://${leaseWatch.host}`]).then((r) => (pushed = r));
        const leaseReads = (): number =>
          leaseWatch.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/manifests/alba-removal-lease')).length;
        for (let i = 0; i < 1200 && leaseReads() < 2 && pushed === undefined; i++) await new Promise((r) => setTimeout(r, 50));
        assert.equal(pushed, undefined, 'the push waits while the gc holds its lease');
        assert.ok(leaseReads() >= 2, 'the push read the lease, found it live, and reads it again');
        release();
        const [gc, pu] = await Promise.all([gcRun, pushRun]);
        assert.equal(gc.status, 0, explainRun(gc));
        assert.equal(pu.status, 0, explainRun(pu));
        pullsWhole(`docker://${registry.host}/life/race:d2`, 'race-d2', 'd2 pulls whole after the push reported success');
        assert.match(pu.stderr, /a removal is running/);
        assert.deepEqual(await tagsOf('life/race'), ['d2'], 'the lease tag is gone');
      } finally {
        release();
        await proxy.close();
        await pushProxy?.close();
      }
    });

    test('a gc that runs whole while a push walks (its tag refused: the index it found stored is deleted) is seen by the removal epoch: the push stores it again', async () => {
      await pushFirstBuild('life/epoch', ['d1']);
      const build = join(work, 'build-0');
      const proxy = await startFaultProxy(registry.url);
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      // the push found d1's index stored (it reads the epoch and HEADs the index first); its tag's PUT waits for the gc
      const tagPut = (r: SeenRequest): boolean => r.method === 'PUT' && r.path.endsWith('/life/epoch/manifests/d2');
      proxy.fault = (r) => (tagPut(r) ? { hold: held } : undefined);
      try {
        const pushRun = alba(['container', 'push', '-t', 'life/epoch:d2', build, `docker://${proxy.host}`]);
        for (let i = 0; i < 600 && !proxy.requests.some(tagPut); i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(proxy.requests.some(tagPut), 'the push reached its tag');
        const epochHead = proxy.requests.findIndex((r) => r.method === 'HEAD' && r.path.endsWith('/manifests/alba-removal-epoch'));
        const indexHead = proxy.requests.findIndex((r) => r.method === 'HEAD' && /\/manifests\/sha256:/.test(r.path));
        assert.ok(epochHead >= 0 && epochHead < indexHead, 'the push read the epoch before it asked for the index');
        const gc = await alba(['container', 'gc', '-t', 'life/epoch', '--keep-dev', '0', `docker://${registry.host}`]);
        assert.equal(gc.status, 0, explainRun(gc));
        assert.deepEqual(await tagsOf('life/epoch'), [], 'the gc deleted d1 and its image, and let go of its lease');
        release();
        const pu = await pushRun;
        assert.equal(pu.status, 0, explainRun(pu));
        pullsWhole(`docker://${registry.host}/life/epoch:d2`, 'epoch-d2', 'd2 pulls whole after the push reported success');
        assert.deepEqual(await tagsOf('life/epoch'), ['d2']);
        const ls = await alba(['container', 'ls', '-t', 'life/epoch', '--class', 'all', '--json', `docker://${registry.host}`]);
        assert.equal(ls.status, 0, explainRun(ls));
        assert.deepEqual(
          (JSON.parse(ls.stdout) as { tag: string }[]).map((e) => e.tag),
          ['d2'],
          'ls lists no tag of the removals (the epoch is there)',
        );
      } finally {
        release();
        await proxy.close();
      }
    });

    test("a push to a tag of the removals' (lease, epoch) is refused", async () => {
      for (const tag of ['alba-removal-lease', 'alba-removal-epoch']) {
        const pu = await alba(['container', 'push', '-t', `life/reserved:${tag}`, join(work, 'build-0'), `docker://${registry.host}`]);
        assert.equal(pu.status, 2, explainRun(pu));
        assert.match(pu.stderr, /error\[USAGE\].*a tag of alba's removals/);
      }
    });
  },
);
