/**
 * At most `size` tasks run at once; the others wait their turn: the highest `priority` first
 * (a remote cache's largest layers, so that the last to finish is a small one), in the order they
 * came among equals.
 */
export class Slots {
  private running = 0;
  private readonly waiting: { priority: number; start: () => void }[] = [];

  constructor(private readonly size: number) {}

  /** Runs `task` when a slot is free. */
  async run<T>(task: () => Promise<T>, priority = 0): Promise<T> {
    if (this.running >= this.size) {
      // woken with the slot of the task that ended (handed over, never freed in between: a task
      // that comes meanwhile cannot take it)
      await new Promise<void>((start) => {
        const at = this.waiting.findIndex((w) => w.priority < priority);
        this.waiting.splice(at === -1 ? this.waiting.length : at, 0, { priority, start });
      });
    } else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.running--;
      else next.start();
    }
  }
}
