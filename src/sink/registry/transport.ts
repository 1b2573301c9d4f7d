import { AlbaError, redactUrl } from '../../errors.js';
import { idleMsFromEnvironment, type HttpLimits } from '../../http/limits.js';
import { get } from '../../http/node-get.js';
import { NetworkError, send, type HttpRequest, type HttpResponse, type TlsOptions } from '../../http/request.js';
import { DEFAULT_RETRY, parseRetryAfter, retryableStatus, RetryableAnswer, withRetry, type RetryPolicy } from '../../http/retry.js';
import { basicAuthorization, parseChallenges, type Challenge, type Credentials } from './auth.js';
import { registryUrl } from '../../http/urls.js';
import { parseErrorBody, RegistryError } from './registry-error.js';

/** How to talk to one registry. */
export interface TransportOptions extends HttpLimits {
  credentials?: Credentials;
  retry?: RetryPolicy;
  tls?: TlsOptions;
  /** Told of every pause before a retry (for the trace). */
  onRetry?: (what: string, delayMs: number) => void;
}

/** One registry request: the body is a factory, so a retry or a re-authentication can send it again. */
export interface RegistryRequest {
  headers?: Record<string, string>;
  body?: HttpRequest['body'];
  /** Retry on failures that allow it (default true); false for the steps of a blob upload session. */
  retry?: boolean;
}

