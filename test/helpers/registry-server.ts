import { spawn, spawnSync } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { freePort } from './free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A CNCF distribution registry (Debian `docker-registry`) started for a test. */
export interface RegistryServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  /** `127.0.0.1:<port>`, the host part of image references. */
  host: string;
  /** What the registry logged so far (for failure messages). */
  log(): Promise<string>;
  /** Stops the registry and removes its storage. */
  close(): Promise<void>;
}

/** How to start the registry. */
export interface RegistryServerOptions {
  /** Require HTTP basic auth with this user (an htpasswd file made with `htpasswd -Bbc`). */
  auth?: { username: string; password: string };
  /** Require bearer tokens from this token service (`auth: token`), signed by the key of `rootCertBundle`. */
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  /** Serve https with this certificate and key (PEM files). */
  tls?: { certificate: string; key: string };
}

/**
 * Starts `docker-registry serve` on 127.0.0.1 at a free port with temporary storage (delete
 * enabled), optionally behind basic auth, and waits until `GET /v2/` answers. Needs the
 * `docker-registry` program (and `htpasswd` from apache2-utils for auth).
 */
export async function startRegistry(options: RegistryServerOptions = {}): Promise<RegistryServer> {
  const dir = await mkdtemp(join(tmpdir(), 'alba-registry-'));
  const port = await freePort();
  const auth =
    options.auth !== undefined
      ? await htpasswdAuth(dir, options.auth)
      : options.token !== undefined
        ? [
            'auth:',
            '  token:',
            `    realm: ${options.token.realm}`,
            `    service: ${options.token.service}`,
            `    issuer: ${options.token.issuer}`,
            `    rootcertbundle: ${options.token.rootCertBundle}`,
          ].join('\n')
        : '';
  const tls = options.tls === undefined ? [] : ['  tls:', `    certificate: ${options.tls.certificate}`, `    key: ${options.tls.key}`];
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: info',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  headers:',
      '    X-Content-Type-Options: [nosniff]',
      ...tls,
      auth,
      '',
    ].join('\n'),
  );
  const logPath = join(dir, 'registry.log');
  const logFd = openSync(logPath, 'w');
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  const log = (): Promise<string> => readFile(logPath, 'utf8').catch(() => '');
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilUp(`${url}/v2/`, () => child.exitCode !== null);
  } catch (err) {
    const text = await log();
    await close();
    throw new Error(`${(err as Error).message}\n--- registry log\n${text}`);
  }
  return { url, host: `127.0.0.1:${port}`, log, close };
}

async function htpasswdAuth(dir: string, auth: { username: string; password: string }): Promise<string> {
  const path = join(dir, 'htpasswd');
  const run = spawnSync('htpasswd', ['-Bbc', path, auth.username, auth.password], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`htpasswd failed: ${run.stderr}`);
  return ['auth:', '  htpasswd:', '    realm: test-registry', `    path: ${path}`].join('\n');
}

/** GET `url` (https without certificate checks: the test's own self-signed registry). */
function probe(url: string): Promise<{ status: number; body: { cancel(): Promise<void> } | null }> {
  if (url.startsWith('http:')) return fetch(url, { signal: AbortSignal.timeout(1000) });
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { rejectUnauthorized: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, body: null });
    });
    req.on('error', reject);
  });
}

/** Polls `url` until it answers 200 or 401 (10 s at most). */
async function waitUntilUp(url: string, died: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (died()) throw new Error('docker-registry exited before answering');
    const status = await probe(url).then(
      async (res) => {
        await res.body?.cancel();
        return res.status;
      },
      () => 0,
    );
    if (status === 200 || status === 401) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer ${url} within 10 s`);
}
