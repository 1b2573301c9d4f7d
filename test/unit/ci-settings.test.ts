import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ciAnnotations } from '../../src/ci/annotations.js';
import { isAlbaError } from '../../src/errors.js';
import { bypassed, parseProxy, proxyFor } from '../../src/http/proxy.js';
import { locateCredentials } from '../../src/sink/registry/credentials.js';
import { parseS3Target } from '../../src/sink/s3/s3-target.js';
import { parseTarget } from '../../src/sink/target.js';

const dir = await mkdtemp(join(tmpdir(), 'alba-ci-unit-'));
after(() => rm(dir, { recursive: true, force: true }));
const none = { HOME: join(dir, 'nohome'), DOCKER_CONFIG: join(dir, 'none') };
const gitlab = {
  CI_REGISTRY: 'registry.gitlab.example:5050',
  CI_REGISTRY_USER: 'gl-user',
  CI_REGISTRY_PASSWORD: 'gl-pw',
  CI_JOB_TOKEN: 'job',
};

describe('the credentials chain', () => {
  test('order: --creds, ALBA_REGISTRY_* for ALBA_REGISTRY_HOST, DOCKER_AUTH_CONFIG, GitLab, GitHub, other ALBA_REGISTRY_*, files', async () => {
    const dac = JSON.stringify({ auths: { 'registry.gitlab.example:5050': { username: 'd', password: 'p' } } });
    const host = 'registry.gitlab.example:5050';
    const env = { ...none, ...gitlab, DOCKER_AUTH_CONFIG: dac, ALBA_REGISTRY_AUTH: 'a:b', ALBA_REGISTRY_HOST: `https://${host}` };
    assert.equal((await locateCredentials(host, { flag: 'f:g', env })).source, '--creds');
    assert.equal((await locateCredentials(host, { env })).source, 'ALBA_REGISTRY_AUTH');
    assert.equal((await locateCredentials(host, { env: { ...env, ALBA_REGISTRY_HOST: 'other.example' } })).source, 'DOCKER_AUTH_CONFIG');
    assert.equal((await locateCredentials(host, { env: { ...env, ALBA_REGISTRY_HOST: '' } })).source, 'DOCKER_AUTH_CONFIG');
    assert.equal((await locateCredentials(host, { env: { ...env, ALBA_REGISTRY_AUTH: '' } })).source, 'DOCKER_AUTH_CONFIG');
    const ci = await locateCredentials(host, { env: { ...none, ...gitlab } });
    assert.deepEqual(ci, { credentials: { username: 'gl-user', password: 'gl-pw' }, source: 'CI_REGISTRY_USER/CI_REGISTRY_PASSWORD' });
    const job = await locateCredentials(host, { env: { ...none, CI_REGISTRY: host, CI_JOB_TOKEN: 'job' } });
    assert.deepEqual(job, { credentials: { username: 'gitlab-ci-token', password: 'job' }, source: 'CI_JOB_TOKEN' });
  });

  test("ALBA_REGISTRY_* without ALBA_REGISTRY_HOST never reach the CI's own registry, nor ghcr.io with GITHUB_TOKEN", async () => {
    const alba = { ALBA_REGISTRY_USER: 'hub-user', ALBA_REGISTRY_PASSWORD: 'hub-secret' };
    const atGitlab = await locateCredentials('registry.gitlab.example:5050', { env: { ...none, ...gitlab, ...alba } });
    assert.equal(atGitlab.source, 'CI_REGISTRY_USER/CI_REGISTRY_PASSWORD');
    const atGhcr = await locateCredentials('ghcr.io', { env: { ...none, ...alba, GITHUB_TOKEN: 'ghs_x' } });
    assert.equal(atGhcr.source, 'GITHUB_TOKEN');
    const elsewhere = await locateCredentials('docker.io', { env: { ...none, ...gitlab, ...alba } });
    assert.deepEqual(elsewhere.credentials, { username: 'hub-user', password: 'hub-secret' });
    const bound = await locateCredentials('docker.io', { env: { ...none, ...alba, ALBA_REGISTRY_HOST: 'quay.io' } });
    assert.deepEqual(bound, { source: 'none' }, 'bound to another host: not sent here');
  });

  test("Docker Hub's names are one registry; a malformed auths entry or helper name is USAGE; an empty DOCKER_CONFIG is unset", async () => {
    const hub = JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('h:k').toString('base64') } } });
    for (const name of ['docker.io', 'index.docker.io', 'registry-1.docker.io'])
      assert.deepEqual(
        (await locateCredentials(name, { env: { ...none, DOCKER_AUTH_CONFIG: hub } })).credentials,
        { username: 'h', password: 'k' },
        name,
      );
    for (const entry of [null, { auth: 123 }, [1], { username: 'u', password: { x: 1 } }])
      await assert.rejects(
        locateCredentials('r.example', { env: { ...none, DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'r.example': entry } }) } }),
        (err: unknown) => isAlbaError(err, 'USAGE') && /the entry of r\.example/.test(err.message),
        JSON.stringify(entry),
      );
    // a helper that writes the secret, then fails: its stdout is never shown
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'docker-credential-leaky'), '#!/bin/sh\necho \'{"Username":"u","Secret":"L3AKED"}\'\nexit 3\n', {
      mode: 0o755,
    });
    await assert.rejects(
      locateCredentials('r.example', {
        env: { ...none, PATH: `${bin}:${process.env.PATH ?? ''}`, DOCKER_AUTH_CONFIG: JSON.stringify({ credsStore: 'leaky' }) },
      }),
      (err: unknown) =>
        isAlbaError(err, 'USAGE') && /failed for r\.example: exit status 3/.test(err.message) && !err.message.includes('L3AKED'),
    );
    await assert.rejects(
      locateCredentials('r.example', { env: { ...none, DOCKER_AUTH_CONFIG: JSON.stringify({ credsStore: '../evil' }) } }),
      (err: unknown) => isAlbaError(err, 'USAGE') && /plain name/.test(err.message),
    );
    // an empty DOCKER_CONFIG (a CI variable defined but empty) is not the working directory
    const cwd = process.cwd();
    const here = await mkdtemp(join(dir, 'cwd-'));
    await writeFile(join(here, 'config.json'), JSON.stringify({ auths: { 'r.example': { auth: Buffer.from('w:d').toString('base64') } } }));
    process.chdir(here);
    try {
      assert.deepEqual(await locateCredentials('r.example', { env: { HOME: join(dir, 'nohome'), DOCKER_CONFIG: '' } }), { source: 'none' });
    } finally {
      process.chdir(cwd);
    }
  });

  test('a DOCKER_AUTH_CONFIG without the host falls through to the next source', async () => {
    const dac = JSON.stringify({ auths: { 'elsewhere.example': { auth: Buffer.from('x:y').toString('base64') } } });
    const found = await locateCredentials('registry.gitlab.example:5050', { env: { ...none, ...gitlab, DOCKER_AUTH_CONFIG: dac } });
    assert.equal(found.source, 'CI_REGISTRY_USER/CI_REGISTRY_PASSWORD');
  });

  test('the CI variables serve only their own host; GITHUB_TOKEN only ghcr.io', async () => {
    assert.deepEqual(await locateCredentials('registry.gitlab.example', { env: { ...none, ...gitlab } }), { source: 'none' });
    const gh = { ...none, GITHUB_TOKEN: 'ghs_x', GITHUB_ACTOR: 'octo' };
    assert.deepEqual(await locateCredentials('ghcr.io', { env: gh }), {
      credentials: { username: 'octo', password: 'ghs_x' },
      source: 'GITHUB_TOKEN',
    });
    assert.deepEqual(await locateCredentials('docker.io', { env: gh }), { source: 'none' });
  });

  test('a DOCKER_AUTH_CONFIG that is not JSON is USAGE, without its content', async () => {
    await assert.rejects(
      locateCredentials('r.example', { env: { ...none, DOCKER_AUTH_CONFIG: '{"auths": secret-value' } }),
      (err: Error) => /DOCKER_AUTH_CONFIG is not JSON/.test(err.message) && !JSON.stringify(err).includes('secret-value'),
    );
    await assert.rejects(locateCredentials('r.example', { env: { ...none, DOCKER_AUTH_CONFIG: '[1]' } }), /not a docker config/);
  });

  test('credentials in a target URL are refused, naming the target without them', () => {
    for (const [url, shown] of [
      ['docker://u:p%40ss@reg.example/app', 'docker://reg.example/app'],
      ['docker://u:p@ss@reg.example/app', 'docker://reg.example/app'],
      ['s3://KEY:SECRET@bucket?endpoint=x', 's3://bucket?endpoint=x'],
      ['docker://alice:pa/ss@ghcr.io/o/app', 'docker://ghcr.io/o/app'],
      ['s3://AKIA:wJalr/XUtn@bucket?endpoint=x', 's3://bucket?endpoint=x'],
      ['s3://bucket?endpoint=https://K:S3CRET@minio:9000', 's3://bucket?endpoint=minio:9000'],
    ] as const)
      assert.throws(
        () => parseTarget(url),
        (err: Error) =>
          err.message.startsWith(`${shown}: credentials in a target URL are refused`) &&
          !/p@ss|p%40ss|SECRET|pa\/ss|XUtn|S3CRET/.test(err.message),
      );
    assert.equal(parseTarget('docker://reg.example/a@sha256:'.replace('@sha256:', '')).kind, 'registry');
  });

  test('every reader of an S3 URL refuses credentials in it (pages, static push, sbom -t parse it themselves)', () => {
    for (const [url, shown] of [
      ['s3://KEY:SECRET@bucket?endpoint=x', 's3://bucket?endpoint=x'],
      ['s3://bucket?endpoint=http://K:S3CRET@127.0.0.1:7480', 's3://bucket?endpoint=127.0.0.1:7480'],
      ['s3://bucket?endpoint=http:/K:S3CRET@127.0.0.1:7480', 's3://bucket?endpoint=127.0.0.1:7480'],
      ['s3://bucket?region=x&endpoint=K:S3CRET@minio', 's3://bucket?region=x&endpoint=minio'],
      // percent-encoded, as URLSearchParams reads it: the user part is found, and must not be shown either
      ['s3://bucket?endpoint=http%3A%2F%2FK%3AS3CRET%40127.0.0.1%3A7480', 's3://bucket?endpoint=127.0.0.1:7480'],
      ['s3://bucket?endpoint=K%3AS3CRET%40minio&region=x', 's3://bucket?endpoint=minio&region=x'],
    ] as const)
      assert.throws(
        () => parseS3Target(url),
        (err: Error) =>
          isAlbaError(err, 'USAGE') &&
          err.message.startsWith(`${shown}: credentials in a target URL are refused`) &&
          !/SECRET|S3CRET/.test(err.message),
        url,
      );
  });

  test('an unknown parameter of an S3 URL is USAGE naming it, never its value (some tools take keys there), before a push prints its target', () => {
    for (const parse of [parseS3Target, parseTarget])
      for (const [url, shown, name] of [
        [
          's3://bucket?endpoint=http://127.0.0.1:7480&secretAccessKey=S3CRET',
          's3://bucket?endpoint=http://127.0.0.1:7480&secretAccessKey',
          'secretAccessKey',
        ],
        ['s3://bucket?aws_secret_access_key=S3CRET&region=x', 's3://bucket?aws_secret_access_key&region=x', 'aws_secret_access_key'],
      ] as const)
        assert.throws(
          () => parse(url),
          (err: Error) =>
            isAlbaError(err, 'USAGE') && err.message === `${shown}: unknown parameter "${name}"` && !JSON.stringify(err).includes('S3CRET'),
          url,
        );
    assert.throws(
      () => parseS3Target('s3://?secret=S3CRET'),
      (err: Error) => isAlbaError(err, 'USAGE') && /^not an S3 URL/.test(err.message) && !err.message.includes('S3CRET'),
    );
  });
});

