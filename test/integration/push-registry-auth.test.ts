import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildFixtureLayout, type FixtureLayout } from '../helpers/fixture-layout.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { type AlbaRun, explainRun, runAlba } from '../helpers/run-alba.js';
import { makeCertificate, startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { requireTool } from '../helpers/tools.js';

// `alba container push` to distribution 2.8 with `auth: token` (a token service run here, signing
// with an openssl-made key) and to a registry serving https with a self-signed certificate.

const USER = { username: 'carol', password: 'to:ken pw' };
const haveTools = requireTool('docker-registry') && requireTool('openssl');

const work = await mkdtemp(join(tmpdir(), 'alba-push-auth-'));
const dockerConfig = join(work, 'docker-config');
let fixture: FixtureLayout;
let tokens: TokenServer;
let tokenRegistry: RegistryServer;
let tlsRegistry: RegistryServer;
let tlsCert: string;

before(async () => {
  if (!haveTools) return;
  fixture = await buildFixtureLayout(work, 'auth');
  await mkdir(dockerConfig, { recursive: true });
  tokens = await startTokenServer(work, USER);
  tokenRegistry = await startRegistry({ token: tokens });
  const tls = makeCertificate(work, 'registry-tls', '/CN=127.0.0.1', '127.0.0.1');
  tlsCert = tls.certificate;
  tlsRegistry = await startRegistry({ tls });
});
after(async () => {
  await tokenRegistry?.close();
  await tlsRegistry?.close();
  await tokens?.close();
  await fixture?.close();
  await rm(work, { recursive: true, force: true });
});

/** `alba container push -t TAG [flags] LAYOUT docker://HOST` with an isolated cache and docker config. */
function push(tag: string, host: string, flags: string[] = [], env: Record<string, string> = {}): Promise<AlbaRun> {
  return runAlba(['container', 'push', '--cache', join(work, 'push-cache'), '-t', tag, ...flags, fixture.layout, `docker://${host}`], {
    env: { DOCKER_CONFIG: dockerConfig, ...env },
  });
}

describe('pushing with bearer tokens', { skip: haveTools ? false : 'docker-registry or openssl is missing' }, () => {
  test('credentials are exchanged for a token with pull,push scope on the repository', async () => {
    tokens.requests.length = 0;
    const res = await push('tok/app:1', tokenRegistry.host, ['--creds', `${USER.username}:${USER.password}`]);
    assert.equal(res.status, 0, explainRun(res));
    assert.ok(
      tokens.requests.some((r) => r.who === `basic:${USER.username}` && r.scopes.includes('repository:tok/app:pull,push')),
      JSON.stringify(tokens.requests),
    );
  });

  test("a mount asks for the source repository's pull scope too, and uploads nothing", async () => {
    tokens.requests.length = 0;
    const res = await push('tok/copy:1', tokenRegistry.host, ['--creds', `${USER.username}:${USER.password}`]);
    assert.equal(res.status, 0, explainRun(res));
    assert.ok(
      tokens.requests.some((r) => r.scopes.includes('repository:tok/copy:pull,push') && r.scopes.includes('repository:tok/app:pull')),
      JSON.stringify(tokens.requests),
    );
    assert.match(res.stderr, /mounted/);
    assert.doesNotMatch(res.stderr, /\d+ sent, /, 'no blob was sent');
  });

  test("an identity token in docker's config.json goes through the OAuth2 refresh_token grant", async () => {
    const dir = join(work, 'cfg-identity');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [tokenRegistry.host]: { identitytoken: tokens.refreshToken } } }));
    tokens.requests.length = 0;
    const res = await push('tok/identity:1', tokenRegistry.host, [], { DOCKER_CONFIG: dir });
    assert.equal(res.status, 0, explainRun(res));
    assert.ok(
      tokens.requests.some((r) => r.method === 'POST' && r.who.startsWith('refresh:')),
      JSON.stringify(tokens.requests),
    );
  });

  test('without credentials the token grants nothing: error[REGISTRY] 401 with a hint, exit 1', async () => {
    const res = await push('tok/anon:1', tokenRegistry.host, []);
    assert.equal(res.status, 1, explainRun(res));
    assert.match(res.stderr, /error\[REGISTRY\].*401/);
    assert.match(res.stderr, /hint: .*--creds/);
  });
});

describe('pushing over https', { skip: haveTools ? false : 'docker-registry or openssl is missing' }, () => {
  test('--ca-file trusts the registry certificate', async () => {
    const ok = await push('tls/app:1', tlsRegistry.host, ['--ca-file', tlsCert]);
    assert.equal(ok.status, 0, explainRun(ok));
  });

  test('--insecure-skip-tls-verify accepts it without a CA', async () => {
    const ok = await push('tls/insecure:1', tlsRegistry.host, ['--insecure-skip-tls-verify']);
    assert.equal(ok.status, 0, explainRun(ok));
  });

  test('an untrusted certificate is error[NETWORK] with a hint naming --ca-file', async () => {
    const other = makeCertificate(work, 'other-ca', '/CN=someone else');
    const res = await push('tls/refused:1', tlsRegistry.host, ['--ca-file', other.certificate]);
    assert.equal(res.status, 1, explainRun(res));
    assert.match(res.stderr, /error\[NETWORK\]/);
    assert.match(res.stderr, /hint: .*--ca-file/);
  });
});
