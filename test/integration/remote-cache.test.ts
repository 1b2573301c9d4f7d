import assert from 'node:assert/strict';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RgwBucket } from '../helpers/rgw-client.js';
import { listKeys, rgwTestsEnabled, startRgwBucket } from '../helpers/rgw-client.js';
import type { FixtureProject } from '../helpers/fixture-distro.js';
import { debsIn, digests, startFleet, type BuildJson } from '../helpers/remote-cache-fleet.js';
import type { RepoServer } from '../helpers/repo-server.js';
import { explainRun, runAlba, type AlbaRun } from '../helpers/run-alba.js';
import type { LockFile } from '../../src/lock/lock-types.js';

// `--remote-cache s3://…` against Ceph RGW: runners with empty disks share the layers (and everything
// else a build reads from a .deb) through one bucket. The fixture distro is served on 127.0.0.1.

const enabled = rgwTestsEnabled();
const BUCKET = 'alba-remote-cache';
const ROOT = 'fleet/.alba-remote-cache/v1/';
const work = await mkdtemp(join(tmpdir(), 'alba-remote-cache-'));
let rgw: RgwBucket;
let server: RepoServer;
let project: FixtureProject;
let lock: LockFile;
let cacheUrl: string;
let first: { index: string; manifests: string[] };
let runners = 0;

/** One build as a fresh runner: an empty cache directory. */
async function runner(
  extra: string[] = [],
  env: Record<string, string> = rgw.env,
): Promise<{ run: AlbaRun; json?: BuildJson; cache: string }> {
  const n = ++runners;
  const cache = join(work, `cache-${n}`);
  const run = await runAlba(['build', project.recipe, '--cache', cache, '--out', join(work, `out-${n}`), '--json', ...extra], { env });
  return { run, cache, ...(run.status === 0 ? { json: JSON.parse(run.stdout) as BuildJson } : {}) };
}

async function getText(key: string): Promise<string> {
  const res = await rgw.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return (await res.Body!.transformToString()) ?? '';
}

before(async () => {
  if (!enabled) return;
  rgw = await startRgwBucket(work, BUCKET);
  cacheUrl = rgw.target.replace(`s3://${BUCKET}?`, `s3://${BUCKET}/fleet?`);
  ({ server, project, lock } = await startFleet(work));
});
after(async () => {
  await server?.close();
  await rgw?.rgw.close();
  await rm(work, { recursive: true, force: true });
});

test(
  'two runners filling one cache at once: both build the same digests, the cache holds records and blobs in its own folder',
  { skip: enabled ? false : 'Ceph is missing, or not root' },
  async () => {
    const [a, b] = await Promise.all([runner(['--remote-cache', cacheUrl]), runner([], { ...rgw.env, ALBA_REMOTE_CACHE: cacheUrl })]);
    assert.equal(a.run.status, 0, explainRun(a.run));
    assert.equal(b.run.status, 0, explainRun(b.run));
    first = digests(a.json);
    assert.deepEqual(digests(b.json), first);
    assert.doesNotMatch(a.run.stderr + b.run.stderr, /warning: remote cache/);
    const keys = await listKeys(rgw.s3, BUCKET, '');
    assert.ok(keys.length > 0 && keys.every((k) => k.startsWith(ROOT)), `keys outside ${ROOT}: ${keys.join(' ')}`);
    const records = keys.filter((k) => k.startsWith(`${ROOT}records/`));
    const packages = new Set(Object.values(lock.archs).flatMap((ps) => ps.map((p) => p.sha256)));
    assert.equal(records.length, packages.size, 'one record per package layer');
    for (const r of records) assert.equal((JSON.parse(await getText(r)) as { key: string }).key, r.slice(`${ROOT}records/`.length));
  },
);

test('a remote cache that is down costs a warning, not the build', { skip: enabled ? false : 'Ceph is missing, or not root' }, async () => {
  const down = cacheUrl.replace(/endpoint=[^&]*/, 'endpoint=http://127.0.0.1:9');
  const e = await runner(['--remote-cache', down]);
  assert.equal(e.run.status, 0, explainRun(e.run));
  assert.match(e.run.stderr, /warning: remote cache unreachable/);
  assert.deepEqual(digests(e.json), first);
});

