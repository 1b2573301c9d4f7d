import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { RgwServer } from '../helpers/ceph-rgw.js';
import { type FaultProxy, isS3Delete, type SeenRequest, startFaultProxy } from '../helpers/fault-proxy.js';
import { buildFixtureLayout, type FixtureLayout } from '../helpers/fixture-layout.js';
import { listKeys, rgwTestsEnabled, startRgwBucket, s3Url } from '../helpers/rgw-client.js';
import { type AlbaRun, explainRun, runAlba } from '../helpers/run-alba.js';

// The safety rules of rm and gc on S3 (docs/lifecycle.md, "Safety"), against Ceph RGW (~13 s to
// start): nothing outside the repository is a candidate, unreadable documents stop a removal
// instead of widening it, a push racing a removal never ends up dangling, static tags cannot
// collide or be half-replaced, stale multipart uploads are aborted.

const BUCKET = 'safety';
const enabled = rgwTestsEnabled();
const work = await mkdtemp(join(tmpdir(), 'alba-s3-safety-'));
let fixture: FixtureLayout;
let rgw: RgwServer;
let s3: S3Client;
let env: Record<string, string>;
let target: string;

before(async () => {
  if (!enabled) return;
  fixture = await buildFixtureLayout(work, 'fixture');
  ({ rgw, env, s3, target } = await startRgwBucket(work, BUCKET));
});
after(async () => {
  await rgw?.close();
  await fixture?.close();
  await rm(work, { recursive: true, force: true });
});

function alba(args: string[], options: { timeoutMs?: number } = {}): Promise<AlbaRun> {
  return runAlba(args, { env, ...options });
}
async function push(tags: string[], to = target): Promise<void> {
  const res = await alba(['container', 'push', ...tags.flatMap((t) => ['-t', t]), fixture.layout, to]);
  assert.equal(res.status, 0, explainRun(res));
}
const keys = (prefix: string): Promise<string[]> => listKeys(s3, BUCKET, prefix);
async function get(key: string): Promise<Buffer | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  } catch {
    return undefined;
  }
}
const put = (key: string, body: string | Buffer): Promise<unknown> =>
  s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'application/json' }));
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The keys the tag `name:tag` needs whole (the index, its manifests, their configs and layers) that the bucket lacks. */
async function missingFor(name: string, tag: string): Promise<string[]> {
  const missing: string[] = [];
  const root = await get(`v2/${name}/manifests/${tag}`);
  if (root === undefined) return [`v2/${name}/manifests/${tag}`];
  const visit = async (bytes: Buffer): Promise<void> => {
    const json = JSON.parse(bytes.toString('utf8')) as {
      manifests?: { digest: string }[];
      config?: { digest: string };
      layers?: { digest: string }[];
    };
    for (const d of [json.config, ...(json.layers ?? [])]) {
      if (
        d !== undefined &&
        (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `v2/${name}/blobs/${d.digest}` })).catch(() => undefined)) === undefined
      )
        missing.push(`blobs/${d.digest}`);
    }
    for (const m of json.manifests ?? []) {
      const child = await get(`v2/${name}/manifests/${m.digest}`);
      if (child === undefined) missing.push(`manifests/${m.digest}`);
      else await visit(child);
    }
  };
  if ((await get(`v2/${name}/manifests/sha256:${sha256(root)}`)) === undefined) missing.push(`manifests/sha256:${sha256(root)}`);
  await visit(root);
  return missing;
}

