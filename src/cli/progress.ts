import type { BuildProgress } from '../builder/build.js';
import type { LockOptions } from '../lock/lock.js';
import { formatBytes } from '../util/format-bytes.js';
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

/** The progress line of a build: `.debs 12/40, 8.1 MB of 20.3 MB, 4.2 MB/s` or `layers 7/38`, with the elapsed time. */
export function describeBuild(state: BuildProgress | undefined, elapsed: number): string {
  const time = `${elapsed.toFixed(0)} s`;
  if (state === undefined) return `building… ${time}`;
  if (state.stage === 'layers') return `layers ${state.done}/${state.total}  ${time}`;
  return `.debs ${state.done}/${state.total}, ${formatBytes(state.bytes ?? 0)} of ${formatBytes(state.totalBytes ?? 0)}, ${formatBytes((state.bytes ?? 0) / Math.max(elapsed, 0.001))}/s  ${time}`;
}

/** The progress line of `alba build`: resolving (without a lock), then downloads and layers; the build's rate counts from its first progress. */
export class BuildProgressLine {
  private locking: LockProgress | undefined;
  private state: BuildProgress | undefined;
  private since: number | undefined;
  private readonly line: Progress;

  constructor(stream?: NodeJS.WriteStream, env?: NodeJS.ProcessEnv) {
    this.line = new Progress(
      (elapsed) =>
        this.state === undefined && this.locking !== undefined
          ? describeLock(this.locking, elapsed)
          : describeBuild(this.state, elapsed - (this.since ??= elapsed)),
      stream,
      env,
    ).tick();
  }

  // a new stage is drawn at once, whenever the line was drawn last: a stage is never skipped unseen

  lock(p: LockProgress): void {
    const stageChanged = this.locking?.stage !== p.stage;
    this.locking = p;
    this.line.update(stageChanged);
  }

  build(p: BuildProgress): void {
    const stageChanged = this.state?.stage !== p.stage;
    this.state = p;
    this.line.update(stageChanged);
  }

  clear(): void {
    this.line.clear();
  }
}

/** How far a lock is, as lock()'s onProgress tells it. */
export type LockProgress = Parameters<NonNullable<LockOptions['onProgress']>>[0];

/** The progress line of a lock: Release files verified, then archs resolved. */
export function describeLock(state: LockProgress | undefined, elapsed: number): string {
  const what =
    state === undefined
      ? 'locking…'
      : state.stage === 'releases'
        ? `Release files ${state.done}/${state.total}`
        : `archs resolved ${state.done}/${state.total}`;
  return `${what}  ${elapsed.toFixed(0)} s`;
}
