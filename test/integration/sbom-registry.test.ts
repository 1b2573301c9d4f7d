import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildFixtureLayout, type FixtureLayout } from '../helpers/fixture-layout.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { explainRun, runAlba } from '../helpers/run-alba.js';
import { requireTool } from '../helpers/tools.js';

// `alba sbom REF` against a real CNCF distribution 2.8 registry (which has no referrers API, so the
// SBOMs are found through the `sha256-<hex>` referrers tag), with basic auth, and through a bearer
// token proxy that can also answer the referrers API. Uses the compiled CLI: run `tsc -p .` first.

const TAG = 'reg';
const REFS = { index: TAG, amd64: `${TAG}-linux-amd64`, arm64: `${TAG}-linux-arm64-v8` } as const;
const USER = { username: 'alice', password: 'pa:ss word' };
const CREDS = `${USER.username}:${USER.password}`;
const haveRegistry = requireTool('docker-registry') && requireTool('skopeo');

const work = await mkdtemp(join(tmpdir(), 'alba-sbom-registry-'));
let fixture: FixtureLayout;
let registry: RegistryServer;
let layout: string;
let pushedIndex: string;

before(async () => {
  if (!haveRegistry) return;
  fixture = await buildFixtureLayout(work, TAG);
  layout = fixture.layout;
  registry = await startRegistry();
  pushedIndex = await pushWithAlba(registry.host, 'fixture/app:1.0');
  // skopeo copies the image but not the SBOM referrers (they are not in index.json)
  const bare = spawnSync(
    'skopeo',
    ['copy', '--all', '--dest-tls-verify=false', `oci:${layout}:${TAG}`, `docker://${registry.host}/fixture/bare:1.0`],
    { encoding: 'utf8' },
  );
  assert.equal(bare.status, 0, bare.stderr);
});
after(async () => {
  await registry?.close();
  await fixture?.close();
  await rm(work, { recursive: true, force: true });
});

/** Pushes the layout with `alba container push`; returns the index digest it prints. */
async function pushWithAlba(host: string, nameTag: string, extra: string[] = []): Promise<string> {
  const res = await runAlba(['container', 'push', '--cache', join(work, 'cache'), '-t', nameTag, ...extra, layout, `docker://${host}`], {
    env: { DOCKER_CONFIG: join(work, 'no-docker-config') },
  });
  assert.equal(res.status, 0, explainRun(res));
  return res.stdout.trim().split('@').pop() as string;
}

function sbomFile(name: string): Promise<Buffer> {
  return readFile(join(layout, 'sbom', name));
}

/** The digest of a ref of the layout's index.json. */
async function layoutDigest(ref: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const found = index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === ref);
  assert.ok(found !== undefined, `no ref ${ref} in the layout`);
  return found.digest;
}

async function assertPrints(args: string[], file: string, env?: Record<string, string>): Promise<void> {
  const run = await runAlba(['sbom', ...args], env === undefined ? {} : { env });
  assert.equal(run.status, 0, `alba sbom ${args.join(' ')}: ${explainRun(run)}`);
  assert.ok(Buffer.from(run.stdout, 'utf8').equals(await sbomFile(file)), `alba sbom ${args.join(' ')} is not sbom/${file}`);
}

// each test is skipped on its own (with CI=true requireTool has already failed), so they stay in the totals
const needs = haveRegistry ? {} : { skip: 'docker-registry or skopeo is not installed' };

