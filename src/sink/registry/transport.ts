import { AlbaError, redactUrl } from '../../errors.js';
import { basicAuthorization, parseChallenges, type Challenge, type Credentials } from './auth.js';
import { parseErrorBody, RegistryError } from './registry-error.js';

/** How to talk to one registry. */
export interface TransportOptions {
  credentials?: Credentials;
  /** Time allowed for one request, body included (default 60 s). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** Error bodies are small JSON; anything longer is cut when reading them. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * HTTP to one registry for one token scope: sends requests with the right Authorization, answering
 * a 401 once per request with basic auth or the bearer token flow its `WWW-Authenticate` asks for.
 */
export class RegistryTransport {
  private authorization: string | undefined;

  constructor(
    /** `http(s)://host[:port]`, no trailing slash. */
    readonly baseUrl: string,
    /** Token scope for the bearer flow, e.g. `repository:team/app:pull`. */
    private readonly scope: string,
    private readonly options: TransportOptions = {},
  ) {}

  /** The absolute URL of an API path such as `/v2/`. */
  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  /** Sends `method url`; returns the response whatever its status. */
  async request(method: string, url: string, headers: Record<string, string> = {}): Promise<Response> {
    const first = await this.send(method, url, headers);
    if (first.status !== 401) return first;
    const retry = await this.authorize(first);
    if (!retry) return first;
    await discard(first);
    return this.send(method, url, headers);
  }

  /** Throws the RegistryError for a failed response (reads its `errors[]`). */
  async fail(method: string, url: string, res: Response): Promise<never> {
    const body = await readBody(res, MAX_ERROR_BODY, `error body of ${method} ${url}`, true);
    throw new RegistryError({
      method,
      url,
      status: res.status,
      errors: parseErrorBody(body.toString('utf8')),
      anonymous: this.options.credentials === undefined,
    });
  }

  private async send(method: string, url: string, headers: Record<string, string>): Promise<Response> {
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const all = this.authorization === undefined ? headers : { ...headers, authorization: this.authorization };
    try {
      return await fetch(url, { method, headers: all, redirect: 'follow', signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw networkError(method, url, err, timeoutMs);
    }
  }

  /** Sets the Authorization a 401 asks for; false when there is nothing new to try. */
  private async authorize(res: Response): Promise<boolean> {
    const challenges = parseChallenges(res.headers.get('www-authenticate') ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm !== undefined);
    if (bearer !== undefined) {
      const previous = this.authorization;
      this.authorization = `Bearer ${await this.token(bearer)}`;
      return this.authorization !== previous;
    }
    const credentials = this.options.credentials;
    if (credentials === undefined || !challenges.some((c) => c.scheme === 'basic')) return false;
    const basic = basicAuthorization(credentials);
    if (this.authorization === basic) return false;
    this.authorization = basic;
    return true;
  }

  /** The token flow: GET realm?service=…&scope=… (with basic auth when there are credentials). */
  private async token(challenge: Challenge): Promise<string> {
    const url = new URL(challenge.params.realm as string);
    if (challenge.params.service !== undefined) url.searchParams.set('service', challenge.params.service);
    url.searchParams.set('scope', challenge.params.scope ?? this.scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.credentials !== undefined) headers.authorization = basicAuthorization(this.options.credentials);
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let res: Response;
    try {
      res = await fetch(url, { headers, redirect: 'follow', signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw networkError('GET', url.href, err, timeoutMs);
    }
    if (!res.ok) await this.fail('GET', url.href, res);
    const body = (await readBody(res, MAX_ERROR_BODY, `token from ${url.href}`)).toString('utf8');
    let parsed: { token?: unknown; access_token?: unknown };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      parsed = {};
    }
    const token = typeof parsed.token === 'string' ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new AlbaError('REGISTRY', `GET ${redactUrl(url.href)}: the token service answered without a token`, {
        hint: 'the registry\'s auth service is misbehaving; retry later',
      });
    }
    return token;
  }
}

/**
 * The whole body of `res`, refused when longer than `max` bytes (REGISTRY, naming `what`); with
 * `truncate`, the first `max` bytes instead.
 */
export async function readBody(res: Response, max: number, what: string, truncate = false): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  if (res.body === null) return Buffer.alloc(0);
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > max) {
      // leaving the loop cancels the body
      if (truncate) {
        chunks.push(Buffer.from(chunk));
        break;
      }
      throw new AlbaError('REGISTRY', `${what} is larger than ${max} bytes`, { hint: 'the registry sent something too large to be what alba asked for' });
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).subarray(0, max);
}

/** Drops a response body that will not be read. */
export async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

function networkError(method: string, url: string, err: unknown, timeoutMs: number): AlbaError {
  const name = (err as { name?: string }).name;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${timeoutMs / 1000} s` : (cause?.code ?? cause?.message ?? String(err));
  const https = url.startsWith('https:');
  return new AlbaError('NETWORK', `${method} ${redactUrl(url)}: cannot reach the registry: ${why}`, {
    hint: https ? 'check the registry address and port; if it serves plain HTTP, add --plain-http' : 'check the registry address and port, and that it is running',
    cause: err,
  });
}
