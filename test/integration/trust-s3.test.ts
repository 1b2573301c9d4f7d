import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, PutBucketPolicyCommand, PutBucketWebsiteCommand, type S3Client } from '@aws-sdk/client-s3';
import type { RgwServer } from '../helpers/ceph-rgw.js';
import { buildFixtureLayout, type FixtureLayout } from '../helpers/fixture-layout.js';
import { rgwTestsEnabled, startRgwBucket } from '../helpers/rgw-client.js';
import { explainRun, runAlba } from '../helpers/run-alba.js';
import { sigstorePull, trixieTools, type TrixieTools } from '../helpers/trixie-tools.js';
import { startWebsiteFront, type WebsiteFront } from '../helpers/website-front.js';

// Signatures and attestations on an S3 static registry (Ceph RGW), written by the same publish walk
// as for a registry, read by cosign 2.5 and `alba verify` through the bucket's website behind nginx.

const BUCKET = 'signed';
const PASSWORD = 'an s3 passphrase';
const enabled = rgwTestsEnabled(['nginx']);
const tools = enabled ? trixieTools() : 'Ceph RGW tests are not enabled here';
const needs = typeof tools === 'string' ? { skip: tools } : {};
const { cosign, skopeo } = typeof tools === 'string' ? ({} as TrixieTools) : tools;

const work = await mkdtemp(join(tmpdir(), 'alba-trust-s3-'));
let fixture: FixtureLayout;
let rgw: RgwServer;
let front: WebsiteFront;
let s3: S3Client;
let env: Record<string, string>;
let target: string;
let index: string;
let platforms: string[];
const key = join(work, 'cosign.key');
const pub = join(work, 'cosign.pub');
const other = join(work, 'other.pem');
const otherPub = join(work, 'other.pub');

before(async () => {
  if (typeof tools === 'string') return;
  fixture = await buildFixtureLayout(work, 'fixture');
  ({ rgw, env, s3, target } = await startRgwBucket(work, BUCKET));
  await s3.send(new PutBucketWebsiteCommand({ Bucket: BUCKET, WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }));
  const policy = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${BUCKET}/*`] }],
  };
  await s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify(policy) }));
  front = await startWebsiteFront(rgw.url, rgw.websiteHost(BUCKET));
  run(cosign, ['generate-key-pair', '--output-key-prefix', join(work, 'cosign')]);
  run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', other]);
  run('openssl', ['pkey', '-in', other, '-pubout', '-out', otherPub]);
  await push(key);
  const layoutIndex = JSON.parse(await readFile(join(fixture.layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; mediaType: string }[];
  };
  index = layoutIndex.manifests.find((m) => m.mediaType.endsWith('index.v1+json'))!.digest;
  const rootIndex = JSON.parse(await readFile(join(fixture.layout, 'blobs', 'sha256', index.slice(7)), 'utf8')) as {
    manifests: { digest: string }[];
  };
  platforms = rootIndex.manifests.map((m) => m.digest);
});
after(async () => {
  await front?.close();
  await rgw?.close();
  await fixture?.close();
  await rm(work, { recursive: true, force: true });
});

function run(file: string, args: string[]): string {
  const r = spawnSync(file, args, { encoding: 'utf8', env: { ...process.env, COSIGN_PASSWORD: PASSWORD }, cwd: work, timeout: 120_000 });
  assert.equal(r.status, 0, `${file} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function push(signKey: string): Promise<void> {
  const res = await runAlba(
    [
      'container',
      'push',
      '--cache',
      fixture.cache,
      '--sign-key',
      signKey,
      '--sign-identity',
      `${front.host}/fixture/app`,
      '-t',
      'fixture/app:1.0',
      '--ref',
      'fixture',
      fixture.layout,
      target,
    ],
    {
      env: { ...env, ALBA_SIGN_PASSWORD: PASSWORD, DOCKER_CONFIG: join(work, 'no-docker') },
    },
  );
  assert.equal(res.status, 0, explainRun(res));
}

const cosignVerify = (digest: string, publicKey = pub, ...extra: string[]) =>
  spawnSync(
    cosign,
    [...extra, '--key', publicKey, '--insecure-ignore-tlog', '--allow-http-registry', `${front.host}/fixture/app@${digest}`],
    { encoding: 'utf8', timeout: 120_000 },
  );

async function objectJson(key: string): Promise<{ layers?: unknown[]; tags?: string[] }> {
  const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return JSON.parse(await res.Body!.transformToString()) as { layers?: unknown[]; tags?: string[] };
}

describe('signing on an S3 static registry', needs, () => {
  test('cosign verify --allow-http-registry through the website passes for the index and each platform, fails with another key', () => {
    for (const digest of [index, ...platforms]) {
      const r = cosignVerify(digest, pub, 'verify');
      assert.equal(r.status, 0, `cosign verify ${digest}: ${r.stderr}`);
    }
    assert.notEqual(cosignVerify(index, otherPub, 'verify').status, 0);
  });

  test('cosign verify-attestation finds the SPDX and CycloneDX attestations of a platform through the website', () => {
    for (const type of ['spdxjson', 'cyclonedx']) {
      const r = cosignVerify(platforms[0]!, pub, 'verify-attestation', '--type', type);
      assert.equal(r.status, 0, `cosign verify-attestation --type ${type}: ${r.stderr}`);
    }
  });

  test('alba verify reads them through the website; a second signer appends; signature tags stay out of tags/list', async () => {
    const r = await runAlba(['verify', `${front.host}/fixture/app:1.0`, '--key', pub]);
    assert.equal(r.status, 0, explainRun(r));
    await push(other);
    const sig = await objectJson(`v2/fixture/app/manifests/sha256-${index.slice(7)}.sig`);
    assert.equal(sig.layers?.length, 2);
    for (const p of [pub, otherPub]) assert.equal(cosignVerify(index, p, 'verify').status, 0, `cosign verify with ${p}`);
    assert.deepEqual((await objectJson('v2/fixture/app/tags/list')).tags, ['1.0']);
    // repair rebuilds tags/list from the tag objects: the .sig/.att objects are not image tags
    const repair = await runAlba(['container', 'repair', '-t', 'fixture/app', target], {
      env: { ...env, DOCKER_CONFIG: join(work, 'no-docker') },
    });
    assert.equal(repair.status, 0, explainRun(repair));
    assert.deepEqual((await objectJson('v2/fixture/app/tags/list')).tags, ['1.0']);
    assert.equal(cosignVerify(index, pub, 'verify').status, 0, 'the signatures survive a repair');
  });

  test('skopeo 1.18 pulls a platform through the website under a sigstoreSigned policy (--sign-identity names the website host)', async () => {
    const copy = (keyPath: string) => sigstorePull(skopeo, work, `${front.host}/fixture/app@${platforms[0]}`, keyPath);
    const signed = await copy(pub);
    assert.equal(signed.status, 0, signed.stderr);
    const stranger = join(work, 'stranger.pub');
    run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(work, 'stranger.pem')]);
    run('openssl', ['pkey', '-in', join(work, 'stranger.pem'), '-pubout', '-out', stranger]);
    assert.notEqual((await copy(stranger)).status, 0, 'skopeo accepted signatures of a key the policy does not name');
  });
});