describe(
  'rm and gc on S3 never delete what they were not asked to (Ceph RGW)',
  { skip: enabled ? false : 'Ceph is missing, or not root' },
  () => {
    test('a nested repository (v2/a/sub/) is never a candidate of a gc or rm of a, releases included', async () => {
      await push(['nest/sub:1.0.0', 'nest/sub:d1']);
      await push(['nest:d1']);
      const nested = await keys('v2/nest/sub/');
      const gc = await alba(['container', 'gc', '-t', 'nest', '--keep', '0', '--grace', '0', '--json', target]);
      assert.equal(gc.status, 0, explainRun(gc));
      assert.ok((JSON.parse(gc.stdout) as { objects: unknown[] }).objects.length > 5, 'the gc did remove nest:d1 and its content');
      assert.deepEqual(await keys('v2/nest/sub/'), nested, 'every object of nest/sub is still there');
      assert.deepEqual(await missingFor('nest/sub', '1.0.0'), []);
      await push(['nest:d2']);
      const rmRun = await alba(['container', 'rm', '-t', 'nest:d2', '--grace', '0', target]);
      assert.equal(rmRun.status, 0, explainRun(rmRun));
      assert.deepEqual(await keys('v2/nest/sub/'), nested);
    });

    test('a damaged or missing tags/list stops rm and gc with error[S3] naming it; nothing is deleted; repair rebuilds it', async () => {
      await push(['dmg:1.0.0', 'dmg:d1']);
      const before = await keys('v2/dmg/');
      for (const damage of ['{"name":"dmg","tags":null}', '{"name":"dmg","tags":"d1"}', '[1,2]', 'not json', undefined]) {
        if (damage === undefined) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'v2/dmg/tags/list' }));
        else await put('v2/dmg/tags/list', damage);
        const gc = await alba(['container', 'gc', '-t', 'dmg', '--keep', '0', '--keep-release', '0', '--grace', '0', target]);
        assert.equal(gc.status, 1, `${damage}: ${explainRun(gc)}`);
        assert.match(gc.stderr, /error\[S3\].*v2\/dmg\/tags\/list/, String(damage));
        assert.match(gc.stderr, /container repair/);
        const rmRun = await alba(['container', 'rm', '-t', 'dmg:d1', '--grace', '0', target]);
        assert.notEqual(rmRun.status, 0, `${damage}: ${explainRun(rmRun)}`);
        assert.deepEqual(
          (await keys('v2/dmg/')).filter((k) => !k.endsWith('tags/list')),
          before.filter((k) => !k.endsWith('tags/list')),
          `${damage}: nothing deleted`,
        );
      }
      const repaired = await alba(['container', 'repair', '-t', 'dmg', target]);
      assert.equal(repaired.status, 0, explainRun(repaired));
      assert.deepEqual(JSON.parse((await get('v2/dmg/tags/list'))!.toString('utf8')), { name: 'dmg', tags: ['1.0.0', 'd1'] });
      const gc = await alba(['container', 'gc', '-t', 'dmg', '--keep', '0', '--grace', '0', target]);
      assert.equal(gc.status, 0, explainRun(gc));
      assert.deepEqual(await missingFor('dmg', '1.0.0'), [], 'the release is whole after the gc');
    });

    test('a garbage tag object or referrers tag stops a gc with error[S3] naming it; a push over a garbage referrers tag rewrites it', async () => {
      await push(['junk:1.0.0']);
      const before = await keys('v2/junk/');
      await put('v2/junk/manifests/d9', 'garbage');
      let gc = await alba(['container', 'gc', '-t', 'junk', '--keep', '0', '--grace', '0', target]);
      assert.equal(gc.status, 1, explainRun(gc));
      assert.match(gc.stderr, /error\[S3\].*v2\/junk\/manifests\/d9 at \S+ is not JSON/);
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'v2/junk/manifests/d9' }));
      const referrersTag = before.find((k) => /manifests\/sha256-[a-f0-9]{64}$/.test(k))!;
      await put(referrersTag, '{"manifests": 7}');
      gc = await alba(['container', 'gc', '-t', 'junk', '--keep', '0', '--grace', '0', target]);
      assert.equal(gc.status, 1, explainRun(gc));
      assert.match(gc.stderr, new RegExp(`error\\[S3\\].*${referrersTag}`));
      assert.deepEqual((await keys('v2/junk/')).sort(), before.sort(), 'nothing deleted');
      const again = await alba(['container', 'push', '-t', 'junk:1.0.0', fixture.layout, target]);
      assert.equal(again.status, 0, explainRun(again));
      assert.ok(
        Array.isArray((JSON.parse((await get(referrersTag))!.toString('utf8')) as { manifests: unknown }).manifests),
        'the referrers tag is an index again',
      );
      gc = await alba(['container', 'gc', '-t', 'junk', '--keep', '0', '--grace', '0', target]);
      assert.equal(gc.status, 0, explainRun(gc));
    });

    test('a push that re-tags content a slow gc is deleting waits for the gc and repairs: it never reports success dangling', async () => {
      await push(['race:d1']);
      const proxy = await startFaultProxy(rgw.url);
      let pushProxy: FaultProxy | undefined;
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      // the gc's first delete of the repository's objects (not of a lock or its lease) is held
      const objectsDelete = (r: SeenRequest): boolean => isS3Delete(r) && !r.path.includes('.alba-');
      proxy.fault = (r) => (objectsDelete(r) ? { hold: held } : undefined);
      try {
        const gcRun = alba(['container', 'gc', '-t', 'race', '--keep-dev', '0', '--grace', '0', s3Url(proxy.url, BUCKET)]);
        for (let i = 0; i < 200 && !proxy.requests.some(objectsDelete); i++) await new Promise((r) => setTimeout(r, 100));
        assert.ok(proxy.requests.some(isS3Delete), 'the gc planned and sent its first delete');
        let pushed: AlbaRun | undefined;
        // the push through a proxy of its own: the gc is released once the push has read the lease
        // twice (the second read comes after it found the first live), not after a guessed delay
        const leaseWatch = await startFaultProxy(rgw.url);
        pushProxy = leaseWatch;
        const pushRun = alba(['container', 'push', '-t', 'race:d2', fixture.layout, s3Url(leaseWatch.url, BUCKET)]).then(
          (r) => (pushed = r),
        );
        const leaseReads = (): number =>
          leaseWatch.requests.filter((r) => r.method === 'GET' && r.path.includes('.alba-removal-lease')).length;
        for (let i = 0; i < 1200 && leaseReads() < 2 && pushed === undefined; i++) await new Promise((r) => setTimeout(r, 50));
        assert.equal(pushed, undefined, 'the push waits while the gc holds its lease');
        assert.ok(leaseReads() >= 2, 'the push read the lease, found it live, and reads it again');
        release();
        const [gc, pu] = await Promise.all([gcRun, pushRun]);
        assert.equal(gc.status, 0, explainRun(gc));
        assert.equal(pu.status, 0, explainRun(pu));
        assert.ok(gc.stdout.includes('manifests/sha256:'), 'the gc deleted the index the push re-tagged');
        assert.deepEqual(await missingFor('race', 'd2'), [], 'd2 is whole after the push reported success');
        assert.match(pu.stderr, /a removal is running/);
        assert.deepEqual(JSON.parse((await get('v2/race/tags/list'))!.toString('utf8')).tags, ['d2']);
        assert.equal(await get('v2/race/.alba-removal-lease'), undefined, 'the lease is gone');
      } finally {
        release();
        await proxy.close();
        await pushProxy?.close();
      }
    });

    test('a gc that runs whole while a push walks (lease taken and gone before the push looks) is seen by the removal epoch: the push stores again what it deleted', async () => {
      await push(['epoch:d1']);
      // a removal that deletes nothing leaves an epoch: the push then compares two values, not "none" with one
      const first = await alba(['container', 'gc', '-t', 'epoch', '--keep-dev', '5', '--grace', '0', target]);
      assert.equal(first.status, 0, explainRun(first));
      assert.notEqual(await get('v2/epoch/.alba-removal-epoch'), undefined);
      const proxy = await startFaultProxy(rgw.url);
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      // the push found d1's content stored (it reads the epoch and HEADs the index first); its tag's PUT waits for the gc
      const tagPut = (r: SeenRequest): boolean => r.method === 'PUT' && r.path.startsWith(`/${BUCKET}/v2/epoch/manifests/d2`);
      proxy.fault = (r) => (tagPut(r) ? { hold: held } : undefined);
      try {
        const pushRun = alba(['container', 'push', '-t', 'epoch:d2', fixture.layout, s3Url(proxy.url, BUCKET)]);
        for (let i = 0; i < 600 && !proxy.requests.some(tagPut); i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(proxy.requests.some(tagPut), 'the push reached its tag');
        assert.ok(
          proxy.requests.some((r) => r.method === 'HEAD' && r.path.includes('.alba-removal-epoch')),
          'the push looked at the epoch (by HEAD) before its walk',
        );
        const gc = await alba(['container', 'gc', '-t', 'epoch', '--keep-dev', '0', '--grace', '0', target]);
        assert.equal(gc.status, 0, explainRun(gc));
        assert.ok(gc.stdout.includes('manifests/sha256:'), 'the gc deleted the content d2 is about to name');
        assert.ok(!(await keys('v2/epoch/')).includes('v2/epoch/.alba-removal-lease'), 'the gc ended before the push looks for a lease');
        release();
        const pu = await pushRun;
        assert.equal(pu.status, 0, explainRun(pu));
        assert.deepEqual(await missingFor('epoch', 'd2'), [], 'd2 is whole after the push reported success');
      } finally {
        release();
        await proxy.close();
      }
    });

    test("a tag a killed gc had deleted and a push put back on the same image is not the killed gc's to finish: a later gc that keeps it leaves it", async () => {
      await push(['again:d1']);
      const referrersTags = (await keys('v2/again/manifests/sha256-')).length;
      const proxy = await startFaultProxy(rgw.url);
      let gcProcess: ChildProcess | undefined;
      // killed as RGW answers the first delete of the repository's objects: the tag object d1 (out of tags/list before)
      proxy.rewrite = (r) => {
        if (isS3Delete(r) && !r.path.includes('.alba-')) gcProcess?.kill('SIGKILL');
      };
      try {
        const killed = await runAlba(['container', 'gc', '-t', 'again', '--keep-dev', '0', '--grace', '0', s3Url(proxy.url, BUCKET)], {
          env,
          onSpawn: (child) => (gcProcess = child),
        });
        assert.equal(killed.status, null, explainRun(killed));
      } finally {
        await proxy.close();
      }
      assert.equal(await get('v2/again/manifests/d1'), undefined, 'the killed gc deleted the tag object');
      assert.notEqual(await get('v2/again/.alba-removal-lease'), undefined, 'its lease, with its journal, is left');
      // the same image under the same tag: the journal entry d1@<index> names what d1 names again
      await push(['again:d1']);
      const gc = await alba(['container', 'gc', '-t', 'again', '--keep-dev', '5', '--grace', '0', target]);
      assert.equal(gc.status, 0, explainRun(gc));
      assert.match(gc.stderr, /takes it over/);
      assert.deepEqual(JSON.parse((await get('v2/again/tags/list'))!.toString('utf8')).tags, ['d1'], 'the tag pushed again stays');
      assert.deepEqual(await missingFor('again', 'd1'), [], 'and its image is whole');
      assert.equal((await keys('v2/again/manifests/sha256-')).length, referrersTags, 'with its referrers tags');
    });

    test('a gc stopped mid-way past the staleness of its lease deletes nothing more once it wakes: the push that found the lease stale stays whole', async () => {
      await push(['stall:d1']);
      const proxy = await startFaultProxy(rgw.url);
      let gcPid: number | undefined;
      let stopped = false;
      let batches = 0;
      // the process is stopped as its first wave of manifest deletes arrives (the tag objects went in
      // the one before; the request itself goes on, as one already sent would); the next waves of its
      // plan would take what the push below finds in place
      proxy.fault = (r) => {
        if (r.method === 'POST' && isS3Delete(r) && ++batches === 2 && gcPid !== undefined) {
          stopped = true;
          process.kill(gcPid, 'SIGSTOP');
        }
        return undefined;
      };
      try {
        const gcRun = runAlba(['container', 'gc', '-t', 'stall', '--keep-dev', '0', '--grace', '0', s3Url(proxy.url, BUCKET)], {
          env,
          onSpawn: (child) => (gcPid = child.pid),
        });
        for (let i = 0; i < 600 && !stopped; i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(stopped, `the gc reached its manifest deletes: ${proxy.requests.map((r) => `${r.method} ${r.path}`).join('\n')}`);
        const pushed = await alba(['container', 'push', '-t', 'stall:d2', fixture.layout, target]);
        assert.equal(pushed.status, 0, explainRun(pushed));
        assert.match(pushed.stderr, /a removal is running/, 'the push waited for the lease to go stale');
        assert.deepEqual(await missingFor('stall', 'd2'), [], 'd2 is whole when the push reports success');
        process.kill(gcPid as number, 'SIGCONT');
        const gc = await gcRun;
        assert.equal(gc.status, 1, explainRun(gc));
        assert.match(gc.stderr, /error\[S3\].*last renewed \d+ s ago.*stopped before deleting more/);
        assert.deepEqual(await missingFor('stall', 'd2'), [], 'd2 is still whole after the gc woke up');
        assert.notEqual(await get('v2/stall/.alba-removal-lease'), undefined, 'the lease is left for the next removal to take over');
      } finally {
        try {
          if (stopped && gcPid !== undefined) process.kill(gcPid, 'SIGCONT');
        } catch {
          // it has exited
        }
        await proxy.close();
      }
    });

    test("gc aborts the repository's multipart uploads begun before the grace period, and no other repository's", async () => {
      await push(['mp:d1']);
      const begin = async (key: string): Promise<string> =>
        (await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }))).UploadId!;
      await begin(`v2/mp/blobs/sha256:${'a'.repeat(64)}`);
      await begin(`v2/mp/sub/blobs/sha256:${'b'.repeat(64)}`);
      const young = await alba(['container', 'gc', '-t', 'mp', '--keep', '5', '--json', target]);
      assert.equal(young.status, 0, explainRun(young));
      assert.deepEqual((JSON.parse(young.stdout) as { uploads: unknown[] }).uploads, [], 'an upload within the grace period is left');
      const gc = await alba(['container', 'gc', '-t', 'mp', '--keep', '5', '--grace', '0', '--json', target]);
      assert.equal(gc.status, 0, explainRun(gc));
      assert.deepEqual(
        (JSON.parse(gc.stdout) as { uploads: { key: string }[] }).uploads.map((u) => u.key),
        [`v2/mp/blobs/sha256:${'a'.repeat(64)}`],
      );
      const left = (await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'v2/mp/' }))).Uploads ?? [];
      assert.deepEqual(
        left.map((u) => u.Key),
        [`v2/mp/sub/blobs/sha256:${'b'.repeat(64)}`],
      );
    });
  },
);

