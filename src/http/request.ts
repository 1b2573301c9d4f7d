/**
 * The HTTP layer of a registry's requests other than GETs (those go through node-get.ts, which
 * shares its limits, errors and TLS options): streamed request and response bodies,
 * a deadline for the answer's headers, an idle timeout between two chunks of a body, a minimum
 * rate over a window (a server dripping bytes is given up), size caps on bodies read into
 * memory, and credentials kept out of every message. Through the environment's proxy
 * (HTTPS_PROXY/HTTP_PROXY/NO_PROXY: proxy.ts) as a CONNECT tunnel.
 */
import { type Readable, Transform } from 'node:stream';
import type { Dispatcher } from 'undici';
import { AlbaError, isAlbaError, redactUrl } from '../errors.js';
import { proxyFor, type Proxy } from './proxy.js';
import { HTTP_DEFAULTS, idleMsFromEnvironment, rateWatch, type HttpLimits } from './limits.js';
import { decodedUserInfo } from './urls.js';
import { through } from '../util/through.js';
import { readBody } from './read-body.js';
import { loadUndici, type UndiciCore } from './undici-core.js';
import { readSmallFileSync, type Refusal } from '../util/regular-file.js';

/** The largest --ca-file read (a system's whole bundle is ~200 KiB). */
const MAX_CA_FILE = 16 * 1024 * 1024;

/** One request. */
export interface HttpRequest extends HttpLimits {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** The body, made afresh for each attempt; its length goes in Content-Length when known. */
  body?: () => Promise<{ stream: Readable | Buffer; length?: number }>;
  /** Follow redirects (default true). */
  redirect?: boolean;
  /** The hint of a NETWORK error (default: check the address and the connection). */
  networkHint?: string;
  tls?: TlsOptions;
}

/** How to trust an https server. */
export interface TlsOptions {
  /** Accept any certificate (`--insecure-skip-tls-verify`). */
  insecureSkipVerify?: boolean;
  /** A PEM file of CA certificates to trust instead of the system's (`--ca-file`). */
  caFile?: string;
}

/** The headers of an answer, by case-insensitive name. */
export interface AnswerHeaders {
  /** The value (repeated headers joined with `, `), or null. */
  get(name: string): string | null;
}

/** An answer whose body has not been read yet. */
export interface HttpResponse {
  status: number;
  statusText: string;
  headers: AnswerHeaders;
  /** The body as a stream, watched by the idle timeout and the minimum rate. */
  stream(): Readable;
  /** The whole body, refused above `max` bytes (TOO_LARGE naming `what`; at once when its Content-Length declares more); with `truncate`, its first `max` bytes. */
  bytes(max: number, what: string, truncate?: boolean): Promise<Buffer>;
  /** Drops the body. */
  discard(): Promise<void>;
}

/** A failure to reach the server or a connection lost: the request may be tried again. */
export class NetworkError extends AlbaError {
  constructor(
    message: string,
    hint: string,
    cause: unknown,
    /** True when the body of the answer was cut (the request itself had worked). */
    readonly duringBody: boolean,
    /** True when the body was given up for coming slower than the minimum rate: trying again would be as slow. */
    readonly tooSlow = false,
  ) {
    super('NETWORK', message, { hint, cause });
  }
}

const NETWORK_HINT = 'check the network connection and the address; the server may be down or too slow';
const TLS_TROUBLE = /CERT|certificate|self[- ]signed|UNABLE_TO_VERIFY|ERR_TLS|SSL/i;
const TLS_HINT =
  "the server's TLS certificate is not trusted: pass --ca-file FILE with its CA, or --insecure-skip-tls-verify (or --plain-http if it serves http)";

/** The hint of a NETWORK error whose reason is `reason`: how to trust a certificate when it is about TLS, else `given` or the default. */
export function networkHint(reason: string, given?: string): string {
  return TLS_TROUBLE.test(reason) ? TLS_HINT : (given ?? NETWORK_HINT);
}

