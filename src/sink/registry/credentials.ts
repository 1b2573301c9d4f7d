/**
 * Where registry credentials come from, first match wins (docs/registry.md, docs/ci.md):
 * 1. `--creds USER:PASSWORD`;
 * 2. env `ALBA_REGISTRY_USER` + `ALBA_REGISTRY_PASSWORD`, or `ALBA_REGISTRY_AUTH=USER:PASSWORD`, when
 *    `ALBA_REGISTRY_HOST` names this registry;
 * 3. env `DOCKER_AUTH_CONFIG`: a whole docker config as JSON (GitLab's documented way), for the
 *    hosts it names;
 * 4. GitLab CI, for the host `CI_REGISTRY` names only: `CI_REGISTRY_USER` + `CI_REGISTRY_PASSWORD`,
 *    else `CI_JOB_TOKEN` as user `gitlab-ci-token`;
 * 5. GitHub Actions, for `ghcr.io` only: `GITHUB_TOKEN` as `GITHUB_ACTOR`;
 * 6. `ALBA_REGISTRY_*` without `ALBA_REGISTRY_HOST`: for any registry but those of 4 and 5 (GitLab
 *    sets its variables in every job: a password meant for another registry never goes to its own);
 * 7. docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: `credHelpers`,
 *    then `credsStore`, then `auths` with a base64 `auth`, `username`/`password` or `identitytoken`);
 * 8. podman's `auth.json` (`$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`).
 * An empty variable counts as unset. Helpers run as `docker-credential-NAME get`, as docker runs
 * them (NAME a plain name, the answer within 30 s). Docker Hub is one registry whatever its name
 * (`docker.io`, `index.docker.io`, `registry-1.docker.io`). What was used is told by name
 * (`source`), never by value.
 */
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AlbaError } from '../../errors.js';
import { isMissingFile, readSmallFile } from '../../util/regular-file.js';
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
/** A credential helper's name: `docker-credential-NAME` is looked up on PATH, so NAME is never a path. */
const HELPER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** A credential helper must answer within this. */
const HELPER_TIMEOUT_MS = 30_000;

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
  const albaHost = set('ALBA_REGISTRY_HOST');
  const fromAlba = (): LocatedCredentials | undefined => {
    const user = set('ALBA_REGISTRY_USER');
    const password = env.ALBA_REGISTRY_PASSWORD;
    if (user !== undefined && password !== undefined)
      return { credentials: { username: user, password }, source: 'ALBA_REGISTRY_USER/ALBA_REGISTRY_PASSWORD' };
    const albaAuth = set('ALBA_REGISTRY_AUTH');
    return albaAuth === undefined
      ? undefined
      : { credentials: parseCredentials(albaAuth, 'ALBA_REGISTRY_AUTH'), source: 'ALBA_REGISTRY_AUTH' };
  };
  if (albaHost !== undefined) {
    if (sameRegistry(normalizeKey(albaHost), registry)) {
      const bound = fromAlba();
      if (bound !== undefined) return bound;
    }
  }
  const inline = set('DOCKER_AUTH_CONFIG');
  if (inline !== undefined) {
    const found = await fromAuthFile(parseAuthFile(inline, 'DOCKER_AUTH_CONFIG'), registry, 'DOCKER_AUTH_CONFIG', env);
    if (found !== undefined) return found;
  }
  const ciRegistry = set('CI_REGISTRY');
  if (ciRegistry !== undefined && sameRegistry(normalizeKey(ciRegistry), registry)) {
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
  if (albaHost === undefined) {
    const unbound = fromAlba();
    if (unbound !== undefined) return unbound;
  }
  const dockerConfig = join(set('DOCKER_CONFIG') ?? join(homedir(), '.docker'), 'config.json');
  const runtimeDir = set('XDG_RUNTIME_DIR');
  const podman = set('REGISTRY_AUTH_FILE') ?? (runtimeDir === undefined ? undefined : join(runtimeDir, 'containers', 'auth.json'));
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
  const named = keys.map((k) => (isRecord(file.credHelpers) ? file.credHelpers[k] : undefined)).find((h) => h !== undefined);
  const helper = named ?? file.credsStore;
  if (helper !== undefined && helper !== '') {
    if (typeof helper !== 'string' || !HELPER_NAME_RE.test(helper))
      throw new AlbaError('USAGE', `${path}: a credential helper name must be a plain name (letters, digits, . _ -)`, {
        hint: 'docker runs docker-credential-NAME from PATH; fix "credsStore" or "credHelpers" there',
      });
    const fromHelper = await runHelper(helper, isDockerHub(registry) ? 'https://index.docker.io/v1/' : registry, env);
    if (fromHelper !== undefined) return { credentials: fromHelper, source: `${path} (credential helper ${helper})` };
  }
  const auths = isRecord(file.auths) ? file.auths : {};
  const found = Object.entries(auths).find(([key]) => keys.includes(normalizeKey(key)))?.[1];
  if (found === undefined) return undefined;
  const entry = checkedEntry(found, registry, path);
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
  return isDockerHub(registry) ? DOCKER_HUB_KEYS.map(normalizeKey) : [registry];
}

