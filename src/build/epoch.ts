import { AlbaError } from '../errors.js';
import type { LockFile } from '../recipe/lock-types.js';
import type { Recipe } from '../recipe/types.js';

/** Where the build's SOURCE_DATE_EPOCH came from, for the summary. */
export interface Epoch {
  seconds: number;
  from: 'recipe' | 'environment' | 'snapshot' | 'release date';
}

/**
 * The clamp for every mtime and `created`: the recipe's `source-date-epoch`, else the
 * SOURCE_DATE_EPOCH environment variable, else the recipe's snapshot time, else the newest
 * Release `Date:` recorded in the lock (which is pinned with the lock, so rebuilds agree).
 */
export function sourceDateEpoch(recipe: Recipe, lock: LockFile, env: NodeJS.ProcessEnv): Epoch {
  if (recipe.sourceDateEpoch !== undefined) return { seconds: recipe.sourceDateEpoch, from: 'recipe' };
  const fromEnv = env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!/^\d+$/.test(fromEnv)) {
      throw new AlbaError('USAGE', `SOURCE_DATE_EPOCH=${fromEnv} is not a number of seconds`, { hint: 'e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)' });
    }
    return { seconds: Number(fromEnv), from: 'environment' };
  }
  if (recipe.snapshot !== undefined) return { seconds: snapshotSeconds(recipe.snapshot), from: 'snapshot' };
  const dates = lock.releases.flatMap((r) => (r.date === undefined ? [] : [Date.parse(r.date) / 1000]));
  return { seconds: dates.length === 0 ? 0 : Math.floor(Math.max(...dates)), from: 'release date' };
}

/** `20250520T000000Z` → seconds since the epoch. */
export function snapshotSeconds(ts: string): number {
  const iso = `${ts.slice(0, 4)}-${ts.slice(4, 6)}-${ts.slice(6, 8)}T${ts.slice(9, 11)}:${ts.slice(11, 13)}:${ts.slice(13, 15)}Z`;
  return Date.parse(iso) / 1000;
}
