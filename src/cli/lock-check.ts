import { AlbaError } from '../errors.js';
import type { Recipe } from '../recipe/types.js';
import { given, out, stderrLog } from './args.js';
import type { LockFlags } from './lock-command.js';

/** `alba lock RECIPE --check [--snapshot latest|TIMESTAMP]`: prints what `--update` would change; exit 0 current, 3 changes. */
export async function lockCheck(recipe: Recipe, lockPath: string, flags: LockFlags, indexCompression: 'auto' | 'xz' | 'gz'): Promise<void> {
  if (flags.check !== true || flags.update === true)
    throw new AlbaError('USAGE', 'alba lock: --snapshot goes with --check, --check not with --update');
  const [{ defaultCacheDir }, { checkLockFile, checkReport }] = await Promise.all([import('../cache.js'), import('../lock/check.js')]);
  const result = await checkLockFile(recipe, lockPath, {
    mirrors: flags.mirror ?? [],
    cacheDir: flags.cache ?? defaultCacheDir(),
    allowInsecure: flags.allowInsecure === true,
    allowDowngrade: flags.allowDowngrade === true,
    indexCompression,
    log: stderrLog,
    ...given('snapshot', flags.snapshot),
  });
  process.exitCode = result.current ? 0 : 3;
  for (const line of flags.json === true ? [JSON.stringify({ lock: lockPath, ...result })] : checkReport(result, lockPath)) out(line);
}
