/** The limits every HTTP answer alba reads has, whatever the client (undici, node:http, the AWS SDK). */

/** Time limits of one request. */
export interface HttpLimits {
  /** Time allowed to get the response headers, and between two chunks of a body (default 30 s). */
  idleMs?: number;
  /** A body must bring at least `minBytesPerSecond` on average over each window of `rateWindowMs` (defaults 1024 B/s over 60 s). */
  minBytesPerSecond?: number;
  rateWindowMs?: number;
}

/** Defaults, also the documented values. */
export const HTTP_DEFAULTS = { idleMs: 30_000, minBytesPerSecond: 1024, rateWindowMs: 60_000 } as const;

/** The idle timeout `ALBA_HTTP_IDLE_TIMEOUT` (seconds an answer may stay silent) sets, if it is a positive number. */
export function idleMsFromEnvironment(): number | undefined {
  const seconds = Number(process.env.ALBA_HTTP_IDLE_TIMEOUT);
  // whole milliseconds (undici's timeouts are integers), at most what a timer holds (~24.8 days: a
  // larger one fires at once)
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(Math.ceil(seconds * 1000), 2 ** 31 - 1) : undefined;
}

/** Aborts (through `give`) a body that brings less than the minimum rate over a window. */
export function rateWatch(limits: HttpLimits, give: (why: string) => void): { add(n: number): void; stop(): void } {
  const minRate = limits.minBytesPerSecond ?? HTTP_DEFAULTS.minBytesPerSecond;
  const windowMs = limits.rateWindowMs ?? HTTP_DEFAULTS.rateWindowMs;
  let received = 0;
  const interval = setInterval(() => {
    if (received < (minRate * windowMs) / 1000)
      give(`the body came slower than ${minRate} bytes/s over ${windowMs / 1000} s (${received} bytes)`);
    received = 0;
  }, windowMs);
  interval.unref();
  return {
    add: (n) => {
      received += n;
    },
    stop: () => clearInterval(interval),
  };
}