/** Error bodies are small JSON; anything longer is cut when reading them. */
const MAX_ERROR_BODY = 64 * 1024;
/** Token answers are small JSON (a JWT is a few kB). */
const MAX_TOKEN_BODY = 256 * 1024;
/** A token answer, headers and body, must be complete within this (or the idle timeout when shorter). */
const TOKEN_DEADLINE_MS = 10_000;
/** Redirects followed for one request (GET and HEAD only). */
const MAX_REDIRECTS = 5;
const REDIRECT_STATUS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * HTTP to one registry for one set of token scopes: sends requests with the right Authorization,
 * answering a 401 with basic auth or the bearer token flow its `WWW-Authenticate` asks for (a
 * refresh/identity token through the OAuth2 POST grant, else GET with basic auth), retrying
 * 408/429/5xx answers and lost connections by the one retry policy.
 *
 * Credentials go only where they belong: the Authorization header only to the registry's own
 * origin (scheme, host and port of `baseUrl`), basic credentials also to the token realm for the
 * token request. An upload `Location`, a tags `Link` or a redirect to another origin (a storage
 * backend, which checks its URL's own signature) is sent no credentials, and its 401 challenges
 * are not answered. Redirects are followed here (GET and HEAD), hop by hop, by that rule.
 */
export class RegistryTransport {
  private authorization: string | undefined;
  private challenge: Challenge | undefined;
  /** The URL each answer came from, when redirects led elsewhere than asked: errors name it, and whether it is another origin. */
  private readonly answeredAt = new WeakMap<HttpResponse, string>();

  constructor(
    /** `http(s)://host[:port]`, no trailing slash. */
    readonly baseUrl: string,
    /** Token scopes, e.g. `repository:team/app:pull,push` and `repository:other:pull` for a mount. */
    private readonly scopes: readonly string[],
    private readonly options: TransportOptions = {},
  ) {}

  /** The absolute URL of an API path such as `/v2/`. */
  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  /** Sends `method url`; returns the answer whatever its status, but for retryable ones while tries are left. */
  async request(method: string, url: string, request: RegistryRequest = {}): Promise<HttpResponse> {
    const once = async (): Promise<HttpResponse> => {
      // `at`: the URL that answered, after the redirects followed (a storage backend's, maybe)
      let { res, at } = await this.send(method, url, request);
      if (res.status === 401 && !this.ownOrigin(at)) {
        // Another origin asking for credentials gets none, nor do its challenges name a token realm alba would trust.
      } else if (res.status === 401 && (await this.authorize(res))) {
        await res.discard();
        ({ res, at } = await this.send(method, url, request));
      } else if (res.status === 401 && this.challenge !== undefined && insufficientScope(res)) {
        await res.discard();
        this.authorization = `Bearer ${await this.token(this.challenge)}`;
        ({ res, at } = await this.send(method, url, request));
      }
      this.answeredAt.set(res, at);
      if (request.retry !== false && retryableStatus(res.status)) {
        throw new RetryableAnswer(res.status, parseRetryAfter(res.headers.get('retry-after')), await this.error(method, url, res));
      }
      return res;
    };
    if (request.retry === false) return once();
    return withRetry(once, this.options.retry ?? DEFAULT_RETRY, (err, delay) =>
      this.options.onRetry?.(`${method} ${redactUrl(url)}: ${err.message}`, delay),
    );
  }

  /** Throws the RegistryError for a failed answer (reads its `errors[]`). */
  async fail(method: string, url: string, res: HttpResponse): Promise<never> {
    throw await this.error(method, url, res);
  }

  private async error(method: string, asked: string, res: HttpResponse): Promise<RegistryError> {
    const url = this.answeredAt.get(res) ?? asked;
    const body = await res.bytes(MAX_ERROR_BODY, 'error body', true).catch(() => Buffer.alloc(0));
    return new RegistryError({
      method,
      url,
      status: res.status,
      errors: parseErrorBody(body.toString('utf8')),
      anonymous: this.options.credentials === undefined,
      ...(this.ownOrigin(url) ? {} : { foreignOrigin: true }),
    });
  }

  /** True when `url` is on the registry's origin (scheme, host, port), the one place its Authorization goes. */
  ownOrigin(url: string): boolean {
    return sameOrigin(url, this.baseUrl);
  }

  /** One request with the Authorization its origin may have, following redirects of GET and HEAD hop by hop; `at` is the URL that answered. */
  private send(method: string, url: string, request: RegistryRequest): Promise<Scoped> {
    return sendScoped(
      { method, url, headers: request.headers ?? {}, ...(request.body === undefined ? {} : { body: request.body }), ...this.limits() },
      (to) => (this.authorization !== undefined && this.ownOrigin(to) ? this.authorization : undefined),
    );
  }

  private limits(): HttpLimits & { tls?: TlsOptions } {
    const { idleMs, minBytesPerSecond, rateWindowMs, tls } = this.options;
    return {
      ...(idleMs === undefined ? {} : { idleMs }),
      ...(minBytesPerSecond === undefined ? {} : { minBytesPerSecond }),
      ...(rateWindowMs === undefined ? {} : { rateWindowMs }),
      ...(tls === undefined ? {} : { tls }),
    };
  }

  /** Sets the Authorization a 401 asks for; false when there is nothing new to try. */
  private async authorize(res: HttpResponse): Promise<boolean> {
    const challenges = parseChallenges(res.headers.get('www-authenticate') ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm !== undefined);
    if (bearer !== undefined) {
      const previous = this.authorization;
      this.challenge = bearer;
      this.authorization = `Bearer ${await this.token(bearer)}`;
      return this.authorization !== previous;
    }
    const credentials = this.options.credentials;
    if (credentials === undefined || credentials.identityToken !== undefined || !challenges.some((c) => c.scheme === 'basic')) return false;
    const basic = basicAuthorization(credentials);
    if (this.authorization === basic) return false;
    this.authorization = basic;
    return true;
  }

  /**
   * A token for this transport's scopes (plus the challenge's own): with an identity (refresh)
   * token, the OAuth2 POST grant, falling back to GET on 404/405; otherwise GET realm?service=…&scope=…
   * with basic auth when there are credentials, anonymously otherwise.
   */
  private async token(challenge: Challenge): Promise<string> {
    const realm = registryUrl(challenge.params.realm as string, undefined, "the challenge's token realm");
    const credentials = this.options.credentials;
    if (credentials !== undefined && this.baseUrl.startsWith('https:') && realm.startsWith('http:')) {
      throw new AlbaError(
        'REGISTRY',
        `${this.baseUrl}: its token realm ${redactUrl(realm)} is plain http: the credentials are not sent there in clear`,
        {
          hint: 'the registry is served over TLS but names a token service without it; it is misconfigured or hostile',
        },
      );
    }
    const scopes = [...new Set([...(challenge.params.scope === undefined ? [] : challenge.params.scope.split(' ')), ...this.scopes])];
    if (credentials?.identityToken !== undefined) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: credentials.identityToken,
        client_id: 'alba',
        scope: scopes.join(' '),
      });
      if (challenge.params.service !== undefined) form.set('service', challenge.params.service);
      const res = await this.tokenRequest(
        'POST',
        realm,
        { 'content-type': 'application/x-www-form-urlencoded' },
        Buffer.from(form.toString()),
      );
      if (res.status !== 404 && res.status !== 405) return this.readToken('POST', realm, res);
      await res.discard();
    }
    const url = new URL(realm);
    if (challenge.params.service !== undefined) url.searchParams.set('service', challenge.params.service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const headers: Record<string, string> =
      credentials === undefined || credentials.identityToken !== undefined ? {} : { authorization: basicAuthorization(credentials) };
    return this.readToken('GET', url.href, await this.tokenRequest('GET', url.href, headers));
  }

  /** A request to the token realm: its basic credentials only to the realm's own origin, the answer's headers within the token deadline. */
  private tokenRequest(method: string, url: string, headers: Record<string, string>, body?: Buffer): Promise<HttpResponse> {
    const { authorization, ...rest } = headers;
    return withRetry(async () => {
      const { res } = await sendScoped(
        {
          method,
          url,
          headers: { accept: 'application/json', ...rest },
          ...(body === undefined ? {} : { body: async () => ({ stream: body, length: body.length }) }),
          ...this.limits(),
          ...this.tokenLimits(),
        },
        (to) => (authorization !== undefined && sameOrigin(to, url) ? authorization : undefined),
      );
      if (retryableStatus(res.status))
        throw new RetryableAnswer(res.status, parseRetryAfter(res.headers.get('retry-after')), await this.error(method, url, res));
      return res;
    }, this.options.retry ?? DEFAULT_RETRY);
  }

  /**
   * The token answer's deadline as HTTP limits: its headers within the deadline (idle timeout), and
   * its body too, since a body still open when the first rate window ends is given up (the window's
   * minimum is the body cap, above which it is TOO_LARGE anyway).
   */
  private tokenLimits(): Required<HttpLimits> {
    const deadline = this.tokenDeadline();
    return { idleMs: deadline, rateWindowMs: deadline, minBytesPerSecond: Math.ceil((MAX_TOKEN_BODY * 1000) / deadline) };
  }

  private tokenDeadline(): number {
    return Math.min(TOKEN_DEADLINE_MS, this.options.idleMs ?? idleMsFromEnvironment() ?? TOKEN_DEADLINE_MS);
  }

  private async readToken(method: string, url: string, res: HttpResponse): Promise<string> {
    if (res.status < 200 || res.status >= 300) await this.fail(method, url, res);
    // Final, not retried: a token service that does not finish its answer would only be waited for again.
    const bytes = await res.bytes(MAX_TOKEN_BODY, 'token answer').catch((err: unknown) => {
      if (!(err instanceof NetworkError)) throw err;
      const what = err.tooSlow ? `did not finish its answer within ${this.tokenDeadline() / 1000} s` : `cut its answer (${err.message})`;
      throw new AlbaError('NETWORK', `${method} ${redactUrl(url)}: the registry's token service ${what}`, {
        hint: "the registry's auth service (the realm of its WWW-Authenticate challenge, named above) is too slow, broken or hostile; retry later, or ask the registry's operator",
        cause: err,
      });
    });
    let parsed: { token?: unknown; access_token?: unknown };
    try {
      parsed = (JSON.parse(bytes.toString('utf8')) as typeof parsed | null) ?? {};
    } catch {
      parsed = {};
    }
    if (typeof parsed !== 'object') parsed = {};
    const token = typeof parsed.token === 'string' && parsed.token !== '' ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new AlbaError('REGISTRY', `${method} ${redactUrl(url)}: the token service answered without a token`, {
        hint: "the registry's auth service is misbehaving; retry later",
      });
    }
    return token;
  }
}

