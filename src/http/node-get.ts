/**
 * Plain GETs through Node's own HTTP client (node:http, node:https), for Debian mirrors: indexes,
 * Release files and .debs. Same limits as the one HTTP layer (request.ts: a deadline for the
 * headers, an idle timeout between two chunks, a minimum rate, credentials of the URL sent as
 * basic auth to its origin only, never printed), redirects followed (at most 5).
 *
 * Why not undici here: undici 6's HTTP/1 client crashes the process with an uncatchable
 * `AssertionError: assert(!this.paused)` when a server that closes its connections (HTTP/1.0,
 * `Connection: close`: some mirrors and proxies) sends its FIN while the parser is paused because
 * the body's consumer is slower than the network (nodejs/undici#5360, fixed in undici 8, which
 * needs Node 22). Node's client applies backpressure by pausing the socket, and reports a body
 * cut short as an error.
 */
import { request as httpRequest, STATUS_CODES, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform, type Readable } from 'node:stream';
import { AlbaError, redactUrl } from '../errors.js';
import { proxyFor, tunnelAgent, type Proxy } from './proxy.js';
import { HTTP_DEFAULTS, rateWatch, type HttpLimits } from './limits.js';
import { describe, NetworkError, splitCredentials, type AnswerHeaders } from './request.js';

/** Redirects followed before the redirect itself is returned (as undici's maxRedirections). */
const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** An answer that is not read (an error status, a redirect) is drained up to this many bytes to keep its connection; beyond, the connection is closed. */
const DISCARD_BYTES = 64 * 1024;

/** One GET. */
export interface GetRequest extends HttpLimits {
  url: string;
  /** The hint of a NETWORK error. */
  networkHint: string;
}

/** An answer whose body has not been read yet. */
export interface GetResponse {
  status: number;
  statusText: string;
  headers: AnswerHeaders;
  /** The body, watched by the idle timeout and the minimum rate; a body shorter than its Content-Length is a NETWORK error. */
  stream(): Readable;
  /** Drops the body. */
  discard(): Promise<void>;
}

/** GETs `url` (no retries: see retry.ts) and returns the answer whatever its status. */
export async function get(request: GetRequest): Promise<GetResponse> {
  const idleMs = request.idleMs ?? HTTP_DEFAULTS.idleMs;
  const shown = redactUrl(request.url);
  const { target, headers: credentials } = splitCredentials(request.url);
  const origin = new URL(target).origin;
  let why: string | undefined;
  let tooSlow = false;
  let through = ''; // the proxy of the current hop, for messages (never its credentials)
  const fail = (err: unknown, duringBody: boolean): NetworkError =>
    err instanceof NetworkError
      ? err
      : new NetworkError(
          `cannot reach ${shown}${through}: ${why ?? describe(err)}${duringBody ? ' (while receiving the body)' : ''}`,
          request.networkHint,
          err,
          duringBody,
          tooSlow,
        );

  let url = new URL(target);
  for (let hops = 0; ; hops++) {
    // credentials go to the origin of the URL they came with, never to another one a redirect names
    const headers = url.origin === origin ? credentials : {};
    let timer: NodeJS.Timeout | undefined;
    let req: ClientRequest | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        why = `no answer for ${idleMs / 1000} s`;
        req?.destroy(new Error(why));
      }, idleMs);
    };
    const disarm = (): void => clearTimeout(timer);
    arm();
    let res: IncomingMessage;
    let via: Proxy | undefined;
    try {
      via = proxyFor(url);
      through = via === undefined ? '' : ` (through the proxy ${via.origin})`;
      res = await new Promise<IncomingMessage>((resolve, reject) => {
        const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
        req =
          via === undefined
            ? send(url, { method: 'GET', headers }, resolve)
            : url.protocol === 'https:'
              ? httpsRequest(url, { method: 'GET', headers, agent: tunnelFor(via) }, resolve)
              : forward(via, url, headers, resolve);
        req.on('error', reject);
        req.end();
      });
    } catch (err) {
      disarm();
      throw fail(err, false);
    }
    if (via !== undefined && res.statusCode === 407) {
      await drain(res, arm);
      disarm();
      throw new AlbaError('NETWORK', `GET ${shown}: the proxy ${via.origin} answered 407 Proxy Authentication Required`, {
        hint: 'put the proxy credentials in the proxy URL: HTTP_PROXY=http://USER:PASSWORD@HOST:PORT (they are never printed)',
      });
    }
    const location = res.headers.location;
    if (REDIRECTS.has(res.statusCode ?? 0) && location !== undefined && hops < MAX_REDIRECTS) {
      await drain(res, arm);
      disarm();
      const next = URL.canParse(location, url) ? new URL(location, url) : undefined;
      if (next === undefined || (next.protocol !== 'http:' && next.protocol !== 'https:')) {
        throw new AlbaError('HTTP_STATUS', `GET ${shown}: redirected to ${redactUrl(location)}, which is not an http(s) URL`, {
          hint: 'the server is misconfigured; fetch from another mirror with --mirror',
        });
      }
      url = next;
      continue;
    }
    const answer = res;
    const status = answer.statusCode ?? 0;
    return {
      status,
      statusText: STATUS_CODES[status] ?? '',
      headers: { get: (name) => headerValue(answer.headers[name.toLowerCase()]) },
      stream: () =>
        watchedBody(answer, {
          request,
          arm,
          disarm,
          fail,
          slow: (message) => ((why = message), (tooSlow = true), answer.destroy(new Error(message))),
        }),
      discard: async () => {
        await drain(answer, arm);
        disarm();
      },
    };
  }
}