/** Sends one request (no retries: see retry.ts) and returns the answer whatever its status. */
export async function send(request: HttpRequest): Promise<HttpResponse> {
  const idleMs = request.idleMs ?? idleMsFromEnvironment() ?? HTTP_DEFAULTS.idleMs;
  const { target, headers: credentialHeaders } = splitCredentials(request.url);
  const proxy = proxyFor(new URL(target));
  const shown = `${request.method === 'GET' ? '' : `${request.method} `}${redactUrl(request.url)}${proxy === undefined ? '' : ` (through the proxy ${proxy.origin})`}`;
  const controller = new AbortController();
  let why: string | undefined;
  let tooSlow = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      why = `no answer for ${idleMs / 1000} s`;
      controller.abort();
    }, idleMs);
  };
  const disarm = (): void => clearTimeout(timer);
  const fail = (err: unknown, duringBody: boolean): NetworkError => {
    if (err instanceof NetworkError) return err;
    const reason = why ?? describe(err);
    const hint = networkHint(reason, request.networkHint);
    return new NetworkError(
      `cannot reach ${shown}: ${reason}${duringBody ? ' (while receiving the body)' : ''}`,
      hint,
      err,
      duringBody,
      tooSlow,
    );
  };

  const body = request.body === undefined ? undefined : await request.body();
  const headers: Record<string, string> = { ...credentialHeaders, ...request.headers };
  if (body?.length !== undefined) headers['content-length'] = String(body.length);
  const undici = await loadUndici();
  const dispatcher = dispatcherFor(request.tls, proxy, undici);
  // the idle timeout runs from the request's last chunk sent: a large body on a slow link is not "no answer"
  const sending =
    body === undefined || Buffer.isBuffer(body.stream)
      ? body?.stream
      : through(
          body.stream,
          new Transform({
            transform(chunk: Buffer, _enc, done) {
              arm();
              done(null, chunk);
            },
          }),
        );
  arm();
  let res: Dispatcher.ResponseData;
  try {
    const url = new URL(target);
    res = await dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: request.method as Dispatcher.HttpMethod,
      headers,
      signal: controller.signal,
      maxRedirections: request.redirect === false || body !== undefined ? 0 : 5,
      headersTimeout: 0,
      bodyTimeout: 0,
      ...(sending === undefined ? {} : { body: sending }),
    });
  } catch (err) {
    disarm();
    const bodyFailure = sending === undefined || Buffer.isBuffer(sending) ? null : sending.errored;
    if (sending !== undefined && !Buffer.isBuffer(sending)) sending.destroy();
    // the body's own failure (a local blob that is not its digest or size: SIZE_MISMATCH…) is not the
    // network's: it was NETWORK, retried four times, with a hint to check the connection
    if (isAlbaError(bodyFailure) && !(bodyFailure instanceof NetworkError)) throw bodyFailure;
    throw fail(err, false);
  }
  const answerHeaders = toHeaders(res.headers);

  const stream = (): Readable => {
    const source = res.body as unknown as Readable;
    const rate = rateWatch(request, (message) => {
      why = message;
      tooSlow = true;
      controller.abort();
    });
    const out = new Transform({
      transform(chunk: Buffer, _enc, done) {
        arm();
        rate.add(chunk.length);
        done(null, chunk);
      },
      flush(done) {
        disarm();
        rate.stop();
        done();
      },
    });
    source.on('error', (err) => out.destroy(fail(err, true)));
    out.on('close', () => {
      disarm();
      rate.stop();
      if (!source.readableEnded) source.destroy();
    });
    return source.pipe(out);
  };

  return {
    status: res.statusCode,
    statusText: STATUS_TEXT[res.statusCode] ?? '',
    headers: answerHeaders,
    stream,
    bytes: (max, what, truncate = false) =>
      readBody(
        {
          contentLength: answerHeaders.get('content-length'),
          stream,
          // refused on its declared length, before reading any of it
          drop: () => {
            disarm();
            res.body.on('error', () => undefined).destroy();
          },
        },
        { max, what, truncate, shown },
      ),
    async discard() {
      // a body that never comes is given up after the idle timeout too (the abort ends the dump)
      arm();
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      disarm();
    },
  };
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  410: 'Gone',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const agents = new Map<string, Dispatcher>();

