import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { findCredentials } from '../../src/sink/registry/credentials.js';

const dir = await mkdtemp(join(tmpdir(), 'alba-creds-'));
after(() => rm(dir, { recursive: true, force: true }));

async function dockerConfig(name: string, content: unknown): Promise<string> {
  const d = join(dir, name);
  await mkdir(d, { recursive: true });
  await writeFile(join(d, 'config.json'), JSON.stringify(content));
  return d;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const none = { HOME: join(dir, 'nohome') };

describe('findCredentials', () => {
  test('--creds wins over everything', async () => {
    assert.deepEqual(
      await findCredentials('r.example', { flag: 'a:b:c', env: { ...none, ALBA_REGISTRY_USER: 'x', ALBA_REGISTRY_PASSWORD: 'y' } }),
      { username: 'a', password: 'b:c' },
    );
  });
  test('ALBA_REGISTRY_USER/PASSWORD, then ALBA_REGISTRY_AUTH', async () => {
    assert.deepEqual(
      await findCredentials('r.example', {
        env: { ...none, ALBA_REGISTRY_USER: 'x', ALBA_REGISTRY_PASSWORD: 'y', ALBA_REGISTRY_AUTH: 'p:q' },
      }),
      { username: 'x', password: 'y' },
    );
    assert.deepEqual(await findCredentials('r.example', { env: { ...none, ALBA_REGISTRY_AUTH: 'p:q' } }), { username: 'p', password: 'q' });
  });
  test("docker's config.json: auth by host, with or without scheme", async () => {
    const d = await dockerConfig('plain', {
      auths: { 'https://r.example': { auth: b64('u:p') }, 'other:5000': { username: 'o', password: 'w' } },
    });
    assert.deepEqual(await findCredentials('r.example', { env: { ...none, DOCKER_CONFIG: d } }), { username: 'u', password: 'p' });
    assert.deepEqual(await findCredentials('other:5000', { env: { ...none, DOCKER_CONFIG: d } }), { username: 'o', password: 'w' });
    assert.equal(await findCredentials('third.example', { env: { ...none, DOCKER_CONFIG: d } }), undefined);
  });
  test("Docker Hub's key https://index.docker.io/v1/ serves docker.io", async () => {
    const d = await dockerConfig('hub', { auths: { 'https://index.docker.io/v1/': { auth: b64('hub:pw') } } });
    assert.deepEqual(await findCredentials('docker.io', { env: { ...none, DOCKER_CONFIG: d } }), { username: 'hub', password: 'pw' });
  });
  test('an identitytoken is kept as such', async () => {
    const d = await dockerConfig('identity', { auths: { 'r.example': { identitytoken: 'tok' } } });
    assert.deepEqual(await findCredentials('r.example', { env: { ...none, DOCKER_CONFIG: d } }), {
      username: '',
      password: '',
      identityToken: 'tok',
    });
  });
  test("podman's auth.json through REGISTRY_AUTH_FILE", async () => {
    const file = join(dir, 'auth.json');
    await writeFile(file, JSON.stringify({ auths: { 'quay.example': { auth: b64('pod:man') } } }));
    assert.deepEqual(
      await findCredentials('quay.example', { env: { ...none, DOCKER_CONFIG: join(dir, 'nowhere'), REGISTRY_AUTH_FILE: file } }),
      { username: 'pod', password: 'man' },
    );
  });
  test('a config.json that is not JSON is a USAGE error naming it', async () => {
    const d = join(dir, 'broken');
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'config.json'), '{nope');
    await assert.rejects(findCredentials('r.example', { env: { ...none, DOCKER_CONFIG: d } }), /config\.json is not JSON/);
  });
});
