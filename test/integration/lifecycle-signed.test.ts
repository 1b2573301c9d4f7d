import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import type { RgwServer } from '../helpers/ceph-rgw.js';
import { buildFixtureLayout, type FixtureLayout } from '../helpers/fixture-layout.js';
import { startFaultProxy, type SeenRequest } from '../helpers/fault-proxy.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { listKeys, rgwTestsEnabled } from '../helpers/rgw-client.js';
import { explainRun, runAlba, type AlbaRun } from '../helpers/run-alba.js';
import { requireTool } from '../helpers/tools.js';
import { trixieTools, type TrixieTools } from '../helpers/trixie-tools.js';
import { startWebsiteBucket } from '../helpers/website-bucket.js';
import type { WebsiteFront } from '../helpers/website-front.js';

// Signatures follow their image through `alba container rm|gc`, on a distribution registry and on
// an S3 static registry (Ceph RGW, read by cosign through its website behind nginx). Two signed
// images: A (amd64 + arm64) tagged a1 and a2, B (the same build, amd64 alone: its platform
// manifest is A's) tagged b1, pushed last. rm a1: A is still named by a2, so every signature stays
// and cosign still verifies A. gc --keep 1 then removes a2: A's signatures and attestations go,
// except those of the amd64 manifest B's index keeps; cosign still verifies B.

const PASSWORD = 'a lifecycle passphrase';
const BUCKET = 'signed-life';
const REPO = 'sig/app';
const COSIGN_TAG = /^sha256-([a-f0-9]{64})\.(sig|att|sbom)$/;
const tools = trixieTools();
const { cosign } = typeof tools === 'string' ? ({} as TrixieTools) : tools;
const registryNeeds =
  typeof tools === 'string' ? { skip: tools } : requireTool('docker-registry') ? {} : { skip: 'docker-registry is not installed' };
const rgwOn = typeof tools !== 'string' && rgwTestsEnabled(['nginx']);
const s3Needs = typeof tools === 'string' ? { skip: tools } : rgwOn ? {} : { skip: 'Ceph RGW tests are not enabled here' };

const work = await mkdtemp(join(tmpdir(), 'alba-lifecycle-signed-'));
const key = join(work, 'cosign.key');
const pub = join(work, 'cosign.pub');
const cache = join(work, 'push-cache');
const env = { ALBA_SIGN_PASSWORD: PASSWORD, DOCKER_CONFIG: join(work, 'no-docker') };
let fixture: FixtureLayout;
/** The two images: their layout, index digest and platform digests. */
const images: Record<'a' | 'b', { layout: string; index: string; platforms: string[] }> = {
  a: { layout: '', index: '', platforms: [] },
  b: { layout: '', index: '', platforms: [] },
};

