import { resolve } from 'node:path';
import { Command } from 'commander';
import { given, indexCompressionOption, out, repeatable, stderrLog } from './args.js';
import { describeLock, Progress, type LockProgress } from './progress.js';

export interface LockFlags {
  update?: boolean;
  mirror?: string[];
  cache?: string;
  allowInsecure?: boolean;
  allowDowngrade?: boolean;
  indexCompression?: string;
  json?: boolean;
  check?: boolean;
  snapshot?: string;
}

/** `alba lock RECIPE`: resolves the recipe and writes RECIPE's lock file beside it. */
export function lockCommand(): Command {
  return new Command('lock')
    .description("resolve a recipe's packages against its signed sources and write the lock file beside it (RECIPE.lock.json)")
    .argument('<recipe>', 'the recipe (YAML)')
    .option('--update', 're-resolve even when the lock file is up to date')
    .option(
      '--mirror <mirror>',
      "fetch from a mirror, keeping the recipe's URLs in the lock: 'apt', a base URL or ARCHIVE=URL; repeatable",
      repeatable,
    )
    .option('--cache <dir>', 'index and download cache (default: $XDG_CACHE_HOME/alba or ~/.cache/alba)')
    .option('--allow-insecure', 'accept unsigned or badly signed Release files')
    .option('--allow-downgrade', 'accept Release files older than those the lock recorded (refused by default: a rollback)')
    .option('--index-compression <c>', 'auto (xz from snapshot.debian.org, gz from mirrors), xz or gz')
    .option('--json', 'print one JSON object')
    .option('--check', 'compare the lock with what the sources serve now; write nothing; exit 3 when packages would change')
    .option('--snapshot <latest|TIMESTAMP>', 'with --check on a snapshot recipe: compare against this snapshot instead')
    .addHelpText('after', '\nExample:\n  alba lock recipes/busybox.yaml --mirror apt --update')
    .action(run);
}

async function run(recipeArg: string, flags: LockFlags): Promise<void> {
  const indexCompression = indexCompressionOption('lock', flags.indexCompression);
  const [{ defaultCacheDir }, { fetchTargets }, { loadRecipe }, { lockPathFor, readLock, isLockFresh, writeLock }, { lockRecipe }] =
    await Promise.all([
      import('../cache.js'),
      import('../recipe/fetch-targets.js'),
      import('../recipe/load.js'),
      import('../lock/lock-file.js'),
      import('../lock/lock.js'),
    ]);
  const recipePath = resolve(recipeArg);
  const recipe = await loadRecipe(recipePath);
  const lockPath = lockPathFor(recipePath);
  if (flags.check === true || flags.snapshot !== undefined)
    return (await import('./lock-check.js')).lockCheck(recipe, lockPath, flags, indexCompression);
  const existing = await readLock(lockPath);
  if (existing !== undefined && flags.update !== true && isLockFresh(existing, recipe))
    return stderrLog(`${lockPath} is up to date (use --update to re-resolve)`);
  let state: LockProgress | undefined;
  const progress = new Progress((elapsed) => describeLock(state, elapsed)).tick();
  const outcome = await lockRecipe(recipe, {
    targets: await fetchTargets(recipe, flags.mirror),
    cacheDir: flags.cache ?? defaultCacheDir(),
    allowInsecure: flags.allowInsecure === true,
    log: stderrLog,
    ...given('previous', existing),
    allowDowngrade: flags.allowDowngrade === true,
    indexCompression,
    onProgress: (p) => {
      state = p;
      progress.update();
    },
  }).finally(() => progress.clear());
  await writeLock(lockPath, outcome.lock);
  const { timings: t, lock } = outcome;
  if (flags.json === true) {
    return out(
      JSON.stringify({
        lock: lockPath,
        timings: t,
        resolutionCached: outcome.resolutionCached,
        archs: Object.fromEntries(Object.entries(lock.archs).map(([a, p]) => [a, p.length])),
      }),
    );
  }
  stderrLog(
    outcome.resolutionCached
      ? 'Release files unchanged since this recipe was last resolved: resolution reused'
      : `indexes: ${outcome.indexesFetched} fetched, ${outcome.indexesFromCache} from cache`,
  );
  stderrLog(`time: releases ${t.releases}s, indexes ${t.indexes}s, resolve ${t.resolve}s`);
  for (const [arch, packages] of Object.entries(lock.archs))
    out(`${arch.padEnd(8)} ${packages.length} packages: ${packages.map((p) => p.name).join(' ')}`);
  out(`wrote ${lockPath}`);
}
