/**
 * Answers to "do you hold this digest?" asked ahead, all at once (a bounded number in flight),
 * for a sink whose every store starts with that question (a registry's HEAD, an S3 HEAD): the
 * publish walk tells the sink what it may store (Sink.prefetch), and each store then takes the
 * answer instead of asking on its own, so that a first push pays one wave of HEADs instead of
 * one round trip per blob and manifest. An answer is used once; a digest not asked ahead (or
 * whose question failed) is asked at the time of the store, as before.
 */
export class Prefetched<T> {
  private readonly answers = new Map<string, Promise<T>>();
  private queue: (() => void)[] = [];
  private running = 0;

  constructor(
    private readonly ask: (key: string) => Promise<T>,
    private readonly limit = 16,
  ) {}

  /** Starts asking about each key (a digest, an object key) not already asked (duplicates are asked once). */
  start(digests: Iterable<string>): void {
    for (const digest of digests) {
      if (this.answers.has(digest)) continue;
      const answer = new Promise<T>((resolve, reject) => {
        const run = (): void => {
          this.running++;
          this.ask(digest)
            .then(resolve, reject)
            .finally(() => {
              this.running--;
              this.queue.shift()?.();
            });
        };
        if (this.running < this.limit) run();
        else this.queue.push(run);
      });
      answer.catch(() => undefined); // a failed question is asked again by get()
      this.answers.set(digest, answer);
    }
  }

  /** An answer learnt otherwise, for get() to take instead of asking (unless one is pending already). */
  remember(key: string, answer: T): void {
    if (!this.answers.has(key)) this.answers.set(key, Promise.resolve(answer));
  }

  /** Forgets every answer (questions in flight end unheard): the next get() of each key asks afresh. */
  clear(): void {
    this.answers.clear();
  }

  /** The answer asked ahead for `digest` (taken: a later call asks afresh), else asks now. */
  async get(digest: string): Promise<T> {
    const ahead = this.answers.get(digest);
    this.answers.delete(digest);
    if (ahead === undefined) return this.ask(digest);
    try {
      return await ahead;
    } catch {
      return this.ask(digest);
    }
  }
}
