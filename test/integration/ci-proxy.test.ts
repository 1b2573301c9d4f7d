import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeFixtureDistro, writeFixtureProject } from '../helpers/fixture-distro.js';
import { startForwardProxy, type ForwardProxy } from '../helpers/forward-proxy.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';
import { rgwTestsEnabled, startRgwBucket, type RgwBucket } from '../helpers/rgw-client.js';
import { explainRun, runAlba } from '../helpers/run-alba.js';
import { freePort } from '../helpers/free-port.js';
import { requireTool } from '../helpers/tools.js';

// HTTPS_PROXY/HTTP_PROXY/NO_PROXY for every request: the Debian mirror (a plain forward), the
// registry and S3 (CONNECT tunnels), through a recording proxy that wants credentials.

const PROXY_USER = { username: 'proxy-user', password: 'pr0xy:secret' };
/** A remote cache's host the proxy cannot reach (answered 502 at once). */
const CACHE_HOST = 'cache.alba-test.invalid';
const haveTools = requireTool('docker-registry');
const rgwEnabled = haveTools && rgwTestsEnabled();

const work = await mkdtemp(join(tmpdir(), 'alba-ci-proxy-'));
let proxy: ForwardProxy;
let registry: RegistryServer;
let mirror: RepoServer;
let recipe: string;
let bucket: RgwBucket | undefined;

/** Proxy variables as a CI runner sets them, with nothing else of the host's (no NO_PROXY, no docker config). */
function proxyEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    HTTP_PROXY: proxy.urlWithCredentials,
    https_proxy: proxy.urlWithCredentials,
    NO_PROXY: '',
    no_proxy: '',
    DOCKER_CONFIG: join(work, 'no-docker'),
    ...extra,
  };
}

before(async () => {
  if (!haveTools) return;
  proxy = await startForwardProxy(PROXY_USER, { unreachable: (authority) => authority.startsWith(`${CACHE_HOST}:`) });
  registry = await startRegistry();
  const repo = await makeFixtureDistro(join(work, 'repo'));
  mirror = await serveDir(repo.dir);
  recipe = (await writeFixtureProject(join(work, 'project'), { url: mirror.url, keyring: repo.keyringPath, tag: 'proxied' })).recipe;
  if (rgwEnabled) bucket = await startRgwBucket(work, 'proxied');
});
after(async () => {
  await proxy?.close();
  await registry?.close();
  await mirror?.close();
  await bucket?.rgw.close();
  await rm(work, { recursive: true, force: true });
});

