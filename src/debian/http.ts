import type { Readable } from 'node:stream';
import { AlbaError, redactUrl } from '../errors.js';
import { get } from '../http/node-get.js';
import { NetworkError } from '../http/request.js';
import { DEFAULT_RETRY, parseRetryAfter, retryableStatus, RetryableAnswer, withRetry, type RetryPolicy } from '../http/retry.js';

/** Options of one HTTP GET. */
export interface FetchOptions {
  /** Time allowed to connect and get the headers, and between two chunks of the body (default 30 s). */
  timeoutMs?: number | undefined;
  /** For fetchBytes: the largest body accepted (default 64 MiB: Release files are a few hundred kB). */
  maxBytes?: number;
}

/** A response body being received. */
export interface FetchedStream {
  body: Readable;
  /** Content-Length when the server sent one. */
  size: number | undefined;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/** The one retry policy, with shorter pauses: a mirror is usually near, and every .deb is tried again as a whole. */
export const DEBIAN_RETRY: RetryPolicy = { ...DEFAULT_RETRY, retries: 3, baseMs: 250 };
const NETWORK_HINT = 'check the network connection and the repository URL, or fetch from a reachable mirror with --mirror';

/**
 * GETs `url` and streams its body, with the limits of the one HTTP layer (idle timeout, minimum
 * rate) but through Node's own client (http/node-get.ts: undici 6 crashes on a mirror that closes
 * its connections while a slow consumer holds the body back). Non-2xx is AlbaError HTTP_STATUS;
 * a failure to connect, a timeout or a connection lost mid-body is NETWORK. A failure to connect and a 408/429/5xx answer are retried
 * by the one retry policy (http/retry.ts); a body cut midway is the caller's to retry.
 * Credentials in the URL are sent as HTTP basic auth and never appear in messages.
 */
export async function fetchStream(url: string, options: FetchOptions = {}): Promise<FetchedStream> {
  return withRetry(
    async () => {
      const res = await get({ url, networkHint: NETWORK_HINT, ...(options.timeoutMs === undefined ? {} : { idleMs: options.timeoutMs }) });
      if (res.status < 200 || res.status >= 300) {
        await res.discard();
        const error = statusError(url, res.status, res.statusText);
        if (retryableStatus(res.status)) throw new RetryableAnswer(res.status, parseRetryAfter(res.headers.get('retry-after')), error);
        throw error;
      }
      const length = res.headers.get('content-length');
      return { body: res.stream(), size: length === null || !/^\d+$/.test(length) ? undefined : Number(length) };
    },
    DEBIAN_RETRY,
    undefined,
    (err) => err instanceof RetryableAnswer || (err instanceof NetworkError && !err.duringBody),
  );
}

/**
 * GETs `url` into memory (for small files: Release, signatures), refused above `maxBytes`
 * (TOO_LARGE); errors as fetchStream. A body cut midway is fetched again from the start, as
 * indexes and .debs are.
 */
export function fetchBytes(url: string, options: FetchOptions = {}): Promise<Buffer> {
  return withRetry(() => fetchWhole(url, options), DEBIAN_RETRY, undefined, isBodyCut);
}

async function fetchWhole(url: string, options: FetchOptions): Promise<Buffer> {
  const { body, size } = await fetchStream(url, options);
  const max = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const tooLarge = (): AlbaError =>
    new AlbaError('TOO_LARGE', `${redactUrl(url)} is larger than ${max} bytes`, {
      hint: 'a Release file or signature is a few hundred kB; the server is broken or hostile: use another mirror',
    });
  if (size !== undefined && size > max) {
    body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (total > max) {
      body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
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

/**
 * True when a body was cut midway (the caller, who dropped the partial data, may start again);
 * not when it was given up for being slower than the minimum rate (again would be as slow).
 */
export function isBodyCut(err: unknown): boolean {
  return err instanceof NetworkError && err.duringBody && !err.tooSlow;
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

function statusError(url: string, status: number, statusText: string): HttpStatusError {
  const hint =
    status === 404 || status === 410
      ? 'the file is not on the server: check the URL, suite, component and architecture'
      : status === 401 || status === 403
        ? 'the server refused access: check the credentials in the URL'
        : 'the server failed; retry later, or fetch from another mirror with --mirror';
  return new HttpStatusError(`GET ${redactUrl(url)}: ${status} ${statusText}`.trimEnd(), status, hint);
}