/** True for each of Docker Hub's names. */
function isDockerHub(registry: string): boolean {
  return DOCKER_HUB_KEYS.includes(registry);
}

/** True when the names (as normalizeKey leaves them) are the same registry: equal, or both Docker Hub. */
function sameRegistry(a: string, b: string): boolean {
  return a === b || (isDockerHub(a) && isDockerHub(b));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An `auths` entry whose fields are strings, else USAGE naming the registry and the file (never the content). */
function checkedEntry(entry: unknown, registry: string, path: string): AuthEntry {
  const fields = ['auth', 'username', 'password', 'identitytoken'] as const;
  if (!isRecord(entry) || fields.some((f) => entry[f] !== undefined && typeof entry[f] !== 'string'))
    throw new AlbaError('USAGE', `${path}: the entry of ${registry} in "auths" is not an object of strings`, {
      hint: 'e.g. {"auths": {"registry.example": {"auth": "<base64 of user:password>"}}}',
    });
  return entry as AuthEntry;
}

/** `https://host/v1/` → `host` (Docker Hub's key stays whole, as docker writes it). */
function normalizeKey(key: string): string {
  if (DOCKER_HUB_KEYS.includes(key)) return key;
  return key.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

/** The auth file at `path`, undefined when there is none; USAGE when it is there but cannot be one (a directory, a FIFO, /dev/zero, too large, unreadable). */
async function readAuthFile(path: string): Promise<AuthFile | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readSmallFile(
      path,
      MAX_AUTH_FILE,
      (why, cause) =>
        new AlbaError('USAGE', `${path} ${why}`, {
          hint: 'this is not a docker or podman auth file: fix or remove it',
          ...(cause === undefined ? {} : { cause }),
        }),
    );
  } catch (err) {
    // none, or one this user may not read (another user's home, as docker skips it with a warning)
    if (isMissingFile(err) || ['EACCES', 'EPERM'].includes(((err as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? ''))
      return undefined;
    throw err;
  }
  return parseAuthFile(bytes.toString('utf8'), path);
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
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: HELPER_TIMEOUT_MS });
    // a helper that exits before reading its input: its close says why
    child.stdin.on('error', () => undefined);
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
    child.on('close', (code, signal) => {
      if (signal !== null)
        return reject(
          new AlbaError('USAGE', `the credential helper ${program} did not answer for ${server} within ${HELPER_TIMEOUT_MS / 1000} s`, {
            hint: `run "${program} get" by hand to see why, or pass --creds`,
          }),
        );
      if (code !== 0) {
        if (/not found/i.test(`${out}${err}`)) return resolve(undefined);
        return reject(
          // its stderr only: stdout is where a helper writes the secret, even one that then fails
          new AlbaError(
            'USAGE',
            `the credential helper ${program} failed for ${server}: ${err.trim().slice(0, 200) || `exit status ${code}`}`,
            {
              hint: `run "${program} get" by hand to see why, or pass --creds`,
            },
          ),
        );
      }
      let parsed: { Username?: unknown; Secret?: unknown } | null;
      try {
        parsed = JSON.parse(out) as { Username?: unknown; Secret?: unknown } | null;
      } catch {
        return reject(
          new AlbaError('USAGE', `the credential helper ${program} printed something that is not JSON`, {
            hint: `run "${program} get" by hand to see why`,
          }),
        );
      }
      // its fields are strings (docker's protocol); anything else is refused, never sent as "[object Object]"
      if (
        typeof parsed !== 'object' ||
        parsed === null ||
        !['string', 'undefined'].includes(typeof parsed.Secret) ||
        !['string', 'undefined'].includes(typeof parsed.Username)
      )
        return reject(
          new AlbaError('USAGE', `the credential helper ${program} answered for ${server} without a string Username and Secret`, {
            hint: `run "${program} get" by hand to see why, or pass --creds`,
          }),
        );
      const { Username: username, Secret: secret } = parsed as { Username?: string; Secret?: string };
      if (secret === undefined || secret === '') return resolve(undefined);
      resolve(
        username === '<token>' ? { username: '', password: '', identityToken: secret } : { username: username ?? '', password: secret },
      );
    });
    child.stdin.end(`${server}\n`);
  });
}
