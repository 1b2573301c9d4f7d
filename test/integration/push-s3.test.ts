import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, PutBucketPolicyCommand, PutBucketWebsiteCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { RgwServer } from '../helpers/ceph-rgw.js';
import { isS3Delete, startFaultProxy } from '../helpers/fault-proxy.js';
import { bigLayout } from '../helpers/big-layout.js';
import { buildFixtureLayout, type FixtureLayout } from '../helpers/fixture-layout.js';
import { podmanEnv } from '../helpers/podman.js';
import { listKeys, rgwTestsEnabled, startRgwBucket, s3Url as s3UrlOf } from '../helpers/rgw-client.js';
import { type AlbaRun, explainRun, killAlbaAt, runAlba } from '../helpers/run-alba.js';
import { startWebsiteFront, type WebsiteFront } from '../helpers/website-front.js';
import { GC_PUSHES } from '../helpers/gc-pushes.js';

// `alba container push s3://…` and `alba static push` against Ceph RGW (started here, ~13 s),
// read back through the S3 API and pulled by skopeo through RGW's static website behind nginx.

const BUCKET = 'registry';
const enabled = rgwTestsEnabled(['nginx', 'skopeo', 'umoci', 'podman']);

const work = await mkdtemp(join(tmpdir(), 'alba-push-s3-'));
let fixture: FixtureLayout;
let rgw: RgwServer;
let front: WebsiteFront;
let s3: S3Client;
let env: Record<string, string>;
let target: string;