describe('static binaries: one key space, whole tags (Ceph RGW)', { skip: enabled ? false : 'Ceph is missing, or not root' }, () => {
  const dir = async (name: string, content: string): Promise<string> => {
    const d = join(work, 'static', name);
    await mkdir(join(d, 'linux', 'amd64'), { recursive: true });
    await mkdir(join(d, 'linux', 'arm64'), { recursive: true });
    await writeFile(join(d, 'linux', 'amd64', 'cli'), `${content} amd64\n`.repeat(1000));
    await writeFile(join(d, 'linux', 'arm64', 'cli'), `${content} arm64\n`.repeat(1000));
    return d;
  };

  test('a NAME with a / is refused (team/cli would be both the name document of team/cli and the tag document of team:cli)', async () => {
    const d = await dir('slash', 'x');
    for (const args of [
      ['push', '-t', 'team/cli:1.0', d, target],
      ['rm', '-t', 'team/cli:1.0', target],
      ['gc', '-t', 'team/cli', '--keep', '1', target],
      ['ls', '-t', 'team/cli', target],
    ]) {
      const res = await alba(['static', ...args]);
      assert.equal(res.status, 2, explainRun(res));
      assert.match(res.stderr, /error\[USAGE\].*not a static NAME/);
    }
    assert.deepEqual(await keys('df-dist-v1/team'), []);
  });

  test('a tag with other files is refused without --force; concurrent forced pushes of different files leave a document that names exactly the files there', async () => {
    const first = await alba(['static', 'push', '-t', 'cli:1.0', await dir('c0', 'zero'), target]);
    assert.equal(first.status, 0, explainRun(first));
    const doc = await get('df-dist-v1/cli/1.0');
    const other = await alba(['static', 'push', '-t', 'cli:1.0', await dir('c1', 'one'), target]);
    assert.equal(other.status, 1, explainRun(other));
    assert.match(other.stderr, /error\[TAG_EXISTS\]/);
    assert.deepEqual(await get('df-dist-v1/cli/1.0'), doc, 'the tag is unchanged');
    const dirs = await Promise.all([1, 2, 3, 4, 5].map((i) => dir(`f${i}`, `content ${i}`)));
    const runs = await Promise.all(
      dirs.map((d) => alba(['static', 'push', '--force', '-t', 'cli:1.0', d, target], { timeoutMs: 300_000 })),
    );
    for (const r of runs) assert.equal(r.status, 0, explainRun(r));
    const final = JSON.parse((await get('df-dist-v1/cli/1.0'))!.toString('utf8')) as {
      flavors: { resources: { path: string; sha256: string }[]; platform: { architecture: string } }[];
    };
    for (const f of final.flavors) {
      for (const r of f.resources)
        assert.equal(
          sha256((await get(`df-dist-v1/cli/1.0/linux/${f.platform.architecture}/${r.path}`))!),
          r.sha256,
          `${f.platform.architecture}/${r.path}`,
        );
    }
    assert.deepEqual(
      (await keys('df-dist-v1/cli/')).filter((k) => k.endsWith('.alba-lock')),
      [],
      'no lock is left',
    );
  });

  test('a forced static push killed while it overwrites the files leaves no document naming other bytes; run again, it completes', async () => {
    const first = await alba(['static', 'push', '-t', 'kf:1.0', await dir('k0', 'zero'), target]);
    assert.equal(first.status, 0, explainRun(first));
    const amd64 = 'df-dist-v1/kf/1.0/linux/amd64/cli';
    const oldSha = sha256((await get(amd64))!);
    assert.ok((await get('df-dist-v1/kf/index.html'))!.toString('utf8').includes(oldSha), 'the page shows the file');
    const proxy = await startFaultProxy(rgw.url);
    let pushProcess: ChildProcess | undefined;
    // killed as RGW answers the first file overwritten (the same key, other bytes)
    proxy.rewrite = (r) => {
      if (r.method === 'PUT' && r.path.startsWith(`/${BUCKET}/df-dist-v1/kf/1.0/linux/`)) pushProcess?.kill('SIGKILL');
    };
    const other = await dir('k1', 'one');
    try {
      const killed = await runAlba(['static', 'push', '--force', '-t', 'kf:1.0', other, s3Url(proxy.url, BUCKET)], {
        env,
        onSpawn: (child) => (pushProcess = child),
      });
      assert.equal(killed.status, null, explainRun(killed));
    } finally {
      await proxy.close();
    }
    /** Each file the tag document names, with whether it holds the bytes the document says. */
    const whole = async (): Promise<boolean[]> => {
      const doc = await get('df-dist-v1/kf/1.0');
      if (doc === undefined) return [];
      const { flavors } = JSON.parse(doc.toString('utf8')) as {
        flavors: { resources: { path: string; sha256: string }[]; platform: { architecture: string } }[];
      };
      return Promise.all(
        flavors.flatMap((f) =>
          f.resources.map(async (r) => {
            const bytes = await get(`df-dist-v1/kf/1.0/linux/${f.platform.architecture}/${r.path}`);
            return bytes !== undefined && sha256(bytes) === r.sha256;
          }),
        ),
      );
    };
    assert.ok((await whole()).every(Boolean), 'a document there names its files');
    // and the download page: it shows the old SHA-256 only while the file still holds those bytes
    const page = (await get('df-dist-v1/kf/index.html'))!.toString('utf8');
    assert.ok(!page.includes(oldSha) || sha256((await get(amd64))!) === oldSha, 'the page names no bytes its files no longer hold');
    const listed = (): Promise<string[]> => get('df-dist-v1/kf').then((b) => (JSON.parse(b!.toString('utf8')) as { tags: string[] }).tags);
    if ((await whole()).length === 0) assert.deepEqual(await listed(), [], 'a tag without its document is not listed');
    const again = await alba(['static', 'push', '--force', '-t', 'kf:1.0', other, target]);
    assert.equal(again.status, 0, explainRun(again));
    assert.deepEqual(await listed(), ['1.0']);
    const files = await whole();
    assert.ok(files.length === 2 && files.every(Boolean), 'the new files, whole');
    assert.match((await get('df-dist-v1/kf/1.0/linux/amd64/cli'))!.toString('utf8'), /^one amd64/);
  });

  test('a damaged name document stops static rm and gc; static repair rebuilds it from the whole tags', async () => {
    for (const t of ['2.0.0', '2.1.0']) {
      const res = await alba(['static', 'push', '-t', `tool:${t}`, await dir(`t${t}`, t), target]);
      assert.equal(res.status, 0, explainRun(res));
    }
    const before = await keys('df-dist-v1/tool');
    await put('df-dist-v1/tool', '{"name":"tool","tags":null}');
    const gc = await alba(['static', 'gc', '-t', 'tool', '--keep-release', '0', target]);
    assert.equal(gc.status, 1, explainRun(gc));
    assert.match(gc.stderr, /error\[S3\].*df-dist-v1\/tool .*static repair/s);
    assert.deepEqual(await keys('df-dist-v1/tool'), before);
    const repaired = await alba(['static', 'repair', '-t', 'tool', target]);
    assert.equal(repaired.status, 0, explainRun(repaired));
    assert.deepEqual(JSON.parse((await get('df-dist-v1/tool'))!.toString('utf8')), { name: 'tool', tags: ['2.0.0', '2.1.0'] });
  });
});

