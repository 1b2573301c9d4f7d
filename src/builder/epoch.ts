import { AlbaError } from '../errors.js';
import type { LockFile } from '../lock/lock-types.js';
import { snapshotSeconds } from '../recipe/snapshot.js';
import type { Recipe } from '../recipe/types.js';

/** The latest SOURCE_DATE_EPOCH: 9999-12-31T23:59:59Z, as the recipe's `source-date-epoch` allows. */
const MAX_EPOCH_SECONDS = 253402300799;

/** Where the build's SOURCE_DATE_EPOCH came from, for the summary. */
export interface Epoch {
  seconds: number;
  from: 'recipe' | 'environment' | 'snapshot' | 'release date';
}

/**
 * The clamp for every mtime and `created`: the recipe's `source-date-epoch`, else the
 * SOURCE_DATE_EPOCH environment variable, else the recipe's snapshot time when every locked
 * Release is dated at or before it, else the newest Release `Date:` in the lock (a mirror newer
 * than the snapshot was used; the lock pins those dates, so rebuilds agree).
 */
export function sourceDateEpoch(recipe: Recipe, lock: Pick<LockFile, 'releases'>, env: NodeJS.ProcessEnv): Epoch {
  if (recipe.sourceDateEpoch !== undefined) return { seconds: recipe.sourceDateEpoch, from: 'recipe' };
  const fromEnv = env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined && fromEnv !== '') {
    const shown = fromEnv.length > 40 ? `${fromEnv.slice(0, 40)}…` : fromEnv;
    if (!/^\d+$/.test(fromEnv)) {
      throw new AlbaError('USAGE', `SOURCE_DATE_EPOCH=${shown} is not a number of seconds`, {
        hint: 'e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)',
      });
    }
    const seconds = Number(fromEnv);
    // as the recipe's source-date-epoch: a time every tar header, config and SBOM can write
    if (seconds > MAX_EPOCH_SECONDS) {
      throw new AlbaError('USAGE', `SOURCE_DATE_EPOCH=${shown} is out of range 0..${MAX_EPOCH_SECONDS} (the end of year 9999)`, {
        hint: 'e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)',
      });
    }
    return { seconds, from: 'environment' };
  }
  const dates = lock.releases.flatMap((r) => (r.date === undefined ? [] : [Date.parse(r.date) / 1000]));
  const newest = dates.length === 0 ? 0 : Math.floor(Math.max(...dates));
  if (recipe.snapshot !== undefined && newest <= snapshotSeconds(recipe.snapshot)) {
    return { seconds: snapshotSeconds(recipe.snapshot), from: 'snapshot' };
  }
  return { seconds: newest, from: 'release date' };
}
