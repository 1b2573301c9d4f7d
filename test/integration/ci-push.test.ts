import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildFixtureLayout, type FixtureLayout } from '../helpers/fixture-layout.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { type AlbaRun, explainRun, runAlba } from '../helpers/run-alba.js';
import { requireTool } from '../helpers/tools.js';

// A Kaniko job's needs against distribution 2.8 with basic auth: credentials from GitLab's and
// GitHub's variables and DOCKER_AUTH_CONFIG with no other credentials anywhere, the digest files
// for the next job, several targets in one run (one failing), credentials in a target refused.

const USER = { username: 'gitlab-ci-token', password: 'job-t0ken-secret' };
const haveTools = requireTool('docker-registry') && requireTool('htpasswd');

const work = await mkdtemp(join(tmpdir(), 'alba-ci-push-'));
let fixture: FixtureLayout;
let registry: RegistryServer;
let open: RegistryServer;

/** No credentials anywhere but what `env` adds: an empty HOME, DOCKER_CONFIG and XDG_RUNTIME_DIR, none of the CI variables of the machine running the tests. */
function bare(env: Record<string, string>): Record<string, string> {
  const none = join(work, 'nothing');
  const cleared = [
    'ALBA_REGISTRY_USER',
    'ALBA_REGISTRY_PASSWORD',
    'ALBA_REGISTRY_AUTH',
    'ALBA_REGISTRY_HOST',
    'DOCKER_AUTH_CONFIG',
    'CI_REGISTRY',
    'CI_REGISTRY_USER',
  ];
  const more = ['CI_REGISTRY_PASSWORD', 'CI_JOB_TOKEN', 'GITHUB_TOKEN', 'GITHUB_ACTOR', 'REGISTRY_AUTH_FILE', 'HTTP_PROXY', 'HTTPS_PROXY'];
  return {
    ...Object.fromEntries([...cleared, ...more, 'http_proxy', 'https_proxy'].map((k) => [k, ''])),
    HOME: none,
    DOCKER_CONFIG: none,
    XDG_RUNTIME_DIR: none,
    ...env,
  };
}

function push(args: string[], env: Record<string, string>): Promise<AlbaRun> {
  return runAlba(['container', 'push', '--cache', join(work, 'push-cache'), ...args], { env: bare(env) });
}

/** The registry's own digest of REPO:TAG (Docker-Content-Digest of a HEAD, with the test's credentials). */
async function registryDigest(server: RegistryServer, repo: string, tag: string): Promise<string | null> {
  const res = await fetch(`${server.url}/v2/${repo}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      accept: 'application/vnd.oci.image.index.v1+json',
      authorization: `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`,
    },
  });
  return res.headers.get('docker-content-digest');
}

before(async () => {
  if (!haveTools) return;
  fixture = await buildFixtureLayout(work, 'ci');
  registry = await startRegistry({ auth: USER });
  open = await startRegistry();
  await mkdir(join(work, 'nothing'), { recursive: true });
});
after(async () => {
  await registry?.close();
  await open?.close();
  await fixture?.close();
  await rm(work, { recursive: true, force: true });
});

describe('credentials from where CI puts them', { skip: haveTools ? false : 'docker-registry or htpasswd is missing' }, () => {
  test('GitLab: CI_REGISTRY_USER/CI_REGISTRY_PASSWORD for the CI_REGISTRY host, the source named, the secret never', async () => {
    const res = await push(['-t', 'gl/app:1', '--json', fixture.layout, `docker://${registry.host}`], {
      CI_REGISTRY: registry.host,
      CI_REGISTRY_USER: USER.username,
      CI_REGISTRY_PASSWORD: USER.password,
    });
    assert.equal(res.status, 0, explainRun(res));
    assert.match(res.stderr, new RegExp(`credentials for ${registry.host}: CI_REGISTRY_USER/CI_REGISTRY_PASSWORD`));
    assert.equal(JSON.parse(res.stdout).credentials, 'CI_REGISTRY_USER/CI_REGISTRY_PASSWORD');
    assert.doesNotMatch(`${res.stdout}${res.stderr}`, /t0ken-secret/);
  });

  test('GitLab: CI_JOB_TOKEN as gitlab-ci-token', async () => {
    const res = await push(['-t', 'gl/job:1', fixture.layout, `docker://${registry.host}`], {
      CI_REGISTRY: registry.host,
      CI_JOB_TOKEN: USER.password,
    });
    assert.equal(res.status, 0, explainRun(res));
    assert.match(res.stderr, /: CI_JOB_TOKEN\n/);
  });

  test('the CI variables go to the CI_REGISTRY host only', async () => {
    const res = await push(['-t', 'gl/other:1', fixture.layout, `docker://${registry.host}`], {
      CI_REGISTRY: 'registry.gitlab.example',
      CI_REGISTRY_USER: USER.username,
      CI_REGISTRY_PASSWORD: USER.password,
    });
    assert.equal(res.status, 1, explainRun(res));
    assert.match(res.stderr, new RegExp(`credentials for ${registry.host}: none`));
    assert.match(res.stderr, /401/);
  });

  test("DOCKER_AUTH_CONFIG: a docker config as JSON, GitLab's documented way", async () => {
    const auth = Buffer.from(`${USER.username}:${USER.password}`).toString('base64');
    const res = await push(['-t', 'gl/dac:1', fixture.layout, `docker://${registry.host}`], {
      DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { [registry.host]: { auth } } }),
    });
    assert.equal(res.status, 0, explainRun(res));
    assert.match(res.stderr, /: DOCKER_AUTH_CONFIG\n/);
  });

  test('credentials in a target URL are refused, without echoing them', async () => {
    const res = await push(['-t', 'x:1', fixture.layout, `docker://${USER.username}:${USER.password}@${registry.host}/x`], {});
    assert.equal(res.status, 2, explainRun(res));
    assert.match(res.stderr, /error\[USAGE\].*credentials in a target URL are refused/);
    assert.doesNotMatch(`${res.stdout}${res.stderr}`, /t0ken-secret/);
  });
});

