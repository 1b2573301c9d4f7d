/**
 * Plain GETs through Node's own HTTP client (node:http, node:https), for Debian mirrors (indexes,
 * Release files and .debs) and for a registry's GETs (manifests, blobs, tags, tokens: one hop each,
 * registry/transport.ts follows the redirects). Same limits as the one HTTP layer (request.ts: a
 * deadline for the headers, an idle timeout between two chunks, a minimum rate, credentials of the
 * URL sent as basic auth to its origin only, never printed), redirects followed (at most 5) unless
 * asked not to, `--ca-file` and `--insecure-skip-tls-verify` as for every request.
 *
 * Why not undici here: undici 6's HTTP/1 client crashes the process with an uncatchable
 * `AssertionError: assert(!this.paused)` when a server that closes its connections (HTTP/1.0,
 * `Connection: close`: some mirrors and proxies) sends its FIN while the parser is paused because
 * the body's consumer is slower than the network (nodejs/undici#5360, fixed in undici 8, which
 * needs Node 22). Node's client applies backpressure by pausing the socket, and reports a body
 * cut short as an error.
 */
import { request as httpRequest, STATUS_CODES, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { AlbaError, redactUrl } from '../errors.js';
import { proxyFor, tunnelAgent, type Proxy } from './proxy.js';
import { HTTP_DEFAULTS, idleMsFromEnvironment, rateWatch, type HttpLimits } from './limits.js';
import { readBody } from './read-body.js';
import { describe, NetworkError, networkHint, splitCredentials, tlsConnectOptions, type HttpResponse, type TlsOptions } from './request.js';

/** Redirects followed before the redirect itself is returned (as undici's maxRedirections). */
const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** An answer that is not read (an error status, a redirect) is drained up to this many bytes to keep its connection; beyond, the connection is closed. */
const DISCARD_BYTES = 64 * 1024;

/** One GET. */
export interface GetRequest extends HttpLimits {
  url: string;
  /** The hint of a NETWORK error (how to trust a certificate when it is about TLS). */
  networkHint?: string;
  /** Headers sent to the URL's origin only (never to another one a redirect names). */
  headers?: Record<string, string>;
  /** Follow redirects (default true); else a redirect is the answer. */
  redirect?: boolean;
  tls?: TlsOptions;
}

/** An answer whose body has not been read yet (a body shorter than its Content-Length is a NETWORK error). */
export type GetResponse = HttpResponse;

/** GETs `url` (no retries: see retry.ts) and returns the answer whatever its status. */
export async function get(request: GetRequest): Promise<GetResponse> {
  const idleMs = request.idleMs ?? idleMsFromEnvironment() ?? HTTP_DEFAULTS.idleMs;
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
          networkHint(why ?? describe(err), request.networkHint),
          err,
          duringBody,
          tooSlow,
        );

  let url = new URL(target);
  for (let hops = 0; ; hops++) {
    // credentials go to the origin of the URL they came with, never to another one a redirect names
    const headers = url.origin === origin ? { ...credentials, ...request.headers } : {};
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
    // before the request: a proxy setting or a --ca-file alba cannot use is USAGE, not a NETWORK error to retry
    const via = proxyFor(url);
    const agent = url.protocol === 'https:' ? (via === undefined ? tlsAgent(request.tls) : tunnelFor(via, request.tls)) : undefined;
    through = via === undefined ? '' : ` (through the proxy ${via.origin})`;
    arm();
    let res: IncomingMessage;
    try {
      res = await new Promise<IncomingMessage>((resolve, reject) => {
        req =
          url.protocol === 'https:'
            ? httpsRequest(url, { method: 'GET', headers, agent }, resolve)
            : via === undefined
              ? httpRequest(url, { method: 'GET', headers }, resolve)
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
    if (request.redirect !== false && REDIRECTS.has(res.statusCode ?? 0) && location !== undefined && hops < MAX_REDIRECTS) {
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
    const stream = (): Readable =>
      watchedBody(answer, {
        request,
        arm,
        disarm,
        fail,
        slow: (message) => ((why = message), (tooSlow = true), answer.destroy(new Error(message))),
      });
    return {
      status,
      statusText: STATUS_CODES[status] ?? '',
      headers: { get: (name) => headerValue(answer.headers[name.toLowerCase()]) },
      stream,
      bytes: (max, what, truncate = false) =>
        readBody(
          { contentLength: headerValue(answer.headers['content-length']), stream, drop: () => (disarm(), answer.destroy()) },
          { max, what, truncate, shown },
        ),
      discard: async () => {
        await drain(answer, arm);
        disarm();
      },
    };
  }
}

const tunnels = new Map<string, ReturnType<typeof tunnelAgent>>();
const agents = new Map<string, HttpsAgent | undefined>();

/** The CONNECT-tunnelling agent of a proxy (one pool per proxy and TLS setting). */
function tunnelFor(proxy: Proxy, tls: TlsOptions | undefined): ReturnType<typeof tunnelAgent> {
  const key = `${proxy.uri} ${tlsKey(tls)}`;
  let agent = tunnels.get(key);
  if (agent === undefined) tunnels.set(key, (agent = tunnelAgent(proxy, true, tlsConnectOptions(tls))));
  return agent;
}

/** The agent of a TLS setting (undefined: Node's global one, for the system's CAs). */
function tlsAgent(tls: TlsOptions | undefined): HttpsAgent | undefined {
  const key = tlsKey(tls);
  if (key === '') return undefined;
  if (!agents.has(key)) agents.set(key, new HttpsAgent({ keepAlive: true, ...tlsConnectOptions(tls) }));
  return agents.get(key);
}

function tlsKey(tls: TlsOptions | undefined): string {
  return tls?.insecureSkipVerify === true || tls?.caFile !== undefined ? `${tls.insecureSkipVerify === true} ${tls.caFile ?? ''}` : '';
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
  if (res.destroyed && !res.complete) {
    // cut before it was asked for (the idle timer while the caller did something else): no event is to come
    const cut = new PassThrough();
    process.nextTick(() => cut.destroy(watch.fail(new Error('the connection closed before the body was read'), true)));
    return cut;
  }
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
  // one already ended or cut (by the idle timer while the caller did something else) has no 'close' to come
  if (res.destroyed || res.closed) return;
  arm();
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