/** True when both URLs have the same scheme, host and port. */
export function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/**
 * Sends one request with the Authorization `authFor` gives for its URL (none when undefined),
 * following redirects of GET and HEAD itself, each hop asking `authFor` again: a redirect to
 * another origin (a blob GET sent to a storage backend) is sent no credentials.
 */
async function sendScoped(request: HttpRequest, authFor: (url: string) => string | undefined): Promise<Scoped> {
  const follow = request.body === undefined && (request.method === 'GET' || request.method === 'HEAD');
  let url = request.url;
  for (let hop = 0; ; hop++) {
    const authorization = authFor(url);
    const headers = { ...request.headers, ...(authorization === undefined ? {} : { authorization }) };
    // a GET through node:http (node-get.ts says why not undici: a server closing its connection
    // while a slow consumer holds the body crashes undici 6); other methods through undici
    const res =
      request.method === 'GET' && request.body === undefined
        ? await get({ ...request, url, headers, redirect: false })
        : await send({ ...request, url, headers, redirect: false });
    const location = res.headers.get('location');
    if (!follow || !REDIRECT_STATUS.has(res.status) || location === null) return { res, at: url };
    await res.discard();
    if (hop === MAX_REDIRECTS) {
      throw new AlbaError('REGISTRY', `${request.method} ${redactUrl(request.url)}: more than ${MAX_REDIRECTS} redirects`, {
        hint: 'the registry (or a proxy in front of it) redirects in a loop; check its configuration',
      });
    }
    url = registryUrl(location, url, `${request.method}: the redirect to`);
  }
}

/** An answer and the URL that gave it (the last of the redirects followed). */
interface Scoped {
  res: HttpResponse;
  at: string;
}

/** A 401 whose challenge says the token lacks a scope (e.g. it expired or was issued for less). */
function insufficientScope(res: HttpResponse): boolean {
  return /insufficient_scope|invalid_token/.test(res.headers.get('www-authenticate') ?? '');
}