describe('outputs for the next job, several destinations', { skip: haveTools ? false : 'docker-registry or htpasswd is missing' }, () => {
  const creds = { ALBA_REGISTRY_USER: USER.username, ALBA_REGISTRY_PASSWORD: USER.password };

  test("two targets in one run; the digest files equal the registry's digest", async () => {
    const files = join(work, 'out-two');
    const res = await push(
      [
        '-t',
        'two/app:1',
        '--digest-file',
        join(files, 'digest'),
        '--image-name-with-digest-file',
        join(files, 'names'),
        '--metadata-file',
        join(files, 'meta.json'),
        fixture.layout,
        `docker://${registry.host}`,
        `docker://${open.host}`,
      ],
      creds,
    );
    assert.equal(res.status, 0, explainRun(res));
    const digest = (await readFile(join(files, 'digest'), 'utf8')).trim();
    assert.equal(digest, await registryDigest(registry, 'two/app', '1'));
    assert.equal(digest, await registryDigest(open, 'two/app', '1'));
    assert.equal(await readFile(join(files, 'names'), 'utf8'), `${registry.host}/two/app@${digest}\n${open.host}/two/app@${digest}\n`);
    const meta = JSON.parse(await readFile(join(files, 'meta.json'), 'utf8'));
    assert.equal(meta.digest, digest);
    assert.deepEqual(
      meta.targets.map((t: { name: string; tags: string[] }) => [t.name, t.tags]),
      [
        [`${registry.host}/two/app`, ['1']],
        [`${open.host}/two/app`, ['1']],
      ],
    );
    assert.deepEqual(meta.platforms.map((p: { platform: string }) => p.platform).sort(), ['linux/amd64', 'linux/arm64/v8']);
    assert.deepEqual(res.stdout.trim().split('\n'), [`${registry.host}/two/app@${digest}`, `${open.host}/two/app@${digest}`]);
  });

  test("a job pushing to its GitLab registry and to another with ALBA_REGISTRY_*: each gets its own, the other's password never", async () => {
    // the open registry stands for Docker Hub: ALBA_REGISTRY_* are for it, the job's variables for CI_REGISTRY
    const res = await push(['-t', 'both/app:1', '--json', fixture.layout, `docker://${registry.host}`, `docker://${open.host}`], {
      CI_REGISTRY: registry.host,
      CI_REGISTRY_USER: USER.username,
      CI_REGISTRY_PASSWORD: USER.password,
      ALBA_REGISTRY_USER: 'hub-user',
      ALBA_REGISTRY_PASSWORD: 'hub-secret',
    });
    assert.equal(res.status, 0, explainRun(res));
    assert.deepEqual(
      (JSON.parse(res.stdout) as { targets: { target: string; credentials: string }[] }).targets.map((o) => [o.target, o.credentials]),
      [
        [`${registry.host}/both/app`, 'CI_REGISTRY_USER/CI_REGISTRY_PASSWORD'],
        [`${open.host}/both/app`, 'ALBA_REGISTRY_USER/ALBA_REGISTRY_PASSWORD'],
      ],
    );
    assert.doesNotMatch(`${res.stdout}${res.stderr}`, /hub-secret/);
  });

  test('one failing target is reported while the other completes; exit 1; no output file', async () => {
    const files = join(work, 'out-fail');
    const res = await push(
      ['-t', 'half/app:1', '--digest-file', join(files, 'digest'), fixture.layout, `docker://${registry.host}`, `docker://${open.host}`],
      {}, // no credentials: the auth registry refuses, the open one accepts
    );
    assert.equal(res.status, 1, explainRun(res));
    assert.match(res.stderr, new RegExp(`✅ docker://${open.host}: pushed ${open.host}/half/app@sha256:`));
    assert.match(res.stderr, new RegExp(`❌ docker://${registry.host}: .*401`));
    assert.match(res.stderr, /1 of 2 targets pushed/);
    assert.notEqual(await registryDigest(open, 'half/app', '1'), null, 'the good target completed');
    await assert.rejects(stat(join(files, 'digest')), 'no digest file after a failure');
  });

  test('a single-value option given twice is USAGE, never last-one-wins', async () => {
    for (const args of [
      ['container', 'push', '-t', 'a:1', '--ref', 'x', '--ref', 'y', fixture.layout, `docker://${open.host}`],
      ['container', 'push', '-t', 'a:1', '--digest-file', 'a', '--digest-file=b', fixture.layout, `docker://${open.host}`],
      ['build', fixture.recipe, '--out', 'a', '--out', 'b'],
      ['lock', fixture.recipe, '--cache', 'a', '--cache', 'b'],
    ]) {
      const res = await runAlba(args);
      assert.equal(res.status, 2, explainRun(res));
      assert.match(res.stderr, /error\[USAGE\].*takes one value and was given twice/);
    }
    const noPush = await runAlba(['build', fixture.recipe, '--digest-file', join(work, 'never')]);
    assert.equal(noPush.status, 2, explainRun(noPush));
    assert.match(noPush.stderr, /--digest-file is written after a push, and there is no --push/);
  });
});
