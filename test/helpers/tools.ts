import { spawnSync } from 'node:child_process';

/**
 * True when the external `name` program is on PATH. When it is missing: with CI=true this
 * throws (a test that needs a tool must fail in CI, never skip); otherwise it calls
 * `t.skip()` with a message when a test context is given, and returns false.
 */
export function requireTool(name: string, t?: { skip(message?: string): void }): boolean {
  const found = spawnSync('sh', ['-c', `command -v "$1"`, 'sh', name], { stdio: 'ignore' }).status === 0;
  if (found) return true;
  if (process.env.CI === 'true') throw new Error(`${name} is required in CI but is not installed`);
  t?.skip(`${name} is not installed`);
  return false;
}