describe('the proxy of the environment', () => {
  const env = {
    https_proxy: 'http://u:p@proxy.corp:3128',
    HTTP_PROXY: 'proxy.corp:8080',
    NO_PROXY: 'internal.example, .svc,10.0.0.1,reg.example:5000',
  };
  test('per scheme, lowercase first, no fallback from one scheme to the other', () => {
    assert.equal(proxyFor(new URL('https://ghcr.io/v2/'), env)?.origin, 'http://proxy.corp:3128');
    assert.equal(proxyFor(new URL('http://mirror.example/debian'), env)?.origin, 'http://proxy.corp:8080');
    assert.equal(proxyFor(new URL('https://ghcr.io/'), { HTTP_PROXY: 'http://p:1' }), undefined);
    assert.equal(proxyFor(new URL('https://ghcr.io/'), { HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:1' })?.host, 'lower');
  });
  test('NO_PROXY: host and its subdomains, .domain, IP, host:port, *', () => {
    for (const url of [
      'https://internal.example/',
      'https://a.internal.example/',
      'https://x.svc/',
      'http://10.0.0.1/',
      'https://reg.example:5000/',
    ])
      assert.equal(proxyFor(new URL(url), env), undefined, url);
    for (const url of ['https://notinternal.example/', 'https://reg.example/', 'http://10.0.0.11/', 'https://svc.example/'])
      assert.notEqual(proxyFor(new URL(url), env), undefined, url);
    assert.equal(bypassed('anything', 443, '*'), true);
    assert.equal(bypassed('::1', 443, '[::1]'), true);
  });
  test('credentials go to Proxy-Authorization and stay out of the origin; non-http proxies are USAGE without them', () => {
    const p = parseProxy('http://us%40er:pa%3Ass@proxy.corp:3128');
    assert.equal(p.origin, 'http://proxy.corp:3128');
    assert.equal(p.authorization, `Basic ${Buffer.from('us@er:pa:ss').toString('base64')}`);
    assert.throws(
      () => parseProxy('socks5://u:secret@proxy:1080'),
      (err: Error) => /only http:\/\/ proxies/.test(err.message) && !err.message.includes('secret'),
    );
  });
});

describe('--annotations-from-ci', () => {
  test('GitHub Actions: source and url from the server and repository, revision, version on a tag only', () => {
    const gh = { GITHUB_ACTIONS: 'true', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'o/r', GITHUB_SHA: 'abc' };
    assert.deepEqual(ciAnnotations({ ...gh, GITHUB_REF_TYPE: 'branch', GITHUB_REF_NAME: 'main' }), {
      'org.opencontainers.image.source': 'https://github.com/o/r',
      'org.opencontainers.image.url': 'https://github.com/o/r',
      'org.opencontainers.image.revision': 'abc',
    });
    assert.equal(ciAnnotations({ ...gh, GITHUB_REF_TYPE: 'tag', GITHUB_REF_NAME: 'v1.2' })['org.opencontainers.image.version'], 'v1.2');
  });
  test('GitLab CI; neither is USAGE', () => {
    const gl = ciAnnotations({
      GITLAB_CI: 'true',
      CI_PROJECT_URL: 'https://gitlab.example/g/p',
      CI_COMMIT_SHA: 'def',
      CI_COMMIT_TAG: '2.0',
    });
    assert.equal(gl['org.opencontainers.image.revision'], 'def');
    assert.equal(gl['org.opencontainers.image.version'], '2.0');
    assert.throws(() => ciAnnotations({}), /neither GitHub Actions nor GitLab CI/);
  });
});