describe('alba sbom REF from a distribution registry', () => {
  test('by tag: the index document, and each platform document with --platform, byte for byte', needs, async () => {
    const ref = `${registry.host}/fixture/app:1.0`;
    const cases: [string[], string][] = [
      [[ref], 'index.spdx.json'],
      [[ref, '--platform', 'linux/arm64'], 'arm64.spdx.json'],
      [[ref, '--platform', 'amd64'], 'amd64.spdx.json'],
      [[ref, '--platform', 'linux/arm64/v8', '--plain-http'], 'arm64.spdx.json'],
    ];
    for (const [args, file] of cases) await assertPrints(args, file);
  });

  test('--format cyclonedx: the CycloneDX documents pushed beside the SPDX ones, byte for byte', needs, async () => {
    const ref = `${registry.host}/fixture/app:1.0`;
    const cases: [string[], string][] = [
      [[ref, '--format', 'cyclonedx'], 'index.cdx.json'],
      [[ref, '--format', 'cyclonedx', '--platform', 'linux/arm64'], 'arm64.cdx.json'],
      [[`${registry.host}/fixture/app@${await layoutDigest(REFS.amd64)}`, '--format', 'cyclonedx'], 'amd64.cdx.json'],
      [[ref, '--format', 'spdx', '--platform', 'amd64'], 'amd64.spdx.json'],
    ];
    for (const [args, file] of cases) await assertPrints(args, file);
  });

  test('by digest: of the index, and of a platform manifest directly', needs, async () => {
    const index = await layoutDigest(REFS.index);
    assert.equal(index, pushedIndex);
    const cases: [string[], string][] = [
      [[`${registry.host}/fixture/app@${index}`], 'index.spdx.json'],
      [[`${registry.host}/fixture/app:1.0@${index}`, '--platform', 'linux/amd64'], 'amd64.spdx.json'],
      [[`${registry.host}/fixture/app@${await layoutDigest(REFS.arm64)}`], 'arm64.spdx.json'],
      [[`${registry.host}/fixture/app@${await layoutDigest(REFS.amd64)}`], 'amd64.spdx.json'],
    ];
    for (const [args, file] of cases) await assertPrints(args, file);
  });

  test("failures: the registry's error code, or SBOM_NOT_FOUND, exit status 1", needs, async () => {
    const missingDigest = `sha256:${'0'.repeat(64)}`;
    const cases: [string[], RegExp][] = [
      [
        [`${registry.host}/fixture/app:2.0`],
        /^alba: error\[REGISTRY\]: GET http:\/\/127\.0\.0\.1:\d+\/v2\/fixture\/app\/manifests\/2\.0: 404 MANIFEST_UNKNOWN/m,
      ],
      [[`${registry.host}/fixture/app@${missingDigest}`], /^alba: error\[REGISTRY\]: .* 404 MANIFEST_UNKNOWN/m],
      // distribution 2.8 reports an unknown repository as MANIFEST_UNKNOWN on manifest GETs (NAME_UNKNOWN only on tags/list)
      [[`${registry.host}/no/such:1.0`], /^alba: error\[REGISTRY\]: GET .*\/v2\/no\/such\/manifests\/1\.0: 404 MANIFEST_UNKNOWN/m],
      [
        [`${registry.host}/fixture/bare:1.0`],
        /^alba: error\[SBOM_NOT_FOUND\]: no SPDX SBOM for 127\.0\.0\.1:\d+\/fixture\/bare:1\.0 \(sha256:/m,
      ],
      [
        [`${registry.host}/fixture/bare:1.0`, '--platform', 'arm64'],
        /^alba: error\[SBOM_NOT_FOUND\]: no SPDX SBOM for platform arm64 of /m,
      ],
      [
        [`${registry.host}/fixture/app:1.0`, '--platform', 'linux/s390x'],
        /^alba: error\[SBOM_NOT_FOUND\]: no images for platform linux\/s390x in index sha256:/m,
      ],
    ];
    for (const [args, expected] of cases) {
      const run = await runAlba(['sbom', ...args]);
      assert.equal(run.status, 1, `alba sbom ${args.join(' ')}: ${explainRun(run)}`);
      assert.match(run.stderr, expected, args.join(' '));
      assert.equal(run.stdout, '');
    }
  });

  test('command-line mistakes are USAGE, exit status 2', needs, async () => {
    const cases: [string[], RegExp][] = [
      [['Not/A/Ref'], /error\[USAGE\]: not an image reference: "Not\/A\/Ref"/],
      [[`${registry.host}/fixture/app:1.0`, '--ref', 'x'], /error\[USAGE\]: --ref picks an index in a layout directory/],
      [[`${registry.host}/fixture/app:1.0`, '--creds', 'nocolon'], /error\[USAGE\]: --creds must be USER:PASSWORD/],
      [[`${registry.host}/fixture/app@${await layoutDigest(REFS.arm64)}`, '--platform', 'arm64'], /error\[USAGE\]: .* is a single image/],
    ];
    for (const [args, expected] of cases) {
      const run = await runAlba(['sbom', ...args]);
      assert.equal(run.status, 2, `alba sbom ${args.join(' ')}: ${explainRun(run)}`);
      assert.match(run.stderr, expected);
    }
  });

  describe('with basic auth (htpasswd)', () => {
    let secured: RegistryServer;
    before(async () => {
      if (!haveRegistry || !requireTool('htpasswd')) return;
      secured = await startRegistry({ auth: USER });
      await pushWithAlba(secured.host, 'fixture/app:1.0', ['--creds', CREDS]);
    });
    after(async () => secured?.close());

    test('without credentials: REGISTRY unauthorized; with --creds or ALBA_REGISTRY_AUTH: the SBOM', needs, async (t) => {
      if (!requireTool('htpasswd', t)) return;
      const ref = `${secured.host}/fixture/app:1.0`;
      const anonymous = await runAlba(['sbom', ref], { env: { ALBA_REGISTRY_AUTH: '' } });
      assert.equal(anonymous.status, 1, explainRun(anonymous));
      assert.match(
        anonymous.stderr,
        /^alba: error\[REGISTRY\]: GET http:\/\/127\.0\.0\.1:\d+\/v2\/: 401 UNAUTHORIZED: authentication required/m,
      );
      assert.match(anonymous.stderr, /hint: .*--creds USER:PASSWORD/);
      const wrong = await runAlba(['sbom', ref, '--creds', `${USER.username}:nope`]);
      assert.equal(wrong.status, 1, explainRun(wrong));
      assert.match(wrong.stderr, /error\[REGISTRY\]: .* 401 .*\n {2}hint: the registry refused these credentials/);
      assert.doesNotMatch(wrong.stderr, /nope/);
      await assertPrints([ref, '--creds', CREDS], 'index.spdx.json');
      await assertPrints([ref, '--platform', 'linux/arm64'], 'arm64.spdx.json', { ALBA_REGISTRY_AUTH: CREDS });
    });
  });

  describe('behind a bearer token service', () => {
    let proxy: BearerProxy;
    before(async () => {
      if (!haveRegistry) return;
      proxy = await startBearerProxy(registry.url, `Basic ${Buffer.from(CREDS).toString('base64')}`);
    });
    after(async () => proxy?.close());

    test('gets a token for the repository scope, then finds the SBOM through the referrers tag', needs, async () => {
      proxy.referrersApi = false;
      await assertPrints([`${proxy.host}/fixture/app:1.0`, '--platform', 'arm64', '--creds', CREDS], 'arm64.spdx.json');
      assert.deepEqual(proxy.tokenQueries, [{ service: 'alba-test', scope: 'repository:fixture/app:pull' }]);
      const arm64 = await layoutDigest(REFS.arm64);
      assert.ok(
        proxy.requests.includes(`/v2/fixture/app/referrers/${arm64}?artifactType=application%2Fspdx%2Bjson`),
        proxy.requests.join('\n'),
      );
      assert.ok(proxy.requests.includes(`/v2/fixture/app/manifests/sha256-${arm64.slice(7)}`), proxy.requests.join('\n'));
    });

    test('uses the referrers API when it answers with an index, without the tag', needs, async () => {
      proxy.referrersApi = true;
      proxy.requests.length = 0;
      await assertPrints([`${proxy.host}/fixture/app:1.0`, '--creds', CREDS], 'index.spdx.json');
      const index = await layoutDigest(REFS.index);
      assert.ok(
        proxy.requests.some((p) => p.startsWith(`/v2/fixture/app/referrers/${index}`)),
        proxy.requests.join('\n'),
      );
      assert.ok(!proxy.requests.some((p) => p.includes('/manifests/sha256-')), proxy.requests.join('\n'));
    });

    test('without credentials the token service refuses: REGISTRY 401', needs, async () => {
      const run = await runAlba(['sbom', `${proxy.host}/fixture/app:1.0`], { env: { ALBA_REGISTRY_AUTH: '' } });
      assert.equal(run.status, 1, explainRun(run));
      assert.match(
        run.stderr,
        /^alba: error\[REGISTRY\]: GET http:\/\/127\.0\.0\.1:\d+\/token\?service=alba-test&scope=repository%3Afixture%2Fapp%3Apull: 401 UNAUTHORIZED/m,
      );
    });
  });
});

/** A token-auth front for the registry; it can also answer the referrers API from the referrers tag. */
interface BearerProxy {
  host: string;
  /** Registry paths (with query) requested with a valid token. */
  requests: string[];
  /** service and scope of each token request that was granted. */
  tokenQueries: { service: string | null; scope: string | null }[];
  /** Answer `GET /v2/<n>/referrers/<digest>` (else forward it: distribution 2.8 answers 404). */
  referrersApi: boolean;
  close(): Promise<void>;
}

async function startBearerProxy(upstream: string, expectedBasic: string): Promise<BearerProxy> {
  const TOKEN = 'tok-1';
  const state: BearerProxy = { host: '', requests: [], tokenQueries: [], referrersApi: false, close: async () => undefined };
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/token') {
      if (req.headers.authorization !== expectedBasic)
        return json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] });
      state.tokenQueries.push({ service: url.searchParams.get('service'), scope: url.searchParams.get('scope') });
      return json(res, 200, { token: TOKEN });
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      const scope = url.pathname === '/v2/' ? '' : ',scope="repository:fixture/app:pull"';
      return json(
        res,
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'token required' }] },
        {
          'www-authenticate': `Bearer realm="http://${state.host}/token",service="alba-test"${scope}`,
        },
      );
    }
    state.requests.push(url.pathname + url.search);
    const referrers = /^\/v2\/(.+)\/referrers\/sha256:([a-f0-9]{64})$/.exec(url.pathname);
    const target =
      referrers !== null && state.referrersApi
        ? `${upstream}/v2/${referrers[1]}/manifests/sha256-${referrers[2]}`
        : `${upstream}${url.pathname}${url.search}`;
    const answer = await fetch(target, { method: req.method ?? 'GET', headers: { accept: req.headers.accept ?? '*/*' } });
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'docker-content-digest', 'www-authenticate']) {
      const value = answer.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    res.writeHead(answer.status, headers).end(Buffer.from(await answer.arrayBuffer()));
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
