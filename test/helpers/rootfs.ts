import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The parts of an OCI runtime config.json (as `umoci unpack` writes it) that the tests use. */
export interface RuntimeConfig {
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** An unpacked image: an OCI runtime bundle directory with its root filesystem. */
export interface Bundle {
  dir: string;
  rootfs: string;
  /** config.json as umoci generated it from the image config (User, Entrypoint/Cmd, Env, WorkingDir). */
  config: RuntimeConfig;
}

/** What a command run in (or against) a rootfs gave. */
export interface CommandResult {
  /** Exit status (null when killed by a signal or the timeout). */
  status: number | null;
  stdout: string;
  stderr: string;
}

/** How to run a command in a bundle. */
export interface RunOptions {
  /** `runc run` in fresh namespaces (default), or plain `chroot --userspec`. */
  runtime?: 'runc' | 'chroot';
  /** Default: the user umoci derived from the image config's `User`. */
  user?: { uid: number; gid: number };
  timeoutMs?: number;
}

/** True when running as root: `runc run` and `chroot` need it (umoci then unpacks with real owners). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * True when running as root. Otherwise: with CI=true this throws (the runtime tests must run in
 * CI), else it skips `t` with a message and returns false — the same contract as requireTool.
 */
export function requireRoot(t: { skip(message?: string): void }): boolean {
  if (isRoot()) return true;
  if (process.env.CI === 'true') throw new Error('running containers with runc or chroot needs root, and CI=true');
  t.skip('runc and chroot need root');
  return false;
}

/**
 * True when running as root, so that an unpacked rootfs has the image's owners. Otherwise: with
 * CI=true this throws (owner checks must run in CI), else it says in the test's output that the
 * owners are not checked and returns false.
 */
export function ownersCheckable(t: { diagnostic(message: string): void }): boolean {
  if (isRoot()) return true;
  if (process.env.CI === 'true') throw new Error('checking the owners of an unpacked rootfs needs root, and CI=true');
  t.diagnostic('not root: umoci unpacks --rootless, so file owners are not checked');
  return false;
}

/**
 * `umoci unpack --image LAYOUT:REF DIR` (with --rootless unless root). umoci checks every blob's
 * digest and size and every layer's diff_id on the way. Throws with umoci's output on failure.
 */
export async function unpackImage(layout: string, ref: string, dir: string): Promise<Bundle> {
  const res = spawnSync('umoci', ['unpack', ...(isRoot() ? [] : ['--rootless']), '--image', `${layout}:${ref}`, dir], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (res.status !== 0) throw new Error(`umoci unpack ${layout}:${ref} failed (status ${res.status}):\n${res.stdout}${res.stderr}`);
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as RuntimeConfig;
  return { dir, rootfs: join(dir, 'rootfs'), config };
}

let containers = 0;

/**
 * Runs `args` in the bundle as `options.user` (default: the image's user), with the image's
 * environment. runc: config.json is rewritten with these args and user and `terminal: false`
 * (umoci writes `true`, which needs a console socket), and the container gets a unique id.
 * chroot: `chroot --userspec=uid:gid ROOTFS args...`, working directory `/`.
 */
export async function runInBundle(bundle: Bundle, args: string[], options: RunOptions = {}): Promise<CommandResult> {
  const user = options.user ?? { uid: bundle.config.process.user.uid, gid: bundle.config.process.user.gid };
  const timeout = options.timeoutMs ?? 60_000;
  if (options.runtime === 'chroot') {
    const env = Object.fromEntries(bundle.config.process.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    return result(spawnSync('chroot', [`--userspec=${user.uid}:${user.gid}`, bundle.rootfs, ...args], { encoding: 'utf8', timeout, env }));
  }
  const config: RuntimeConfig = { ...bundle.config, process: { ...bundle.config.process, terminal: false, args, user } };
  await writeFile(join(bundle.dir, 'config.json'), JSON.stringify(config, null, 2));
  const id = `alba-test-${process.pid}-${++containers}`;
  return result(spawnSync('runc', ['run', '--bundle', bundle.dir, id], { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/**
 * Runs a foreign-arch program of `rootfs` with qemu-user explicitly (binfmt_misc may be absent):
 * `QEMU [-L ROOTFS] ROOTFS/args[0] args[1..]`. `sysroot` (the -L) is needed for dynamically
 * linked programs, so that their loader and libraries come from the rootfs.
 */
export function runWithQemu(
  qemu: string,
  rootfs: string,
  args: string[],
  options: { sysroot?: boolean; timeoutMs?: number } = {},
): CommandResult {
  const [program, ...rest] = args;
  if (program === undefined || !program.startsWith('/'))
    throw new Error(`runWithQemu: give the program as an absolute path in the rootfs, got ${program}`);
  const qemuArgs = [...(options.sysroot === true ? ['-L', rootfs] : []), join(rootfs, program), ...rest];
  return result(spawnSync(qemu, qemuArgs, { encoding: 'utf8', timeout: options.timeoutMs ?? 60_000 }));
}

/** One line describing a command result, for assertion messages. */
export function describeResult(res: CommandResult): string {
  return `status ${res.status}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`;
}

function result(res: { status: number | null; stdout: string; stderr: string; error?: Error }): CommandResult {
  return { status: res.status, stdout: res.stdout ?? '', stderr: `${res.stderr ?? ''}${res.error === undefined ? '' : String(res.error)}` };
}
