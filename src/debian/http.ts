import { Readable, Transform } from 'node:stream';
import { AlbaError, isAlbaError, redactUrl } from '../errors.js';
import { withRetries } from '../util/retry.js';

/** Options of one HTTP GET. */
export interface FetchOptions {
  /** Time allowed to connect and get the headers, and between two chunks of the body (default 30 s). */
  timeoutMs?: number;
}

/** A response body being received. */
export interface FetchedStream {
  body: Readable;
  /** Content-Length when the server sent one. */
  size: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const NETWORK_HINT = 'check the network connection and the repository URL, or fetch from a reachable mirror with --mirror';

/**
 * GETs `url` and streams its body. Non-2xx is AlbaError HTTP_STATUS; a failure to connect, a
 * timeout or a connection lost mid-body is NETWORK. A failure to connect and a 5xx/429 answer are
 * retried twice after a pause (see util/retry.ts); a body cut midway is the caller's to retry.
 * Credentials in the URL are sent as HTTP basic auth and never appear in messages.
 */
export async function fetchStream(url: string, options: FetchOptions = {}): Promise<FetchedStream> {
  return withRetries(async () => {
    const response = await get(url, options);
    if (!response.res.ok) {
      await response.res.body?.cancel().catch(() => undefined);
      response.done();
      throw statusError(url, response.res);
    }
    return { body: response.body(), size: contentLength(response.res) };
  }, isTransient);
}

/** True for failures worth one more try: the network, or a server saying it is busy or broken. */
export function isTransient(err: unknown): boolean {
  if (err instanceof HttpStatusError) return err.status >= 500 || err.status === 429;
  return isAlbaError(err, 'NETWORK');
}

/** GETs `url` into memory (for small files: Release, signatures); errors as fetchStream. */
export async function fetchBytes(url: string, options: FetchOptions = {}): Promise<Buffer> {
  const { body } = await fetchStream(url, options);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Like fetchBytes, but a 404 or 410 answer gives undefined instead of an error. */
export async function fetchBytesIfFound(url: string, options: FetchOptions = {}): Promise<Buffer | undefined> {
  try {
    return await fetchBytes(url, options);
  } catch (err) {
    if (err instanceof HttpStatusError && (err.status === 404 || err.status === 410)) return undefined;
    throw err;
  }
}

/** NETWORK while receiving a body: the request itself worked, so starting it again may succeed. */
class BodyCutError extends AlbaError {}

/** True when a body was cut midway (the caller, who dropped the partial data, may start again). */
export function isBodyCut(err: unknown): boolean {
  return err instanceof BodyCutError;
}

/** HTTP_STATUS with the status kept, so callers can treat 404 as "absent". */
class HttpStatusError extends AlbaError {
  constructor(
    message: string,
    readonly status: number,
    hint: string,
  ) {
    super('HTTP_STATUS', message, { hint });
  }
}

function statusError(url: string, res: Response): HttpStatusError {
  const hint =
    res.status === 404 || res.status === 410
      ? 'the file is not on the server: check the URL, suite, component and architecture'
      : res.status === 401 || res.status === 403
        ? 'the server refused access: check the credentials in the URL'
        : 'the server failed; retry later, or fetch from another mirror with --mirror';
  return new HttpStatusError(`GET ${redactUrl(url)}: ${res.status} ${res.statusText}`.trimEnd(), res.status, hint);
}

interface Pending {
  res: Response;
  /** The body as a Node stream that enforces the idle timeout and maps errors. */
  body(): Readable;
  /** Stops the timer (the response is not read). */
  done(): void;
}

async function get(url: string, options: FetchOptions): Promise<Pending> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { target, headers } = splitCredentials(url);
  const controller = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
  };
  const disarm = (): void => clearTimeout(timer);
  const networkError = (err: unknown, during: string): AlbaError =>
    new (during === '' ? AlbaError : BodyCutError)('NETWORK', `cannot reach ${redactUrl(url)}: ${timedOut ? `no answer for ${timeoutMs / 1000} s` : describe(err)}${during}`, {
      hint: NETWORK_HINT,
      cause: err,
    });
  arm();
  let res: Response;
  try {
    res = await fetch(target, { headers, signal: controller.signal, redirect: 'follow' });
  } catch (err) {
    disarm();
    throw networkError(err, '');
  }
  const body = (): Readable => {
    if (res.body === null) {
      disarm();
      return Readable.from([]);
    }
    const source = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    const out = new Transform({
      transform(chunk, _enc, done) {
        arm();
        done(null, chunk);
      },
      flush(done) {
        disarm();
        done();
      },
    });
    source.on('error', (err) => out.destroy(networkError(err, ' (while receiving the body)')));
    out.on('close', () => {
      disarm();
      if (!source.readableEnded) source.destroy();
    });
    return source.pipe(out);
  };
  return { res, body, done: disarm };
}

/** Moves `user:password@` out of the URL into an Authorization header (fetch refuses them in URLs). */
function splitCredentials(url: string): { target: string; headers: Record<string, string> } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new AlbaError('NETWORK', `cannot reach ${redactUrl(url)}: not a valid URL`, { hint: 'write the repository URL as http(s)://host/path', cause: err });
  }
  if (parsed.username === '' && parsed.password === '') return { target: url, headers: {} };
  const basic = Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64');
  parsed.username = '';
  parsed.password = '';
  return { target: parsed.toString(), headers: { authorization: `Basic ${basic}` } };
}

function contentLength(res: Response): number | undefined {
  const value = res.headers.get('content-length');
  return value === null || !/^\d+$/.test(value) ? undefined : Number(value);
}

/** The most telling part of a fetch failure: undici hides the socket error in `cause`. */
function describe(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  if (!(e instanceof Error)) return String(e);
  const code = (e as NodeJS.ErrnoException).code;
  if (e.message !== '') return e.message;
  if (e instanceof AggregateError && e.errors.length > 0) return describe(e.errors[0]);
  return code ?? e.name;
}