before(async () => {
  if (!enabled) return;
  fixture = await buildFixtureLayout(work, 'fixture');
  ({ rgw, env, s3 } = await startRgwBucket(work, BUCKET));
  await s3.send(new PutBucketWebsiteCommand({ Bucket: BUCKET, WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }));
  const policy = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${BUCKET}/*`] }],
  };
  await s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify(policy) }));
  front = await startWebsiteFront(rgw.url, rgw.websiteHost(BUCKET));
  target = s3Url(rgw.url);
});
after(async () => {
  await front?.close();
  await rgw?.close();
  await fixture?.close();
  await rm(work, { recursive: true, force: true });
});

function s3Url(endpoint: string, bucket = BUCKET): string {
  return s3UrlOf(endpoint, bucket);
}

function alba(args: string[], extraEnv: Record<string, string> = {}): Promise<AlbaRun> {
  return runAlba(args, { env: { ...env, ...extraEnv, DOCKER_CONFIG: join(work, 'no-docker') } });
}

function run(cmd: string, args: string[]): { status: number | null; out: string } {
  const res = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: res.status, out: `${res.stdout}${res.stderr}` };
}

async function object(
  key: string,
): Promise<{ bytes: Buffer; contentType?: string; cacheControl?: string; contentEncoding?: string } | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const bytes = Buffer.from(await res.Body!.transformToByteArray());
    return {
      bytes,
      ...(res.ContentType === undefined ? {} : { contentType: res.ContentType }),
      ...(res.CacheControl === undefined ? {} : { cacheControl: res.CacheControl }),
      ...(res.ContentEncoding === undefined ? {} : { contentEncoding: res.ContentEncoding }),
    };
  } catch {
    return undefined;
  }
}

function keys(prefix: string): Promise<string[]> {
  return listKeys(s3, BUCKET, prefix);
}

async function tagsList(name: string): Promise<string[]> {
  const doc = await object(`v2/${name}/tags/list`);
  return doc === undefined ? [] : (JSON.parse(doc.bytes.toString('utf8')) as { tags: string[] }).tags;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function layoutIndexDigest(): Promise<string> {
  const index = JSON.parse(await readFile(join(fixture.layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  return index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === 'fixture')!.digest;
}

describe(
  'S3 as a static registry and a static-binary store (Ceph RGW)',
  { skip: enabled ? false : 'Ceph, nginx, skopeo, umoci or podman is missing, or not root' },
  () => {
    test('container push: every object is there with its digest, size, Content-Type and Cache-Control', async () => {
      const res = await alba(['container', 'push', '-t', 'app/fixture:1.0', fixture.layout, target]);
      assert.equal(res.status, 0, explainRun(res));
      const index = await layoutIndexDigest();
      assert.match(res.stdout.trim(), new RegExp(`@${index}$`));
      const all = await keys('v2/app/fixture/');
      const blobs = all.filter((k) => k.includes('/blobs/'));
      const manifests = all.filter((k) => k.includes('/manifests/sha256:'));
      assert.ok(blobs.length > 5 && manifests.length >= 6, all.join('\n'));
      for (const key of [...blobs, ...manifests]) {
        const o = (await object(key))!;
        assert.equal(`sha256:${sha256(o.bytes)}`, key.slice(key.lastIndexOf('/') + 1), `${key} holds what its name says`);
        assert.equal(o.contentEncoding, undefined);
        assert.match(o.cacheControl ?? '', /immutable/);
        if (key.includes('/blobs/')) assert.equal(o.contentType, 'application/octet-stream');
        else
          assert.equal(
            o.contentType,
            (JSON.parse(o.bytes.toString('utf8')) as { mediaType: string }).mediaType,
            `${key} is served as its mediaType`,
          );
      }
      const tag = (await object('v2/app/fixture/manifests/1.0'))!;
      assert.equal(`sha256:${sha256(tag.bytes)}`, index);
      assert.equal(tag.contentType, 'application/vnd.oci.image.index.v1+json');
      assert.doesNotMatch(tag.cacheControl ?? '', /immutable/);
      assert.deepEqual(JSON.parse((await object('v2/app/fixture/tags/list'))!.bytes.toString('utf8')), {
        name: 'app/fixture',
        tags: ['1.0'],
      });
      assert.ok(
        all.some((k) => /manifests\/sha256-[a-f0-9]{64}$/.test(k)),
        'referrers tags',
      );
      assert.ok((await object('v2/index.html')) !== undefined, 'the /v2/ ping object');
    });

    test('through the website: skopeo pulls identical digests, by tag and by index digest; list-tags; alba sbom finds the SBOMs', async () => {
      const ref = `${front.host}/app/fixture`;
      const back = join(work, 'pulled');
      const copy = run('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${ref}:1.0`, `oci:${back}:1.0`]);
      assert.equal(copy.status, 0, copy.out);
      const index = await layoutIndexDigest();
      const pulled = JSON.parse(await readFile(join(back, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      assert.equal(pulled.manifests[0]?.digest, index);
      for (const name of await readdir(join(back, 'blobs', 'sha256'))) {
        assert.ok((await readdir(join(fixture.layout, 'blobs', 'sha256'))).includes(name), `pulled blob ${name} is one of the layout's`);
      }
      const byDigest = run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}@${index}`]);
      assert.equal(byDigest.status, 0, byDigest.out);
      assert.equal(`sha256:${sha256(Buffer.from(byDigest.out))}`, index);
      const tags = run('skopeo', ['list-tags', '--tls-verify=false', `docker://${ref}`]);
      assert.equal(tags.status, 0, tags.out);
      assert.deepEqual((JSON.parse(tags.out) as { Tags: string[] }).Tags, ['1.0']);
      // umoci unpacks one image, not an index: the arm64 image pulled alone unpacks to a rootfs with the base files
      const single = join(work, 'pulled-arm64');
      const one = run('skopeo', ['copy', '--override-arch', 'arm64', '--src-tls-verify=false', `docker://${ref}:1.0`, `oci:${single}:img`]);
      assert.equal(one.status, 0, one.out);
      const unpack = run('umoci', ['unpack', '--image', `${single}:img`, join(work, 'bundle-s3')]);
      assert.equal(unpack.status, 0, unpack.out);
      assert.match(await readFile(join(work, 'bundle-s3', 'rootfs', 'etc', 'passwd'), 'utf8'), /^root:x:0:0:/m);
      for (const [args, file] of [
        [[], 'index.spdx.json'],
        [['--platform', 'linux/arm64'], 'arm64.spdx.json'],
      ] as const) {
        const sbom = await alba(['sbom', `${ref}:1.0`, ...args]);
        assert.equal(sbom.status, 0, explainRun(sbom));
        assert.ok(Buffer.from(sbom.stdout).equals(await readFile(join(fixture.layout, 'sbom', file))), file);
      }
    });

    test('podman pulls the arm64 image through the website', async () => {
      const pm = await podmanEnv(join(work, 'podman'));
      const pull = spawnSync('podman', ['pull', '--tls-verify=false', '--arch', 'arm64', `${front.host}/app/fixture:1.0`], {
        encoding: 'utf8',
        env: { ...process.env, ...pm },
      });
      assert.equal(pull.status, 0, pull.stderr);
      const arch = spawnSync('podman', ['image', 'inspect', '--format', '{{.Architecture}}', `${front.host}/app/fixture:1.0`], {
        encoding: 'utf8',
        env: { ...process.env, ...pm },
      });
      assert.equal(arch.stdout.trim(), 'arm64', arch.stderr);
      spawnSync('podman', ['system', 'reset', '-f'], { env: { ...process.env, ...pm }, stdio: 'ignore' });
    });

    test('a no-op re-push makes only HEAD and GET requests', async () => {
      const proxy = await startFaultProxy(rgw.url);
      try {
        const res = await alba(['container', 'push', '-t', 'app/fixture:1.0', fixture.layout, s3Url(proxy.url)]);
        assert.equal(res.status, 0, explainRun(res));
        assert.deepEqual(
          proxy.requests.filter((r) => r.method !== 'HEAD' && r.method !== 'GET').map((r) => `${r.method} ${r.path}`),
          [],
        );
        assert.ok(
          proxy.requests.filter((r) => r.method === 'HEAD').length >= 2,
          'the push went through the proxy and asked what the bucket holds',
        );
      } finally {
        await proxy.close();
      }
    });

    test('a layer over 16 MiB goes up in multipart and reads back whole', async () => {
      const big = await bigLayout(join(work, 'big'), 20);
      const res = await alba(['container', 'push', '-t', 'app/big:1', big.dir, target]);
      assert.equal(res.status, 0, explainRun(res));
      const o = (await object(`v2/app/big/blobs/${big.layer}`))!;
      assert.equal(`sha256:${sha256(o.bytes)}`, big.layer);
    });

    test('docker archives pushed to S3 pull back with skopeo', async () => {
      const archives = join(work, 'archives');
      await mkdir(archives, { recursive: true });
      for (const [ref, file] of [
        ['fixture-linux-amd64', 'linux.amd64.tar'],
        ['fixture-linux-arm64-v8', 'linux.arm64.tar'],
      ] as const) {
        const copy = run('skopeo', ['copy', `oci:${fixture.layout}:${ref}`, `docker-archive:${join(archives, file)}`]);
        assert.equal(copy.status, 0, copy.out);
      }
      await writeFile(join(archives, 'linux.arm64.tar.gz'), gzipSync(await readFile(join(archives, 'linux.arm64.tar'))));
      await rm(join(archives, 'linux.arm64.tar'));
      const res = await alba(['container', 'push', '--cache', join(work, 'cache-archives'), '-t', 'app/archives:1', archives, target]);
      assert.equal(res.status, 0, explainRun(res));
      const copy = run('skopeo', [
        'copy',
        '--all',
        '--src-tls-verify=false',
        `docker://${front.host}/app/archives:1`,
        `oci:${join(work, 'archives-back')}:1`,
      ]);
      assert.equal(copy.status, 0, copy.out);
    });

    test('two pushes of different tags at once both end up in tags/list', async () => {
      const [a, b] = await Promise.all([
        alba(['container', 'push', '-t', 'app/race:a', fixture.layout, target]),
        alba(['container', 'push', '-t', 'app/race:b', fixture.layout, target]),
      ]);
      assert.equal(a.status, 0, explainRun(a));
      assert.equal(b.status, 0, explainRun(b));
      assert.deepEqual(await tagsList('app/race'), ['a', 'b']);
    });

    test('container ls and static ls: tags with class, push time (newest first), digest or flavors, size', async () => {
      for (const tag of ['0.1.0', 'nightly-1', '0.2.0-rc.1']) {
        const res = await alba(['container', 'push', '-t', `app/listed:${tag}`, fixture.layout, target]);
        assert.equal(res.status, 0, explainRun(res));
        await new Promise((r) => setTimeout(r, 1100)); // Last-Modified has a one-second resolution
      }
      const all = await alba(['container', 'ls', '-t', 'app/listed', '--class', 'all', '--json', target]);
      assert.equal(all.status, 0, explainRun(all));
      const entries = JSON.parse(all.stdout) as { tag: string; class: string; digest: string; size: number; pushed: string }[];
      assert.deepEqual(
        entries.map((e) => [e.tag, e.class]),
        [
          ['0.2.0-rc.1', 'extra'],
          ['nightly-1', 'dev'],
          ['0.1.0', 'release'],
        ],
        'newest first',
      );
      assert.ok(entries.every((e) => e.digest === entries[0]!.digest && e.size > 1000 && !Number.isNaN(Date.parse(e.pushed))));
      const table = await alba(['container', 'ls', '-t', 'app/listed', '--class', 'all', target]);
      assert.deepEqual(
        table.stdout
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.split(/\s+/)[0]),
        ['0.2.0-rc.1', 'nightly-1', '0.1.0'],
        'newest first',
      );
      const releases = await alba(['container', 'ls', '-t', 'app/listed', target]);
      assert.match(releases.stdout, /^TAG.*\n0\.1\.0 +release/);
      assert.match(releases.stdout, /\(1 extra and 1 dev tags not shown: --class all\)/);
      const bad = await alba(['container', 'ls', '-t', 'app/listed', '--class', 'nope', target]);
      assert.equal(bad.status, 2, explainRun(bad));
    });

    test('container gc --keep 5 of 3 release, 2 extra and 12 dev tags sharing base layers, and static gc: dry run = real run, kept tags pull with their digests and SBOMs, kept binaries download, nothing unreachable is left, grace spares a fresh upload', async () => {
      // oldest first; `latest` goes with d11 and d03 with 1.1.0 (one push, one digest); a static tag beside each push
      const digests = new Map<string, string>();
      const bins = join(work, 'gc-bins');
      for (const p of ['linux/amd64', 'linux/arm64']) await mkdir(join(bins, p), { recursive: true });
      for (const [i, tags] of GC_PUSHES.entries()) {
        const out = join(work, `gc-${i}`);
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
        const res = await alba(['container', 'push', ...tags.flatMap((t) => ['-t', `app/gc:${t}`]), out, target]);
        assert.equal(res.status, 0, explainRun(res));
        for (const t of tags) digests.set(t, res.stdout.trim().split('@').pop() as string);
        for (const p of ['linux/amd64', 'linux/arm64']) await writeFile(join(bins, p, 'tool'), `tool ${tags[0]} for ${p}\n`);
        const st = await alba(['static', 'push', '-t', `tool:${tags[0]}`, bins, target]);
        assert.equal(st.status, 0, explainRun(st));
        await new Promise((r) => setTimeout(r, 1100)); // Last-Modified has a one-second resolution
      }
      const stray = `v2/app/gc/blobs/sha256:${'e'.repeat(64)}`;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: stray, Body: 'an upload of a push in flight' }));
      const before = await keys('v2/app/gc/');
      const dry = await alba(['container', 'gc', '-t', 'app/gc', '--keep', '5', '--dry-run', '--json', target]);
      assert.equal(dry.status, 0, explainRun(dry));
      assert.deepEqual(await keys('v2/app/gc/'), before, '--dry-run changes nothing');
      const real = await alba(['container', 'gc', '-t', 'app/gc', '--keep', '5', '--json', target]);
      assert.equal(real.status, 0, explainRun(real));
      const planned = JSON.parse(dry.stdout) as { tags: string[]; objects: { key: string }[] };
      const done = JSON.parse(real.stdout) as { tags: string[]; objects: { key: string }[] };
      assert.deepEqual(done.tags, planned.tags);
      assert.deepEqual(done.objects, planned.objects, 'the real run does exactly the plan');
      assert.deepEqual([...planned.tags].sort(), ['d01', 'd02', 'd03', 'd04', 'd05', 'd06', 'd07']);
      const kept = ['1.0.0', '1.1.0', '2.0.0', '2.1.0-rc.1', '2.1.0-rc.2', 'd08', 'd09', 'd10', 'd11', 'latest'];
      assert.deepEqual(await tagsList('app/gc'), [...kept].sort());
      const after = await keys('v2/app/gc/');
      assert.deepEqual(
        after,
        before.filter((k) => !done.objects.some((o) => o.key === k)),
      );
      assert.ok(after.includes(stray), 'the fresh upload survives the default 1h grace');
      assert.ok(
        done.objects.every((o) => /\/manifests\/[^/]+$/.test(o.key) && !o.key.includes('sha256')),
        'within the grace only the tag objects go',
      );
      // with --grace 0 the sweep takes everything no tag reaches: the removed images' manifests, configs and the stray upload
      const dry0 = await alba(['container', 'gc', '-t', 'app/gc', '--keep', '100', '--grace', '0', '--dry-run', '--json', target]);
      const sweep = await alba(['container', 'gc', '-t', 'app/gc', '--keep', '100', '--grace', '0', '--json', target]);
      assert.equal(sweep.status, 0, explainRun(sweep));
      const swept = (JSON.parse(sweep.stdout) as { objects: { key: string }[] }).objects.map((o) => o.key);
      assert.deepEqual(
        (JSON.parse(dry0.stdout) as { objects: { key: string }[] }).objects.map((o) => o.key),
        swept,
        'the real run does exactly the plan',
      );
      assert.ok(swept.includes(stray));
      assert.ok(
        swept.some((k) => k.includes('/manifests/sha256:')),
        'removed images lose their manifests',
      );
      assert.ok(!swept.includes(`v2/app/gc/manifests/${digests.get('d03')}`), 'the index d03 shared with the kept 1.1.0 stays');
      const left = await keys('v2/app/gc/');
      assert.ok(left.filter((k) => k.includes('/blobs/')).length > 5, 'shared layers stay');
      for (const tag of kept) {
        const copy = run('skopeo', [
          'copy',
          '--all',
          '--src-tls-verify=false',
          `docker://${front.host}/app/gc:${tag}`,
          `oci:${join(work, `gc-back-${tag}`)}:x`,
        ]);
        assert.equal(copy.status, 0, `${tag}: ${copy.out}`);
        const pulled = JSON.parse(await readFile(join(work, `gc-back-${tag}`, 'index.json'), 'utf8')) as {
          manifests: { digest: string }[];
        };
        assert.equal(pulled.manifests[0]?.digest, digests.get(tag));
        const sbom = await alba(['sbom', `${front.host}/app/gc:${tag}`, '--platform', 'arm64']);
        assert.equal(sbom.status, 0, `${tag}: ${explainRun(sbom)}`);
      }
      const again = await alba(['container', 'gc', '-t', 'app/gc', '--keep', '100', '--grace', '0', '--json', target]);
      assert.deepEqual((JSON.parse(again.stdout) as { objects: unknown[] }).objects, [], 'nothing unreachable is left');
      const rm = await alba(['container', 'rm', '-t', 'app/gc:d08', target]);
      assert.equal(rm.status, 0, explainRun(rm));
      assert.deepEqual(await tagsList('app/gc'), kept.filter((t) => t !== 'd08').sort());
      const missing = await alba(['container', 'rm', '-t', 'app/gc:nope', target]);
      assert.equal(missing.status, 2, explainRun(missing));
      // static binaries: the same classes and rule; each kept tag's binaries still download
      const staticBefore = await keys('df-dist-v1/tool');
      const sdry = await alba(['static', 'gc', '-t', 'tool', '--keep', '5', '--dry-run', '--json', target]);
      assert.deepEqual(await keys('df-dist-v1/tool'), staticBefore, '--dry-run changes nothing');
      const sgc = await alba(['static', 'gc', '-t', 'tool', '--keep', '5', '--json', target]);
      assert.equal(sgc.status, 0, explainRun(sgc));
      assert.deepEqual(
        JSON.parse(sgc.stdout),
        { ...(JSON.parse(sdry.stdout) as object), dryRun: false },
        'the real run does exactly the plan',
      );
      const staticKept = ['1.0.0', '1.1.0', '2.0.0', '2.1.0-rc.1', '2.1.0-rc.2', 'd07', 'd08', 'd09', 'd10', 'd11'];
      assert.deepEqual(
        [...((await (await fetch(`${front.url}/df-dist-v1/tool`)).json()) as { tags: string[] }).tags].sort(),
        [...staticKept].sort(),
      );
      for (const tag of staticKept) {
        const bin = await fetch(`${front.url}/df-dist-v1/tool/${tag}/linux/arm64/tool`);
        assert.equal(await bin.text(), `tool ${tag} for linux/arm64\n`);
      }
      assert.deepEqual(
        (await keys('df-dist-v1/tool/')).filter(
          (k) =>
            k !== 'df-dist-v1/tool/index.html' && // the download page, checked below
            !staticKept.some((t) => k === `df-dist-v1/tool/${t}` || k.startsWith(`df-dist-v1/tool/${t}/`)),
        ),
        [],
        'no object of a removed static tag is left',
      );
      const page = await (await fetch(`${front.url}/df-dist-v1/tool/`)).text();
      const listed = [...page.matchAll(/<article class="tag" id="([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(listed.sort(), [...staticKept].sort(), 'the download page lists exactly the kept tags');
    });

    test('a wrong secret: error[S3] SignatureDoesNotMatch with a hint, exit 1, nothing tagged', async () => {
      const res = await alba(['container', 'push', '-t', 'app/denied:1', fixture.layout, target], { AWS_SECRET_ACCESS_KEY: 'wrong' });
      assert.equal(res.status, 1, explainRun(res));
      assert.match(res.stderr, /error\[S3\].*SignatureDoesNotMatch/);
      assert.match(res.stderr, /hint: .*AWS_SECRET_ACCESS_KEY/);
      assert.doesNotMatch(res.stderr, /\n\s+at /);
      assert.deepEqual(await keys('v2/app/denied/'), []);
    });

    test('a missing bucket: error[S3] NoSuchBucket', async () => {
      const res = await alba(['container', 'push', '-t', 'app/x:1', fixture.layout, s3Url(rgw.url, 'nosuchbucket')]);
      assert.equal(res.status, 1, explainRun(res));
      assert.match(res.stderr, /error\[S3\].*NoSuchBucket/);
    });

    test('a push killed at several points leaves the previous tag intact, and a rerun completes it', async () => {
      const first = await alba(['container', 'push', '-t', 'app/killed:1', fixture.layout, target]);
      assert.equal(first.status, 0, explainRun(first));
      const before = (await object('v2/app/killed/manifests/1'))!.bytes;
      // a second image under the same tag: the fixture with another annotation
      const other = join(work, 'other');
      const rebuilt = await runAlba([
        'build',
        fixture.recipe,
        '--cache',
        fixture.cache,
        '--out',
        other,
        '--annotation',
        'org.opencontainers.image.revision=2',
      ]);
      assert.equal(rebuilt.status, 0, explainRun(rebuilt));
      for (const killAt of [1, 4, 9]) {
        const proxy = await startFaultProxy(rgw.url);
        assert.ok(
          await killAlbaAt(
            proxy,
            (r) => r.method === 'PUT',
            killAt,
            ['container', 'push', '-t', 'app/killed:1', other, s3Url(proxy.url)],
            env,
          ),
          `the push reached PUT ${killAt}`,
        );
        await proxy.close();
        assert.ok(
          (await object('v2/app/killed/manifests/1'))!.bytes.equals(before),
          `killed at PUT ${killAt}: the tag still names the previous image`,
        );
        assert.deepEqual(await tagsList('app/killed'), ['1']);
      }
      const rerun = await alba(['container', 'push', '-t', 'app/killed:1', other, target]);
      assert.equal(rerun.status, 0, explainRun(rerun));
      assert.ok(!(await object('v2/app/killed/manifests/1'))!.bytes.equals(before), 'the rerun moved the tag');
      const copy = run('skopeo', [
        'copy',
        '--all',
        '--src-tls-verify=false',
        `docker://${front.host}/app/killed:1`,
        `oci:${join(work, 'killed-back')}:1`,
      ]);
      assert.equal(copy.status, 0, copy.out);
    });

    test('a gc killed at several points leaves every kept tag whole, and a rerun finishes it', async () => {
      for (const [i, tag] of ['d1', 'd2', 'd3', 'd4', 'd5'].entries()) {
        const out = join(work, `gc-${i}`); // built by the gc test above
        const res = await alba(['container', 'push', '-t', `app/gckill:${tag}`, out, target]);
        assert.equal(res.status, 0, explainRun(res));
        await new Promise((r) => setTimeout(r, 1100));
      }
      let removed = 0;
      for (const killAt of [1, 3, 6]) {
        const proxy = await startFaultProxy(rgw.url);
        assert.ok(
          await killAlbaAt(
            proxy,
            isS3Delete,
            killAt,
            ['container', 'gc', '-t', 'app/gckill', '--keep', String(4 - removed), '--grace', '0', s3Url(proxy.url)],
            env,
          ),
          `gc reached DELETE ${killAt}`,
        );
        await proxy.close();
        removed++;
        for (const tag of await tagsList('app/gckill')) {
          const copy = run('skopeo', [
            'copy',
            '--all',
            '--src-tls-verify=false',
            `docker://${front.host}/app/gckill:${tag}`,
            `oci:${join(work, `gckill-${killAt}-${tag}`)}:x`,
          ]);
          assert.equal(copy.status, 0, `killed at DELETE ${killAt}: ${tag} still pulls whole: ${copy.out}`);
        }
      }
      const rerun = await alba(['container', 'gc', '-t', 'app/gckill', '--keep', '2', '--grace', '0', '--json', target]);
      assert.equal(rerun.status, 0, explainRun(rerun));
      assert.deepEqual(await tagsList('app/gckill'), ['d4', 'd5']);
      const again = await alba(['container', 'gc', '-t', 'app/gckill', '--keep', '2', '--grace', '0', '--json', target]);
      assert.deepEqual((JSON.parse(again.stdout) as { objects: unknown[] }).objects, [], 'the rerun left nothing unreachable');
      assert.ok(
        (await keys('v2/app/gckill/manifests/')).every((k) => !/manifests\/d[123]$/.test(k)),
        'no tag object of a removed tag is left',
      );
    });

    test('static push of 4 platforms: tag and name documents and every binary through the website; concurrent tags both listed', async () => {
      const dir = join(work, 'df');
      const platforms = ['linux/386', 'linux/amd64', 'linux/arm/v7', 'linux/arm64'];
      for (const p of platforms) {
        await mkdir(join(dir, p), { recursive: true });
        await writeFile(join(dir, p, 'albatros'), `albatros for ${p}\n`);
      }
      const res = await alba(['static', 'push', '-t', 'albatros:0.9', dir, target]);
      assert.equal(res.status, 0, explainRun(res));
      assert.match(res.stderr, /df\/linux\/386\/albatros -> df-dist-v1\/albatros\/0\.9\/linux\/386\/albatros/);
      assert.match(res.stderr, /tag -> df-dist-v1\/albatros\/0\.9\nmanifest -> df-dist-v1\/albatros\n✅ push succeeded/);
      const name = await (await fetch(`${front.url}/df-dist-v1/albatros`)).json();
      assert.deepEqual(name, { name: 'albatros', tags: ['0.9'] });
      const tag = (await (await fetch(`${front.url}/df-dist-v1/albatros/0.9`)).json()) as {
        flavors: {
          resources: { path: string; size: number; sha256: string }[];
          platform: { os: string; architecture: string; variant?: string };
        }[];
      };
      assert.deepEqual(
        tag.flavors.map((f) => [f.platform.os, f.platform.architecture, f.platform.variant].filter(Boolean).join('/')),
        platforms,
      );
      for (const f of tag.flavors) {
        const p = [f.platform.os, f.platform.architecture, f.platform.variant].filter(Boolean).join('/');
        const got = await fetch(`${front.url}/df-dist-v1/albatros/0.9/${p}/${f.resources[0]!.path}`);
        assert.equal(got.headers.get('content-type'), 'application/octet-stream');
        const bytes = Buffer.from(await got.arrayBuffer());
        assert.equal(sha256(bytes), f.resources[0]!.sha256);
        assert.equal(bytes.length, f.resources[0]!.size);
      }
      const [a, b] = await Promise.all([
        alba(['static', 'push', '-t', 'albatros:1.0+feat', dir, target]),
        alba(['static', 'push', '-t', 'albatros:0.10', dir, target]),
      ]);
      assert.equal(a.status, 0, explainRun(a));
      assert.equal(b.status, 0, explainRun(b));
      assert.deepEqual(((await (await fetch(`${front.url}/df-dist-v1/albatros`)).json()) as { tags: string[] }).tags, [
        '0.9',
        '0.10',
        '1.0+feat',
      ]);
      const ls = await alba(['static', 'ls', '-t', 'albatros', '--class', 'all', '--json', target]);
      assert.equal(ls.status, 0, explainRun(ls));
      const listed = JSON.parse(ls.stdout) as { tag: string; class: string; flavors: string[]; size: number }[];
      assert.deepEqual(listed.map((e) => [e.tag, e.class]).sort(), [
        ['0.10', 'dev'],
        ['0.9', 'dev'],
        ['1.0+feat', 'dev'],
      ]);
      assert.deepEqual(listed[0]?.flavors, platforms);
      assert.equal(
        listed[0]?.size,
        platforms.reduce((n, p) => n + `albatros for ${p}\n`.length, 0),
      );
      const gc = await alba(['static', 'gc', '-t', 'albatros', '--keep', '1', target]);
      assert.equal(gc.status, 0, explainRun(gc));
      const left = ((await (await fetch(`${front.url}/df-dist-v1/albatros`)).json()) as { tags: string[] }).tags;
      assert.equal(left.length, 1);
      assert.deepEqual(
        await keys(`df-dist-v1/albatros/`),
        [...(await keys(`df-dist-v1/albatros/${left[0]}`)), 'df-dist-v1/albatros/index.html'].sort(),
        'only the kept tag has objects (and the download page)',
      );
      const bin = await fetch(`${front.url}/df-dist-v1/albatros/${left[0]}/linux/amd64/albatros`);
      assert.equal(await bin.text(), 'albatros for linux/amd64\n');
    });
    test('a name-document write that lands late does not drop the tag another push added meanwhile', async () => {
      const dir = join(work, 'racer');
      await mkdir(join(dir, 'linux/amd64'), { recursive: true });
      await writeFile(join(dir, 'linux/amd64/racer'), 'racer\n');
      const first = await alba(['static', 'push', '-t', 'racer:1', dir, target]);
      assert.equal(first.status, 0, explainRun(first));
      // A's second write of the document (after RGW refused its If-Match) is held while B pushes whole
      const proxy = await startFaultProxy(rgw.url);
      let writes = 0;
      let other: Promise<AlbaRun> | undefined;
      proxy.fault = (r) => {
        if (r.method !== 'PUT' || r.path.split('?')[0] !== `/${BUCKET}/df-dist-v1/racer` || ++writes !== 2) return undefined;
        other = alba(['static', 'push', '-t', 'racer:3', dir, target]);
        return { hold: Promise.race([other, new Promise((resolve) => setTimeout(resolve, 4000))]) };
      };
      const a = await alba(['static', 'push', '-t', 'racer:2', dir, s3Url(proxy.url)]);
      await proxy.close();
      assert.equal(a.status, 0, explainRun(a));
      assert.ok(other !== undefined, 'A wrote the document twice (RGW 16 refuses its If-Match)');
      const b = await other;
      assert.equal(b.status, 0, explainRun(b));
      assert.deepEqual(((await (await fetch(`${front.url}/df-dist-v1/racer`)).json()) as { tags: string[] }).tags, ['1', '2', '3']);
      assert.deepEqual(
        (await keys('df-dist-v1/racer')).filter((k) => k.endsWith('.alba-lock')),
        [],
        'no lock is left',
      );
    });
    test('a holder whose write is held up longer than 10 s renews its lock: the waiting push does not break it, and neither tag is lost', async () => {
      const dir = join(work, 'slow');
      await mkdir(join(dir, 'linux/amd64'), { recursive: true });
      await writeFile(join(dir, 'linux/amd64/slow'), 'slow\n');
      const first = await alba(['static', 'push', '-t', 'slow:1', dir, target]);
      assert.equal(first.status, 0, explainRun(first));
      // A's write under the lock (its second write of the document: RGW refused the If-Match one) is
      // held for 12 s while B waits for the lock; broken at 10 s, B's change would be written over by A's late write
      const proxy = await startFaultProxy(rgw.url);
      let writes = 0;
      let other: Promise<AlbaRun> | undefined;
      proxy.fault = (r) => {
        if (r.method !== 'PUT' || r.path.split('?')[0] !== `/${BUCKET}/df-dist-v1/slow` || ++writes !== 2) return undefined;
        other = alba(['static', 'push', '-t', 'slow:b', dir, target]);
        return { stallMs: 12_000 };
      };
      const a = await alba(['static', 'push', '-t', 'slow:a', dir, s3Url(proxy.url)]);
      await proxy.close();
      assert.equal(a.status, 0, explainRun(a));
      assert.ok(other !== undefined, 'A wrote the document under the lock');
      const b = await other;
      assert.equal(b.status, 0, explainRun(b));
      assert.deepEqual(((await (await fetch(`${front.url}/df-dist-v1/slow`)).json()) as { tags: string[] }).tags, ['1', 'a', 'b']);
      const renewals = proxy.requests.filter((r) => r.method === 'PUT' && r.path.split('?')[0] === `/${BUCKET}/df-dist-v1/slow.alba-lock`);
      assert.ok(renewals.length >= 5, `A created and renewed its lock while its write was held: ${renewals.length} PUTs of it`);
    });
    test('a lock left by a killed writer is broken once it has not changed for 10 s', async () => {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'df-dist-v1/racer.alba-lock', Body: 'killed\n' }));
      const res = await alba(['static', 'push', '-t', 'racer:4', join(work, 'racer'), target]);
      assert.equal(res.status, 0, explainRun(res));
      assert.deepEqual(((await (await fetch(`${front.url}/df-dist-v1/racer`)).json()) as { tags: string[] }).tags, ['1', '2', '3', '4']);
      assert.deepEqual(
        (await keys('df-dist-v1/racer')).filter((k) => k.endsWith('.alba-lock')),
        [],
      );
    });
  },
);
