import { resolve } from 'node:path';
import { defaultCacheDir } from '../cache.js';
import { lockRecipe, type LockOptions, type LockOutcome } from '../lock/lock.js';
import type { Recipe } from '../recipe/types.js';
import { Progress } from './progress.js';
import { loadRecipe } from '../recipe/load.js';
import { lockPathFor, readLock, resolutionInputs, writeLock } from '../lock/lock-file.js';
import { indexCompressionOption, onePositional, parseCommandArgs, stderrLog } from './args.js';
import { fetchTargets } from '../recipe/fetch-targets.js';

/** `alba lock RECIPE`: resolves the recipe and writes RECIPE's lock file beside it. */
export async function lockCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs('lock', argv, {
    update: { type: 'boolean' },
    mirror: { type: 'string', multiple: true },
    cache: { type: 'string' },
    'allow-insecure': { type: 'boolean' },
    'allow-downgrade': { type: 'boolean' },
    'index-compression': { type: 'string' },
    json: { type: 'boolean' },
  });
  const indexCompression = indexCompressionOption('lock', values['index-compression']);
  const recipePath = resolve(onePositional('lock', positionals, 'recipe'));
  const recipe = await loadRecipe(recipePath);
  const lockPath = lockPathFor(recipePath);
  const existing = await readLock(lockPath);
  if (existing !== undefined && values.update !== true && existing.inputs === resolutionInputs(recipe)) {
    stderrLog(`${lockPath} is up to date (use --update to re-resolve)`);
    return;
  }
  const outcome = await lockShowingProgress(recipe, {
    targets: await fetchTargets(recipe, values.mirror),
    cacheDir: values.cache ?? defaultCacheDir(),
    allowInsecure: values['allow-insecure'] === true,
    log: stderrLog,
    ...(existing === undefined ? {} : { previous: existing }),
    allowDowngrade: values['allow-downgrade'] === true,
    indexCompression,
  });
  await writeLock(lockPath, outcome.lock);
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify({ lock: lockPath, timings: outcome.timings, resolutionCached: outcome.resolutionCached, archs: Object.fromEntries(Object.entries(outcome.lock.archs).map(([a, p]) => [a, p.length])) })}\n`);
    return;
  }
  const { timings: t } = outcome;
  stderrLog(
    outcome.resolutionCached
      ? 'Release files unchanged since this recipe was last resolved: resolution reused'
      : `indexes: ${outcome.indexesFetched} fetched, ${outcome.indexesFromCache} from cache`,
  );
  stderrLog(`time: releases ${t.releases}s, indexes ${t.indexes}s, resolve ${t.resolve}s`);
  for (const [arch, packages] of Object.entries(outcome.lock.archs)) {
    process.stdout.write(`${arch.padEnd(8)} ${packages.length} packages: ${packages.map((p) => p.name).join(' ')}\n`);
  }
  process.stdout.write(`wrote ${lockPath}\n`);
}

/** lockRecipe() with a progress line on a TTY: Release files verified, then archs resolved. */
export async function lockShowingProgress(recipe: Recipe, options: LockOptions): Promise<LockOutcome> {
  let state: { stage: string; done: number; total: number } | undefined;
  const progress = new Progress((elapsed) => `${state === undefined ? 'locking…' : state.stage === 'releases' ? `Release files ${state.done}/${state.total}` : `archs resolved ${state.done}/${state.total}`}  ${elapsed.toFixed(0)} s`).tick();
  return lockRecipe(recipe, {
    ...options,
    onProgress: (p) => {
      state = p;
      progress.update();
    },
  }).finally(() => progress.clear());
}
