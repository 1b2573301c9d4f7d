/**
 * Where registry credentials come from, first match wins (docs/registry.md, docs/ci.md):
 * 1. `--creds USER:PASSWORD`;
 * 2. env `ALBA_REGISTRY_USER` + `ALBA_REGISTRY_PASSWORD`, or `ALBA_REGISTRY_AUTH=USER:PASSWORD`;
 * 3. env `DOCKER_AUTH_CONFIG`: a whole docker config as JSON (GitLab's documented way);
 * 4. GitLab CI, for the host `CI_REGISTRY` names only: `CI_REGISTRY_USER` + `CI_REGISTRY_PASSWORD`,
 *    else `CI_JOB_TOKEN` as user `gitlab-ci-token`;
 * 5. GitHub Actions, for `ghcr.io` only: `GITHUB_TOKEN` as `GITHUB_ACTOR`;
 * 6. docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: `credHelpers`,
 *    then `credsStore`, then `auths` with a base64 `auth`, `username`/`password` or `identitytoken`);
 * 7. podman's `auth.json` (`$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`).
 * Helpers run as `docker-credential-NAME get`, as docker runs them. What was used is told by
 * name (`source`), never by value.
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
  return (await locateCredentials(registry, sources)).credentials;
}

/** Found credentials and where from. */
export interface LocatedCredentials {
  credentials?: Credentials;
  /** Where they came from, never their value: `--creds`, `CI_JOB_TOKEN`, `/home/u/.docker/config.json (credHelpers: ecr-login)`, or `none` (anonymous). */
  source: string;
}

/** As findCredentials, saying which source of the chain gave them. */
export async function locateCredentials(registry: string, sources: CredentialSources = {}): Promise<LocatedCredentials> {
  const env = sources.env ?? process.env;
  const set = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  if (sources.flag !== undefined) return { credentials: parseCredentials(sources.flag, '--creds'), source: '--creds' };
  const user = set('ALBA_REGISTRY_USER');
  const password = env.ALBA_REGISTRY_PASSWORD;
  if (user !== undefined && password !== undefined)
    return { credentials: { username: user, password }, source: 'ALBA_REGISTRY_USER/ALBA_REGISTRY_PASSWORD' };
  const albaAuth = set('ALBA_REGISTRY_AUTH');
  if (albaAuth !== undefined) return { credentials: parseCredentials(albaAuth, 'ALBA_REGISTRY_AUTH'), source: 'ALBA_REGISTRY_AUTH' };
  const inline = set('DOCKER_AUTH_CONFIG');
  if (inline !== undefined) {
    const found = await fromAuthFile(parseAuthFile(inline, 'DOCKER_AUTH_CONFIG'), registry, 'DOCKER_AUTH_CONFIG', env);
    if (found !== undefined) return found;
  }
  const ciRegistry = set('CI_REGISTRY');
  if (ciRegistry !== undefined && normalizeKey(ciRegistry) === registry) {
    const ciUser = set('CI_REGISTRY_USER');
    const ciPassword = set('CI_REGISTRY_PASSWORD');
    if (ciUser !== undefined && ciPassword !== undefined)
      return { credentials: { username: ciUser, password: ciPassword }, source: 'CI_REGISTRY_USER/CI_REGISTRY_PASSWORD' };
    const jobToken = set('CI_JOB_TOKEN');
    if (jobToken !== undefined) return { credentials: { username: 'gitlab-ci-token', password: jobToken }, source: 'CI_JOB_TOKEN' };
  }
  const githubToken = set('GITHUB_TOKEN');
  if (githubToken !== undefined && registry === 'ghcr.io')
    return { credentials: { username: set('GITHUB_ACTOR') ?? 'x-access-token', password: githubToken }, source: 'GITHUB_TOKEN' };
  const dockerConfig = join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
  const podman =
    env.REGISTRY_AUTH_FILE ?? (env.XDG_RUNTIME_DIR === undefined ? undefined : join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  for (const path of [dockerConfig, ...(podman === undefined ? [] : [podman])]) {
    const file = await readAuthFile(path);
    if (file === undefined) continue;
    const found = await fromAuthFile(file, registry, path, env);
    if (found !== undefined) return found;
  }
  return { source: 'none' };
}

async function fromAuthFile(
  file: AuthFile,
  registry: string,
  path: string,
  env: NodeJS.ProcessEnv,
): Promise<LocatedCredentials | undefined> {
  const keys = keysFor(registry);
  const helper = keys.map((k) => file.credHelpers?.[k]).find((h) => h !== undefined) ?? file.credsStore;
  if (helper !== undefined && helper !== '') {
    const fromHelper = await runHelper(helper, registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry, env);
    if (fromHelper !== undefined) return { credentials: fromHelper, source: `${path} (credential helper ${helper})` };
  }
  const auths = file.auths ?? {};
  const entry = Object.entries(auths).find(([key]) => keys.includes(normalizeKey(key)))?.[1];
  if (entry === undefined) return undefined;
  const credentials =
    entry.identitytoken !== undefined && entry.identitytoken !== ''
      ? { username: entry.username ?? '', password: '', identityToken: entry.identitytoken }
      : entry.auth !== undefined && entry.auth !== ''
        ? parseCredentials(Buffer.from(entry.auth, 'base64').toString('utf8'), `the "auth" of ${registry} in ${path}`)
        : entry.username !== undefined && entry.password !== undefined
          ? { username: entry.username, password: entry.password }
          : undefined;
  return credentials === undefined ? undefined : { credentials, source: path };
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
  return parseAuthFile(text, path);
}

/** A docker config (or podman auth file) as JSON: an object, else USAGE naming where it came from (never its content). */
function parseAuthFile(text: string, where: string): AuthFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AlbaError('USAGE', `${where} is not JSON`, { hint: 'fix or remove it (docker login writes this format)' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new AlbaError('USAGE', `${where} is not a docker config (a JSON object with "auths")`, {
      hint: 'e.g. {"auths": {"registry.example": {"auth": "<base64 of user:password>"}}}',
    });
  return parsed as AuthFile;
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
