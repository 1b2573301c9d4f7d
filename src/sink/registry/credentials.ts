/**
 * Where registry credentials come from, first match wins: `--creds USER:PASSWORD`; env
 * `ALBA_REGISTRY_USER` + `ALBA_REGISTRY_PASSWORD`, or `ALBA_REGISTRY_AUTH=USER:PASSWORD`; docker's
 * `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: `credHelpers`, then
 * `credsStore`, then `auths` with a base64 `auth`, `username`/`password` or `identitytoken`);
 * podman's `auth.json` (`$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`).
 * Helpers run as `docker-credential-NAME get`, as docker runs them.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AlbaError } from '../../errors.js';
import { parseCredentials, type Credentials } from './auth.js';

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** Where to look besides the files. */
export interface CredentialSources {
  /** The `--creds` value. */
  flag?: string;
  env?: NodeJS.ProcessEnv;
}

const MAX_AUTH_FILE = 1024 * 1024;
const DOCKER_HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];

/** The credentials for `registry` (as written in references: `ghcr.io`, `127.0.0.1:5000`, `docker.io`), or undefined for anonymous access. */
export async function findCredentials(registry: string, sources: CredentialSources = {}): Promise<Credentials | undefined> {
  const env = sources.env ?? process.env;
  if (sources.flag !== undefined) return parseCredentials(sources.flag, '--creds');
  const user = env.ALBA_REGISTRY_USER;
  const password = env.ALBA_REGISTRY_PASSWORD;
  if (user !== undefined && user !== '' && password !== undefined) return { username: user, password };
  if (env.ALBA_REGISTRY_AUTH !== undefined && env.ALBA_REGISTRY_AUTH !== '')
    return parseCredentials(env.ALBA_REGISTRY_AUTH, 'ALBA_REGISTRY_AUTH');
  const dockerConfig = join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
  const podman =
    env.REGISTRY_AUTH_FILE ?? (env.XDG_RUNTIME_DIR === undefined ? undefined : join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  for (const path of [dockerConfig, ...(podman === undefined ? [] : [podman])]) {
    const file = await readAuthFile(path);
    if (file === undefined) continue;
    const found = await fromAuthFile(file, registry, path, env);
    if (found !== undefined) return found;
  }
  return undefined;
}

async function fromAuthFile(file: AuthFile, registry: string, path: string, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const keys = keysFor(registry);
  const helper = keys.map((k) => file.credHelpers?.[k]).find((h) => h !== undefined) ?? file.credsStore;
  if (helper !== undefined && helper !== '') {
    const fromHelper = await runHelper(helper, registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry, env);
    if (fromHelper !== undefined) return fromHelper;
  }
  const auths = file.auths ?? {};
  const entry = Object.entries(auths).find(([key]) => keys.includes(normalizeKey(key)))?.[1];
  if (entry === undefined) return undefined;
  if (entry.identitytoken !== undefined && entry.identitytoken !== '')
    return { username: entry.username ?? '', password: '', identityToken: entry.identitytoken };
  if (entry.auth !== undefined && entry.auth !== '')
    return parseCredentials(Buffer.from(entry.auth, 'base64').toString('utf8'), `the "auth" of ${registry} in ${path}`);
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  return undefined;
}

/** The keys an auth file may use for `registry`. */
function keysFor(registry: string): string[] {
  return registry === 'docker.io' ? DOCKER_HUB_KEYS.map(normalizeKey) : [registry];
}

/** `https://host/v1/` → `host` (Docker Hub's key stays whole, as docker writes it). */
function normalizeKey(key: string): string {
  if (DOCKER_HUB_KEYS.includes(key)) return key;
  return key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

async function readAuthFile(path: string): Promise<AuthFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  if (text.length > MAX_AUTH_FILE)
    throw new AlbaError('USAGE', `${path} is larger than ${MAX_AUTH_FILE} bytes`, { hint: 'this is not a docker or podman auth file' });
  try {
    return JSON.parse(text) as AuthFile;
  } catch (cause) {
    throw new AlbaError('USAGE', `${path} is not JSON`, { hint: 'fix or remove the file (docker login writes it)', cause });
  }
}

/** `docker-credential-NAME get` with the server on stdin; undefined when it has no credentials for it. */
function runHelper(name: string, server: string, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      if (out.length < MAX_AUTH_FILE) out += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      if (err.length < 4096) err += c.toString('utf8');
    });
    child.on('error', (cause) =>
      reject(
        new AlbaError('USAGE', `cannot run the credential helper ${program}: ${cause.message}`, {
          hint: `install ${program}, or remove it from your docker config.json`,
          cause,
        }),
      ),
    );
    child.on('close', (code) => {
      if (code !== 0) {
        if (/not found/i.test(`${out}${err}`)) return resolve(undefined);
        return reject(
          new AlbaError('USAGE', `the credential helper ${program} failed for ${server}: ${(err || out).trim().slice(0, 200)}`, {
            hint: `run "${program} get" by hand to see why, or pass --creds`,
          }),
        );
      }
      try {
        const parsed = JSON.parse(out) as { Username?: string; Secret?: string };
        if (parsed.Secret === undefined || parsed.Secret === '') return resolve(undefined);
        resolve(
          parsed.Username === '<token>'
            ? { username: '', password: '', identityToken: parsed.Secret }
            : { username: parsed.Username ?? '', password: parsed.Secret },
        );
      } catch {
        reject(
          new AlbaError('USAGE', `the credential helper ${program} printed something that is not JSON`, {
            hint: `run "${program} get" by hand to see why`,
          }),
        );
      }
    });
    child.stdin.end(`${server}\n`);
  });
}