const tunnels = new Map<string, ReturnType<typeof tunnelAgent>>();

/** The CONNECT-tunnelling agent of a proxy (one pool per proxy). */
function tunnelFor(proxy: Proxy): ReturnType<typeof tunnelAgent> {
  let agent = tunnels.get(proxy.uri);
  if (agent === undefined) tunnels.set(proxy.uri, (agent = tunnelAgent(proxy, true)));
  return agent;
}

/** A plain-http GET through a forwarding proxy, as apt and curl send it: the absolute URL as the request target. */
function forward(proxy: Proxy, url: URL, headers: Record<string, string>, onAnswer: (res: IncomingMessage) => void): ClientRequest {
  return httpRequest(
    {
      host: proxy.host,
      port: proxy.port,
      method: 'GET',
      path: url.href,
      headers: { ...headers, host: url.host, ...(proxy.authorization === undefined ? {} : { 'proxy-authorization': proxy.authorization }) },
    },
    onAnswer,
  );
}

/** The body through a pass-through that re-arms the idle timer per chunk, feeds the rate watch and checks the length at the end. */
function watchedBody(
  res: IncomingMessage,
  watch: {
    request: HttpLimits;
    arm(): void;
    disarm(): void;
    fail(err: unknown, duringBody: boolean): NetworkError;
    slow(message: string): void;
  },
): Readable {
  const declared = res.headers['content-length'];
  const length = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
  const rate = rateWatch(watch.request, watch.slow);
  let received = 0;
  watch.arm();
  const out = new Transform({
    transform(chunk: Buffer, _enc, done) {
      watch.arm();
      received += chunk.length;
      rate.add(chunk.length);
      done(null, chunk);
    },
    flush(done) {
      watch.disarm();
      rate.stop();
      if (length !== undefined && received !== length)
        done(watch.fail(new Error(`the connection closed after ${received} of ${length} bytes`), true));
      else done();
    },
  });
  res.on('error', (err) => out.destroy(watch.fail(err, true)));
  // a response cut short is 'aborted' (then 'error' on Node 20; only 'close' on some versions)
  res.on('aborted', () =>
    out.destroy(watch.fail(new Error(`the connection closed after ${received} bytes${length === undefined ? '' : ` of ${length}`}`), true)),
  );
  out.on('close', () => {
    watch.disarm();
    rate.stop();
    if (!res.complete) res.destroy();
  });
  return res.pipe(out);
}

/** Reads and drops a small body so its connection can be reused (the idle timer re-armed per chunk); closes the connection of a large one. */
async function drain(res: IncomingMessage, arm: () => void): Promise<void> {
  let seen = 0;
  await new Promise<void>((resolve) => {
    res.on('data', (chunk: Buffer) => {
      arm();
      seen += chunk.length;
      if (seen > DISCARD_BYTES) res.destroy();
    });
    res.on('close', resolve);
    res.on('error', () => undefined);
  });
}

function headerValue(value: string | string[] | undefined): string | null {
  return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
}