/** One connection pool per TLS setting and proxy (one default pool when there is neither); a proxy's pool tunnels with CONNECT. */
function dispatcherFor(tls: TlsOptions | undefined, proxy: Proxy | undefined, undici: UndiciCore): Dispatcher {
  const custom = tls !== undefined && (tls.insecureSkipVerify === true || tls.caFile !== undefined);
  if (!custom && proxy === undefined) {
    let pool = agents.get('');
    if (pool === undefined) agents.set('', (pool = new undici.Agent()));
    return pool;
  }
  const key = `${tls?.insecureSkipVerify === true} ${tls?.caFile ?? ''} ${proxy?.uri ?? ''}`;
  let agent = agents.get(key);
  if (agent === undefined) {
    const connect = tlsConnectOptions(tls);
    // the proxy's credentials reach undici only inside its URI (sent as Proxy-Authorization to the proxy);
    // its CONNECT is answered within the idle timeout, as openTunnel's (undici's default: 300 s, and
    // the request's abort does not reach a tunnel being opened)
    const headersTimeout = idleMsFromEnvironment() ?? HTTP_DEFAULTS.idleMs;
    agent =
      proxy === undefined
        ? new undici.Agent({ connect })
        : new undici.ProxyAgent({
            uri: proxy.uri,
            requestTls: connect,
            clientFactory: (origin, options) => new undici.Pool(origin, { ...options, headersTimeout }),
          });
    agents.set(key, agent);
  }
  return agent;
}

/** The TLS options of a connection for `tls`: whether to check the certificate, and the CAs of `--ca-file` (USAGE when unreadable). */
export function tlsConnectOptions(tls: TlsOptions | undefined): { rejectUnauthorized: boolean; ca?: Buffer } {
  let ca: Buffer | undefined;
  const caFile = tls?.caFile;
  if (caFile !== undefined) {
    // a CA bundle is a few hundred KiB: a FIFO or /dev/zero given here is refused, never read without end
    const refuse: Refusal = (why, cause) =>
      new AlbaError('USAGE', `--ca-file ${caFile} ${why}`, {
        hint: 'give a PEM file of CA certificates',
        ...(cause === undefined ? {} : { cause }),
      });
    try {
      ca = readSmallFileSync(caFile, MAX_CA_FILE, refuse);
    } catch (cause) {
      throw cause instanceof AlbaError ? cause : refuse('does not exist', cause);
    }
  }
  return { rejectUnauthorized: tls?.insecureSkipVerify !== true, ...(ca === undefined ? {} : { ca }) };
}

/** undici's header record (lowercase names) as AnswerHeaders. */
function toHeaders(record: Record<string, string | string[] | undefined>): AnswerHeaders {
  return {
    get(name) {
      const value = record[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/** Moves `user:password@` out of the URL into an Authorization header (fetch refuses them in URLs). */
export function splitCredentials(url: string): { target: string; headers: Record<string, string> } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new AlbaError('USAGE', `not a valid URL: ${redactUrl(url)}`, {
      hint: 'write the address as http(s)://host[:port]/path',
      cause: err,
    });
  }
  if (parsed.username === '' && parsed.password === '') return { target: url, headers: {} };
  const [user, password] = decodedUserInfo(
    parsed,
    () =>
      new AlbaError('USAGE', `${redactUrl(url)}: its user or password holds a % that is not an escape`, {
        hint: 'write a % in a user name or password as %25',
      }),
  );
  const basic = Buffer.from(`${user}:${password}`).toString('base64');
  parsed.username = '';
  parsed.password = '';
  return { target: parsed.toString(), headers: { authorization: `Basic ${basic}` } };
}

/** The most telling part of a fetch failure: undici hides the socket error in `cause`. */
export function describe(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  if (!(e instanceof Error)) return String(e);
  const code = (e as NodeJS.ErrnoException).code;
  if (e instanceof AggregateError && e.errors.length > 0) return describe(e.errors[0]);
  if (e.message !== '') return code !== undefined && !e.message.includes(code) ? `${code} ${e.message}` : e.message;
  return code ?? e.name;
}