before(async () => {
  if (typeof tools === 'string') return;
  fixture = await buildFixtureLayout(work, 'app');
  images.a.layout = fixture.layout;
  images.b.layout = join(work, 'out-b');
  const b = await runAlba(['build', fixture.recipe, '--cache', fixture.cache, '--out', images.b.layout, '--arch', 'amd64']);
  assert.equal(b.status, 0, explainRun(b));
  for (const image of Object.values(images)) {
    const layoutIndex = JSON.parse(await readFile(join(image.layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    image.index = layoutIndex.manifests[0]!.digest;
    const root = JSON.parse(await readFile(join(image.layout, 'blobs', 'sha256', image.index.slice(7)), 'utf8')) as {
      manifests: { digest: string }[];
    };
    image.platforms = root.manifests.map((m) => m.digest);
  }
  assert.notEqual(images.a.index, images.b.index, 'two images');
  assert.ok(
    images.b.platforms.length === 1 && images.a.platforms.includes(images.b.platforms[0]!),
    'B (amd64 alone) shares its platform manifest with A',
  );
  const gen = spawnSync(cosign, ['generate-key-pair', '--output-key-prefix', join(work, 'cosign')], {
    encoding: 'utf8',
    env: { ...process.env, COSIGN_PASSWORD: PASSWORD },
    cwd: work,
  });
  assert.equal(gen.status, 0, gen.stderr);
});
after(async () => {
  await fixture?.close();
  await rm(work, { recursive: true, force: true });
});

/** How the scenario reaches one destination. */
interface Destination {
  /** alba's target (`docker://HOST`, `s3://…`). */
  target: string;
  /** The host cosign reads from. */
  cosignHost: string;
  /** Extra push options (the signing identity). */
  pushOptions: string[];
  /** Extra removal options (S3: --grace 0, the images were just pushed). */
  removeOptions: string[];
  /** Extra environment (S3 keys). */
  env: Record<string, string>;
  /** The cosign tags of REPO held now, with their subjects. */
  cosignTags(): Promise<Map<string, string>>;
}

const subjectsOf = (image: { index: string; platforms: string[] }): string[] => [image.index, ...image.platforms];

async function push(dest: Destination, image: 'a' | 'b', tags: string[]): Promise<void> {
  const res = await pushRun(dest, image, tags);
  assert.equal(res.status, 0, explainRun(res));
}

/** A signed push of `image` as `repo:tag…` (a run, unchecked). */
function pushRun(dest: Destination, image: 'a' | 'b', tags: string[], repo = REPO): Promise<AlbaRun> {
  return runAlba(
    [
      'container',
      'push',
      '--cache',
      cache,
      '--sign-key',
      key,
      ...dest.pushOptions,
      ...tags.flatMap((t) => ['-t', `${repo}:${t}`]),
      images[image].layout,
      dest.target,
    ],
    { env: { ...env, ...dest.env } },
  );
}

function alba(dest: Destination, args: string[]): Promise<AlbaRun> {
  return runAlba([...args, ...dest.removeOptions, dest.target], { env: { ...env, ...dest.env } });
}

function cosignVerify(dest: Destination, digest: string, repo = REPO): { status: number | null; stderr: string } {
  return spawnSync(
    cosign,
    ['verify', '--key', pub, '--insecure-ignore-tlog', '--allow-http-registry', `${dest.cosignHost}/${repo}@${digest}`],
    {
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
}

/** A dry run and the real run of `args`: both `--json`, the same plan; returns it. */
async function dryThenReal(
  dest: Destination,
  args: string[],
): Promise<{ attachments: { tag: string; subject: string }[]; objects: unknown[] }> {
  const dry = await alba(dest, [...args, '--dry-run', '--json']);
  assert.equal(dry.status, 0, explainRun(dry));
  const real = await alba(dest, [...args, '--json']);
  assert.equal(real.status, 0, explainRun(real));
  const [d, r] = [JSON.parse(dry.stdout) as Record<string, unknown>, JSON.parse(real.stdout) as Record<string, unknown>];
  assert.equal(d.dryRun, true);
  assert.deepEqual({ ...d, dryRun: false }, r, 'dry run = real run');
  return r as { attachments: { tag: string; subject: string }[]; objects: unknown[] };
}

/** The scenario, on one destination. */
function scenario(dest: () => Destination): void {
  let before: Map<string, string>;

  test('a signed push: every index and platform of both images has its cosign signature', async () => {
    await push(dest(), 'a', ['a1', 'a2']);
    // B is pushed last: in a later second, as an S3 push time is its tag object's Last-Modified,
    // to the second (two tags of one second are ordered by name: docs/lifecycle.md)
    await new Promise((resolve) => setTimeout(resolve, 1050 - (Date.now() % 1000)));
    await push(dest(), 'b', ['b1']);
    before = await dest().cosignTags();
    for (const s of [...subjectsOf(images.a), ...subjectsOf(images.b)]) {
      assert.ok(
        [...before].some(([t, subject]) => subject === s && t.endsWith('.sig')),
        `a signature of ${s}`,
      );
    }
    assert.ok(
      [...before.keys()].some((t) => t.endsWith('.att')),
      'attestations too',
    );
    const ls = await runAlba(['container', 'ls', '-t', REPO, '--class', 'all', '--json', dest().target], {
      env: { ...env, ...dest().env },
    });
    assert.equal(ls.status, 0, explainRun(ls));
    const listed = (JSON.parse(ls.stdout) as { tag: string }[]).map((e) => e.tag).sort();
    assert.deepEqual(listed, ['a1', 'a2', 'b1'], 'cosign tags are not listed as tags');
  });

  test('rm of a tag whose digest another tag still names: every signature and attestation stays; cosign verifies that image', async () => {
    const plan = await dryThenReal(dest(), ['container', 'rm', '--untag', '-t', `${REPO}:a1`]);
    for (const s of subjectsOf(images.a)) {
      const r = cosignVerify(dest(), s);
      assert.equal(r.status, 0, `cosign verify ${s} after rm a1: ${r.stderr}`);
    }
    assert.deepEqual(await dest().cosignTags(), before);
    assert.deepEqual(plan.attachments, []);
  });

  test('gc removing the last tag of an image: its signatures go, the kept image keeps its own (also of digests it shares); cosign verifies it', async () => {
    const plan = await dryThenReal(dest(), ['container', 'gc', '-t', REPO, '--keep', '1']);
    const kept = new Set(subjectsOf(images.b));
    const expectedGone = [...before].filter(([, s]) => !kept.has(s)).map(([t]) => t);
    assert.ok(expectedGone.length > 0, 'A has signatures of its own');
    assert.ok(
      [...before].some(([t, s]) => s === images.b.platforms[0] && t.endsWith('.sig')),
      'the shared amd64 manifest is signed (its signature must stay)',
    );
    assert.deepEqual(plan.attachments.map((a) => a.tag).sort(), expectedGone.sort(), '--json lists the cosign tags that go');
    const after = await dest().cosignTags();
    assert.deepEqual(
      [...after.keys()].sort(),
      [...before]
        .filter(([, s]) => kept.has(s))
        .map(([t]) => t)
        .sort(),
    );
    for (const s of subjectsOf(images.b)) {
      const r = cosignVerify(dest(), s);
      assert.equal(r.status, 0, `cosign verify ${s} after gc: ${r.stderr}`);
    }
    assert.notEqual(cosignVerify(dest(), images.a.index).status, 0, 'A is gone');
  });

  test('removing the kept image too: no cosign tag is left', async () => {
    await dryThenReal(dest(), ['container', 'rm', '-t', `${REPO}:b1`]);
    assert.deepEqual([...(await dest().cosignTags()).keys()], []);
  });
}

function cosignTagsOf(tags: readonly string[]): Map<string, string> {
  return new Map(
    tags.flatMap((t) => {
      const m = COSIGN_TAG.exec(t);
      return m === null ? [] : [[t, `sha256:${m[1]}`] as [string, string]];
    }),
  );
}

describe('signatures through rm and gc on a distribution registry', registryNeeds, () => {
  let registry: RegistryServer;
  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    await registry?.close();
  });
  const dest = (): Destination => ({
    target: `docker://${registry.host}`,
    cosignHost: registry.host,
    pushOptions: [],
    removeOptions: [],
    env: {},
    cosignTags: async () => {
      const res = await fetch(`http://${registry.host}/v2/${REPO}/tags/list`);
      if (res.status === 404) return new Map();
      return cosignTagsOf(((await res.json()) as { tags: string[] | null }).tags ?? []);
    },
  });
  scenario(dest);

  test('a signed push that re-tags an image a slow gc is deleting (signatures included) reports success only once its signatures are back', async () => {
    const race = 'sig/race';
    const first = await pushRun(dest(), 'a', ['r1'], race);
    assert.equal(first.status, 0, explainRun(first));
    const proxy = await startFaultProxy(registry.url);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const indexDelete = (r: SeenRequest): boolean => r.method === 'DELETE' && r.path.endsWith(`/manifests/${images.a.index}`);
    proxy.fault = (r) => (indexDelete(r) ? { hold: held } : undefined);
    try {
      // the gc's plan (the image and its .sig/.att) is made and checked against the tags; its first delete is held
      const gcRun = alba({ ...dest(), target: `docker://${proxy.host}` }, ['container', 'gc', '-t', race, '--keep-dev', '0']);
      for (let i = 0; i < 600 && !proxy.requests.some(indexDelete); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(proxy.requests.some(indexDelete), 'the gc sent the delete of the index');
      const pushRace = pushRun(dest(), 'a', ['r2'], race);
      const tagged = async (): Promise<boolean> =>
        (
          await fetch(`http://${registry.host}/v2/${race}/manifests/r2`, {
            method: 'HEAD',
            headers: { accept: 'application/vnd.oci.image.index.v1+json' },
          })
        ).status === 200;
      for (let i = 0; i < 600 && !(await tagged()); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(await tagged(), 'the push wrote its tag while the gc held its delete');
      release();
      const [gc, pu] = await Promise.all([gcRun, pushRace]);
      assert.equal(gc.status, 0, explainRun(gc));
      assert.equal(pu.status, 0, explainRun(pu));
      assert.match(gc.stdout, /delete sha256:\S+ \(\d+ bytes, the cosign tag sha256-\S+\.sig of /, 'the gc deleted signatures');
      assert.match(pu.stderr, /a removal is running/);
      for (const s of subjectsOf(images.a)) {
        const r = cosignVerify(dest(), s, race);
        assert.equal(r.status, 0, `cosign verify ${s} after the push reported success: ${r.stderr}\n${explainRun(gc)}\n${explainRun(pu)}`);
      }
    } finally {
      release();
      await proxy.close();
    }
  });
});

describe('signatures through rm and gc on an S3 static registry', s3Needs, () => {
  let rgw: RgwServer;
  let front: WebsiteFront;
  let s3: S3Client;
  let target: string;
  let s3env: Record<string, string>;
  before(async () => {
    ({ rgw, env: s3env, s3, target, front } = await startWebsiteBucket(work, BUCKET));
  });
  after(async () => {
    await front?.close();
    await rgw?.close();
  });
  scenario(() => ({
    target,
    cosignHost: front.host,
    pushOptions: ['--sign-identity', `${front.host}/${REPO}`],
    removeOptions: ['--grace', '0'],
    env: s3env,
    cosignTags: async () => {
      const prefix = `v2/${REPO}/manifests/`;
      return cosignTagsOf((await listKeys(s3, BUCKET, prefix)).map((k) => k.slice(prefix.length)));
    },
  }));
});