test('--remote-cache-mode read writes nothing to the cache', { skip: enabled ? false : 'Ceph is missing, or not root' }, async () => {
  const other = cacheUrl.replace(`s3://${BUCKET}/fleet?`, `s3://${BUCKET}/readonly?`);
  const r = await runner(['--remote-cache', other, '--remote-cache-mode', 'read']);
  assert.equal(r.run.status, 0, explainRun(r.run));
  assert.deepEqual(await listKeys(rgw.s3, BUCKET, 'readonly/'), [], r.run.stderr);
});

test(
  'a corrupt blob, a hostile record and a record with another diff_id are refused with a warning, the layers built from the .debs, the same digests, the entries repaired',
  { skip: enabled ? false : 'Ceph is missing, or not root' },
  async () => {
    const keys = await listKeys(rgw.s3, BUCKET, ROOT);
    const records = keys.filter((k) => k.startsWith(`${ROOT}records/`));
    const entries = await Promise.all(records.map(async (k) => ({ key: k, text: await getText(k) })));
    const parsed = entries.map((e) => ({
      ...e,
      entry: JSON.parse(e.text) as { key: string; record: { digest: string; diffId: string; control: string } },
    }));
    const [victim, donor, broken, mislabeled] = parsed.filter((e) => typeof e.entry.record.control === 'string');
    assert.ok(victim !== undefined && donor !== undefined && broken !== undefined && mislabeled !== undefined);
    assert.equal(new Set([victim, donor, broken, mislabeled].map((e) => e.entry.record.digest)).size, 4);
    // hostile: the victim's key over another package's record (a valid layer, the wrong package)
    await rgw.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: victim.key,
        Body: JSON.stringify({ key: victim.entry.key, record: donor.entry.record }),
      }),
    );
    // mislabeled: the right package and blob, another layer's diff_id (the blob is checked as it streams in)
    await rgw.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: mislabeled.key,
        Body: JSON.stringify({ key: mislabeled.entry.key, record: { ...mislabeled.entry.record, diffId: donor.entry.record.diffId } }),
      }),
    );
    // corrupt: a third entry's layer blob flipped
    const blobKey = `${ROOT}blobs/sha256/${broken.entry.record.digest.slice('sha256:'.length)}`;
    const blob = Buffer.from(
      await (await rgw.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: blobKey }))).Body!.transformToByteArray(),
    );
    blob[blob.length >> 1]! ^= 0xff;
    await rgw.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: blobKey, Body: blob }));

    const c = await runner(['--remote-cache', cacheUrl]);
    assert.equal(c.run.status, 0, explainRun(c.run));
    assert.deepEqual(digests(c.json), first);
    assert.match(
      c.run.stderr,
      new RegExp(
        `warning: remote cache: .*${victim.key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.* refused \\(its control stanza is not that of`,
      ),
    );
    assert.match(c.run.stderr, /warning: remote cache: .* refused \(.*(SHA256|digest|hash)/i);
    assert.match(c.run.stderr, /warning: remote cache: .* refused \(its layer's uncompressed bytes hash to sha256:\w+, not to the diff_id/);
    assert.equal(await getText(mislabeled.key), mislabeled.text, 'the mislabeled record was not replaced by the good one');
    assert.equal(await getText(victim.key), victim.text, 'the hostile record was not replaced by the good one');
    const repaired = Buffer.from(
      await (await rgw.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: blobKey }))).Body!.transformToByteArray(),
    );
    blob[blob.length >> 1]! ^= 0xff;
    assert.ok(repaired.equals(blob), 'the corrupt blob was not replaced');
  },
);

test(
  'a runner with an empty cache and an unreachable mirror builds from the remote cache alone: same digests, no .deb',
  { skip: enabled ? false : 'Ceph is missing, or not root' },
  async () => {
    await server.close();
    const d = await runner(['--remote-cache', cacheUrl, '--remote-cache-mode', 'read']);
    assert.equal(d.run.status, 0, explainRun(d.run));
    assert.deepEqual(digests(d.json), first);
    assert.deepEqual(await debsIn(d.cache, lock), []);
    assert.doesNotMatch(d.run.stderr, /warning/);
    const report = d.json?.remoteCache;
    assert.ok(report !== undefined && report.hits > 0 && report.blobBytes > 0, `--json remoteCache: ${JSON.stringify(report)}`);
    assert.deepEqual([report.misses, report.refused, report.lazy, report.written], [0, 0, 0, 0]);
    const without = await runner();
    assert.notEqual(without.run.status, 0, 'without the remote cache the build needs the mirror');
  },
);
