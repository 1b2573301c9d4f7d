import { isQuiet } from './args.js';

/**
 * A one-line progress display on a TTY (stderr, not under CI=true): redrawn in place at most
 * ten times a second and cleared at the end; nothing at all when stderr is not a terminal.
 */
export class Progress {
  private last = 0;
  private drawn = false;
  private readonly started = Date.now();
  readonly enabled: boolean;

  constructor(
    private readonly render: (elapsedSeconds: number) => string,
    stream: NodeJS.WriteStream = process.stderr,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.stream = stream;
    this.enabled = stream.isTTY === true && env.CI !== 'true' && !isQuiet();
  }

  /** Redraws every second until clear(), so a long step never looks stalled. */
  tick(): this {
    if (this.enabled && this.timer === undefined) this.timer = setInterval(() => this.update(true), 1000).unref();
    return this;
  }

  private timer: NodeJS.Timeout | undefined;

  private readonly stream: NodeJS.WriteStream;

  /** Redraws the line unless it was drawn less than 100 ms ago (or `force`). */
  update(force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const width = this.stream.columns ?? 80;
    this.stream.write(`\r${this.render((now - this.started) / 1000).slice(0, width - 1)}\x1b[K`);
    this.drawn = true;
  }

  /** Removes the line (and stops the ticking). */
  clear(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