describe('behind a proxy', { skip: haveTools ? false : 'docker-registry is missing' }, () => {
  test('the mirror (forwarded), the registry and S3 (tunnelled) all go through the proxy, with its credentials, never printed', async () => {
    proxy.requests.length = 0;
    const targets = [`docker://${registry.host}/proxied/app`, ...(bucket === undefined ? [] : ['--push', bucket.target])];
    const res = await runAlba(['build', recipe, '--cache', join(work, 'cache-proxied'), '--push', ...targets], {
      env: proxyEnv(bucket?.env),
    });
    assert.equal(res.status, 0, explainRun(res));
    const seen = proxy.requests;
    const mirrorHost = new URL(mirror.url).host;
    assert.ok(
      seen.some((r) => r.method === 'GET' && r.target.startsWith(`${mirror.url}/`) && r.target.endsWith('.deb')),
      `the .debs were fetched through the proxy: ${JSON.stringify(seen.slice(0, 5))}`,
    );
    assert.ok(
      seen.some((r) => r.method === 'GET' && r.target.includes('Release')),
      'the Release file too',
    );
    assert.ok(
      seen.some((r) => r.method === 'CONNECT' && r.target === registry.host),
      `the registry through a tunnel: ${JSON.stringify(seen)}`,
    );
    if (bucket !== undefined)
      assert.ok(
        seen.some((r) => r.method === 'CONNECT' && r.target === new URL(bucket?.rgw.url ?? '').host),
        'S3 through a tunnel',
      );
    const expected = `Basic ${Buffer.from(`${PROXY_USER.username}:${PROXY_USER.password}`).toString('base64')}`;
    assert.ok(
      seen.every((r) => r.authorization === expected),
      'every request carried the proxy credentials',
    );
    assert.ok(!seen.some((r) => r.target.includes(mirrorHost) && r.method === 'CONNECT'), 'http mirrors are forwarded, not tunnelled');
    for (const text of [res.stdout, res.stderr]) {
      assert.doesNotMatch(text, /pr0xy/, 'the proxy password is never printed');
      assert.doesNotMatch(text, /pr0xy%3Asecret/);
    }
  });

  test('--plain-http for the push target does not make a docker:// remote cache on another host plain http', async () => {
    proxy.requests.length = 0;
    const cacheHost = CACHE_HOST;
    const res = await runAlba(
      [
        'build',
        recipe,
        '--cache',
        join(work, 'cache-plain'),
        '--push',
        `docker://${registry.host}/plain/app`,
        '--plain-http',
        '--remote-cache',
        `docker://${cacheHost}/team/cache`,
      ],
      { env: proxyEnv({ CI_REGISTRY: cacheHost, CI_REGISTRY_USER: 'gitlab-ci-token', CI_REGISTRY_PASSWORD: 'j0b-token' }) },
    );
    assert.equal(res.status, 0, explainRun(res));
    const toCache = proxy.requests.filter((r) => r.target.includes(cacheHost));
    assert.ok(toCache.length > 0, `the cache was asked, through the proxy: ${JSON.stringify(proxy.requests)}`);
    assert.deepEqual(
      toCache.map((r) => `${r.method} ${r.target}`),
      toCache.map(() => `CONNECT ${cacheHost}:443`),
      'the cache is reached over https only: its credentials never go in clear',
    );
    assert.match(res.stderr, /--plain-http and the TLS options are for the push targets' registries/);
    assert.doesNotMatch(`${res.stdout}${res.stderr}`, /j0b-token/);
  });

  test('NO_PROXY names hosts reached directly', async () => {
    proxy.requests.length = 0;
    const res = await runAlba(['build', recipe, '--cache', join(work, 'cache-direct'), '--push', `docker://${registry.host}/direct/app`], {
      env: proxyEnv({ NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1' }),
    });
    assert.equal(res.status, 0, explainRun(res));
    assert.deepEqual(proxy.requests, []);
  });

  test('a proxy that refuses the credentials fails, naming the proxy without them (mirror, then registry)', async () => {
    const wrong = proxy.url.replace('http://', 'http://proxy-user:wr0ng-pass@');
    const build = (name: string, extra: Record<string, string>) =>
      runAlba(['build', recipe, '--cache', join(work, 'cache-proxied'), '--push', `docker://${registry.host}/${name}/app`], {
        env: proxyEnv({ HTTP_PROXY: wrong, https_proxy: wrong, ...extra }),
      });
    const proxyNamed = new RegExp(`proxy ${proxy.url.replace(/[.]/g, '\\.')}`);
    const atMirror = await build('refused', {});
    assert.equal(atMirror.status, 1, explainRun(atMirror));
    assert.match(atMirror.stderr, /error\[NETWORK\].*407/);
    assert.match(atMirror.stderr, proxyNamed);
    const mirrorDirect = { NO_PROXY: new URL(mirror.url).host, no_proxy: new URL(mirror.url).host };
    const atRegistry = await build('refused', mirrorDirect);
    assert.equal(atRegistry.status, 1, explainRun(atRegistry));
    assert.match(atRegistry.stderr, proxyNamed);
    for (const res of [atMirror, atRegistry]) assert.doesNotMatch(`${res.stdout}${res.stderr}`, /wr0ng-pass/);
  });

  test('a proxy that is down: error[NETWORK] naming the proxy, without its credentials', async () => {
    const down = `http://proxy-user:d0wn-pass@127.0.0.1:${await freePort()}`;
    const res = await runAlba(['build', recipe, '--cache', join(work, 'cache-down'), '--push', `docker://${registry.host}/down/app`], {
      env: proxyEnv({ HTTP_PROXY: down, https_proxy: down }),
    });
    assert.equal(res.status, 1, explainRun(res));
    assert.match(
      res.stderr,
      /error\[NETWORK\]: cannot reach http:\/\/127\.0\.0\.1:\d+\/\S+ \(through the proxy http:\/\/127\.0\.0\.1:\d+\)/,
    );
    assert.doesNotMatch(`${res.stdout}${res.stderr}`, /d0wn-pass/);
  });
});
