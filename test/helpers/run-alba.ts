import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { FaultProxy, SeenRequest } from './fault-proxy.js';
import { repoRoot } from './repo-root.js';

/** What a run of the CLI gave. */
export interface AlbaRun {
  /** Exit status (null when killed by a signal). */
  status: number | null;
  stdout: string;
  stderr: string;
}

/** How to run the CLI. */
export interface RunAlbaOptions {
  cwd?: string;
  /** Added to the environment. */
  env?: Record<string, string>;
  /** Kill the CLI after this long (default 120 s); the run then has status null. */
  timeoutMs?: number;
  /** Run under this umask (octal string such as `077`), set by `sh -c 'umask ...; exec node ...'`. */
  umask?: string;
  /** Called with the child process once spawned (to signal it). */
  onSpawn?: (child: ChildProcess) => void;
}

/** Path of the CLI (`bin/alba.cjs`, which loads the bundle dist/alba/ or dist/src/cli/main.js: run `npm run build` first). */
export const albaBin = join(repoRoot(), 'bin', 'alba.cjs');

/**
 * Runs `node bin/alba.cjs ...args` as a child process, as a user would. Asynchronous on purpose:
 * a test's own 127.0.0.1 server must keep serving while the CLI runs.
 */
export function runAlba(args: string[], options: RunAlbaOptions = {}): Promise<AlbaRun> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, albaBin, ...args];
    const [file, argv] =
      options.umask === undefined
        ? [process.execPath, command.slice(1)]
        : ['sh', ['-c', 'umask "$1" && shift && exec "$@"', 'sh', options.umask, ...command]];
    const child = spawn(file, argv, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 120_000,
    });
    options.onSpawn?.(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (status) =>
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
}

/** A run's status and output, for assertion messages (stdout cut at 2000 characters). */
export function explainRun(run: AlbaRun): string {
  return `status ${run.status}\n--- stdout\n${run.stdout.slice(0, 2000)}--- stderr\n${run.stderr}`;
}

/**
 * Runs the CLI with `args` and SIGKILLs it while the proxy stalls the `nth` request that `counts`
 * matches; afterwards the proxy forwards everything again. True when the kill came at that request,
 * false when the CLI exited before reaching it.
 */
export async function killAlbaAt(
  proxy: FaultProxy,
  counts: (r: SeenRequest) => boolean,
  nth: number,
  args: string[],
  env: Record<string, string> = {},
): Promise<boolean> {
  let seen = 0;
  let reached: () => void = () => undefined;
  const stalled = new Promise<'stalled'>((resolve) => (reached = () => resolve('stalled')));
  proxy.fault = (r) => {
    if (!counts(r) || ++seen < nth) return undefined;
    reached();
    return { stallMs: 600_000 };
  };
  const child = spawn(process.execPath, [albaBin, ...args], { env: { ...process.env, ...env }, stdio: 'ignore' });
  const exited = new Promise<'exited'>((resolve) => child.once('exit', () => resolve('exited')));
  const first = await Promise.race([stalled, exited]);
  child.kill('SIGKILL');
  await exited;
  proxy.fault = () => undefined;
  return first === 'stalled';
}