describe('alba sbom -t NAME:TAG s3://… (Ceph RGW)', { skip: enabled ? false : 'Ceph is missing, or not root' }, () => {
  before(async () => {
    if (enabled) await push(['sbom/app:1.0']);
  });

  test('prints the documents the layout holds, byte for byte: the index SPDX, a platform SPDX and CycloneDX', async () => {
    const cases: [string[], string][] = [
      [[], 'index.spdx.json'],
      [['--platform', 'linux/arm64'], 'arm64.spdx.json'],
      [['--platform', 'amd64', '--format', 'cyclonedx'], 'amd64.cdx.json'],
    ];
    for (const [args, file] of cases) {
      const res = await alba(['sbom', '-t', 'sbom/app:1.0', ...args, target]);
      assert.equal(res.status, 0, explainRun(res));
      assert.equal(res.stdout, await readFile(join(fixture.layout, 'sbom', file), 'utf8'), file);
    }
  });

  test('an unknown tag is SBOM_NOT_FOUND; a garbage referrers tag or an altered SBOM blob is error[S3] naming the key', async () => {
    const missing = await alba(['sbom', '-t', 'sbom/app:9.9', target]);
    assert.equal(missing.status, 1, explainRun(missing));
    assert.match(missing.stderr, /error\[SBOM_NOT_FOUND\].*v2\/sbom\/app\/manifests\/9\.9/);
    const index = JSON.parse((await get('v2/sbom/app/manifests/1.0'))!.toString('utf8')) as { manifests: { digest: string }[] };
    const arm = index.manifests[1]!.digest;
    const referrersKey = `v2/sbom/app/manifests/sha256-${arm.slice('sha256:'.length)}`;
    const referrers = (await get(referrersKey))!;
    await put(referrersKey, '{"manifests": 7}');
    const garbage = await alba(['sbom', '-t', 'sbom/app:1.0', '--platform', 'arm64', target]);
    assert.equal(garbage.status, 1, explainRun(garbage));
    assert.match(garbage.stderr, new RegExp(`error\\[S3\\].*${referrersKey}`));
    await put(referrersKey, referrers);
    const spdx = (JSON.parse(referrers.toString('utf8')) as { manifests: { digest: string; artifactType?: string }[] }).manifests.find(
      (m) => m.artifactType === 'application/spdx+json',
    )!;
    const layer = (JSON.parse((await get(`v2/sbom/app/manifests/${spdx.digest}`))!.toString('utf8')) as { layers: { digest: string }[] })
      .layers[0]!.digest;
    const blobKey = `v2/sbom/app/blobs/${layer}`;
    const blob = (await get(blobKey))!;
    await put(blobKey, Buffer.from(blob.toString('utf8').replace('SPDX-2.3', 'SPDX-2.4')));
    const altered = await alba(['sbom', '-t', 'sbom/app:1.0', '--platform', 'arm64', target]);
    assert.equal(altered.status, 1, explainRun(altered));
    assert.match(altered.stderr, new RegExp(`error\\[S3\\].*${blobKey} .*does not hold`));
    await put(blobKey, blob);
  });
});
