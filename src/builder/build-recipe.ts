import { resolve } from 'node:path';
import { defaultCacheDir } from '../cache.js';
import { AlbaError } from '../errors.js';
import { findArch } from '../debian/arch.js';
import { lockRecipe, type LockOptions } from '../lock/lock.js';
import { isLockFresh, lockPathFor, readLock } from '../lock/lock-file.js';
import type { LockFile } from '../lock/lock-types.js';
import { fetchTargets } from '../recipe/fetch-targets.js';
import { loadRecipe } from '../recipe/load.js';
import type { FetchTarget } from '../recipe/mirror.js';
import type { Recipe } from '../recipe/types.js';
import { build, type BuildOptions, type BuildResult } from './build.js';
import { BuildPrefetch, type PrefetchResult } from './deb-downloads.js';
import type { RemoteLayerCache } from './remote-cache.js';
import { stopwatch } from '../util/stopwatch.js';

/** How to build a recipe: build()'s options, with the lock and targets found or made here. */
export interface BuildRecipeOptions extends Partial<Pick<BuildOptions, 'archs' | 'annotations' | 'env' | 'onProgress'>> {
  /** Cache of indexes, .debs and layers (default: defaultCacheDir()). */
  cacheDir?: string;
  /** `--mirror` values (`apt`, a base URL, `ARCHIVE=URL`); ignored when `targets` is given. */
  mirrors?: string[];
  /** Where each suite is fetched from (default: fetchTargets(recipe, mirrors)). */
  targets?: FetchTarget[];
  /** With a Recipe object (no file beside it): its lock, if any (checked for freshness as a lock file is). */
  lock?: LockFile;
  /** When resolving (no lock): accept unsigned or badly signed Release files. */
  allowInsecure?: boolean;
  /** When resolving: which Packages files to fetch (see lock()). */
  indexCompression?: LockOptions['indexCompression'];
  /** When resolving: told after each Release is verified and each arch is resolved. */
  onLockProgress?: LockOptions['onProgress'];
  log?: (line: string) => void;
  /** `--remote-cache`: see remote-cache.ts. */
  remoteCache?: RemoteLayerCache;
}

/** A recipe's build, and what it was built from. */
export interface RecipeBuild extends BuildResult {
  recipe: Recipe;
  /** The lock it was built from (the lock file's, or the one resolved now). */
  lock: LockFile;
  /** True when there was no lock and the recipe was resolved for this build (nothing is written to the lock file). */
  resolved: boolean;
}

/**
 * Builds a recipe (a path, or a loaded Recipe) as `alba build` does: with the lock file beside it
 * when that is fresh; LOCK_STALE when it was made from other packages, sources or archs; without
 * one, resolving now, each arch's .debs downloading and its layers building as soon as it is
 * resolved, while the other archs resolve. Writes only the cache: publish `graph` to a sink.
 */
export async function buildRecipe(recipeOrPath: string | Recipe, options: BuildRecipeOptions = {}): Promise<RecipeBuild> {
  const log = options.log ?? (() => undefined);
  const recipePath = typeof recipeOrPath === 'string' ? resolve(recipeOrPath) : undefined;
  const recipe = recipePath === undefined ? (recipeOrPath as Recipe) : await loadRecipe(recipePath);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const targets = options.targets ?? (await fetchTargets(recipe, options.mirrors));
  const lockPath = recipePath === undefined ? undefined : lockPathFor(recipePath);
  let lock = lockPath === undefined ? options.lock : await readLock(lockPath);
  const where = lockPath ?? 'the lock';
  if (lock !== undefined && !isLockFresh(lock, recipe)) {
    throw new AlbaError(
      'LOCK_STALE',
      `${where} was made from other packages, sources or archs than ${recipePath ?? `recipe ${recipe.name}`} now lists`,
      {
        hint: 'run `alba lock --update` to re-resolve',
      },
    );
  }
  let prefetched: PrefetchResult | undefined;
  const clock = stopwatch();
  const resolving = lock === undefined;
  const prefetch = new BuildPrefetch({
    recipe,
    cacheDir,
    targets,
    log,
    onProgress: options.onProgress,
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const wanted = options.archs?.map((a) => findArch(a.trim())?.name);
  const selected = (name: string): boolean => wanted === undefined || wanted.includes(name);
  if (lock === undefined) {
    log(`no lock file (${lockPath ?? 'none given'}): resolving now; run \`alba lock\` to pin the packages`);
    lock = (
      await lockRecipe(recipe, {
        targets,
        cacheDir,
        allowInsecure: options.allowInsecure === true,
        log,
        ...(options.indexCompression === undefined ? {} : { indexCompression: options.indexCompression }),
        ...(options.onLockProgress === undefined ? {} : { onProgress: options.onLockProgress }),
        onArchResolved: (name, packages, releases) => {
          const arch = recipe.archs.find((a) => a.name === name);
          if (arch !== undefined && selected(name)) prefetch.add(arch, packages, releases);
        },
      })
    ).lock;
    prefetched = await prefetch.finish();
  } else if (options.remoteCache === undefined) {
    // from a lock: every arch's downloads and layers at once, as when resolving (the remote cache, when there is one, is asked first by build())
    for (const arch of recipe.archs) if (selected(arch.name)) prefetch.add(arch, lock.archs[arch.name] ?? [], lock.releases);
    prefetched = await prefetch.finish();
  }
  const prefetchSeconds = clock();
  const result = await build({
    recipe,
    lock,
    cacheDir,
    targets,
    log,
    ...(options.archs === undefined ? {} : { archs: options.archs }),
    ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(prefetched === undefined ? {} : prefetched),
    ...(options.remoteCache === undefined ? {} : { remoteCache: options.remoteCache }),
  });
  return { ...result, timings: { ...result.timings, prefetch: prefetchSeconds }, recipe, lock, resolved: resolving };
}
