/** Pauses before each retry, in milliseconds: the number of entries is the number of retries. */
export const RETRY_DELAYS_MS: readonly number[] = [200, 800];

/**
 * Runs `attempt` and runs it again after a pause while it fails with an error `retryable` accepts,
 * at most once per entry of `delays`; the last failure is thrown. Only for operations that are
 * safe to repeat (a GET whose partial output was discarded).
 */
export async function withRetries<T>(attempt: () => Promise<T>, retryable: (err: unknown) => boolean, delays: readonly number[] = RETRY_DELAYS_MS): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      const delay = delays[i];
      if (delay === undefined || !retryable(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
