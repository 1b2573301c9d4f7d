/**
 * The one retry policy of every remote: 408, 429, 500, 502, 503, 504, connection failures and
 * bodies cut midway are tried again, a bounded number of times, after an exponential pause with
 * jitter, or after the server's `Retry-After` when it sends one (capped).
 */
import { NetworkError } from './request.js';

/** How often and how long to retry. */
export interface RetryPolicy {
  /** Tries after the first (default 4). */
  retries: number;
  /** First pause; each next one doubles (default 500 ms). */
  baseMs: number;
  /** Longest pause, `Retry-After` included (default 20 s). */
  maxMs: number;
}

/** The default policy. */
export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseMs: 500, maxMs: 20_000 };

const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** True for an HTTP status worth trying again. */
export function retryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status);
}

/** An answer to retry, carrying the status and the pause the server asked for. */
export class RetryableAnswer extends Error {
  constructor(
    readonly status: number,
    /** `Retry-After` in milliseconds, when the server sent one. */
    readonly retryAfterMs: number | undefined,
    /** The error to throw when no try is left. */
    readonly final: Error,
  ) {
    super(final.message);
  }
}

/** `Retry-After` (seconds or an HTTP date) in milliseconds. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = httpDate(value.trim());
  return at === undefined ? undefined : Math.max(0, at - now);
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '\\d\\d:\\d\\d:\\d\\d';
/** The three forms of an HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, RFC 850, asctime (GMT, though it does not say so). */
const HTTP_DATE = [
  new RegExp(`^${DAY}, \\d\\d ${MONTH} \\d{4} ${TIME} GMT$`),
  new RegExp(`^(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, \\d\\d-${MONTH}-\\d\\d ${TIME} GMT$`),
  new RegExp(`^${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4}$`),
];

/** An HTTP-date in ms since the epoch; anything else (Date.parse also takes "-1", "Jan 1" or "2026-01-01") undefined. */
function httpDate(text: string): number | undefined {
  const form = HTTP_DATE.findIndex((re) => re.test(text));
  if (form < 0) return undefined;
  const at = Date.parse(form === 2 ? `${text} GMT` : text);
  return Number.isNaN(at) ? undefined : at;
}

/** The pause before retry number `attempt` (0-based): base·2^attempt with ±25 % jitter, or Retry-After; capped. */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxMs);
  const exp = policy.baseMs * 2 ** attempt;
  return Math.min(policy.maxMs, Math.round(exp * (0.75 + Math.random() * 0.5)));
}

/** The failures worth another try: a lost connection (before or during the body), a RetryableAnswer. */
export function isRetryable(err: unknown): boolean {
  return err instanceof NetworkError || err instanceof RetryableAnswer;
}

/**
 * Runs `attempt` again while it fails with an error `retryable` accepts (default isRetryable), at
 * most `policy.retries` times; only for operations that are safe to repeat. `onRetry` hears each pause.
 */
export async function withRetry<T>(
  attempt: () => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  onRetry?: (err: Error, delayMs: number) => void,
  retryable: (err: unknown) => boolean = isRetryable,
): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!retryable(err) || i >= policy.retries) throw err instanceof RetryableAnswer ? err.final : err;
      const delay = retryDelay(policy, i, err instanceof RetryableAnswer ? err.retryAfterMs : undefined);
      onRetry?.(err as Error, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
