/**
 * The one owner of the cache directory's layout. Each area belongs to one module:
 * - `blobs/`: the content-addressed blob store (.debs and layers; see oci/blob-store.ts);
 * - `indexes/`: parsed Packages indexes by SHA256 (debian/index-cache.ts);
 * - `layers/`: records of built package layers by their inputs (builder/layer-cache.ts);
 * - `resolutions/`: earlier resolutions by their inputs (lock/resolution-cache.ts);
 * - `mounts/`: which repositories of a registry hold which blobs (sink/registry/mount-hints.ts);
 * - `builds/`: the stamp of each `alba build` command line's last build (cli/warm-build.ts).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { removeStaleTemps } from './util/stale-temps.js';

/** One area of the cache directory. */
export type CacheArea = 'blobs' | 'indexes' | 'layers' | 'resolutions' | 'mounts' | 'builds';

/** alba's cache root: `$XDG_CACHE_HOME/alba`, else `~/.cache/alba`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CACHE_HOME'];
  return xdg !== undefined && xdg !== '' ? join(xdg, 'alba') : join(homedir(), '.cache', 'alba');
}

/** The folder of one area inside a cache directory. */
export function cacheArea(cacheDir: string, area: CacheArea): string {
  return join(cacheDir, area);
}

/** Removes what killed runs left in the cache's temp places (blobs/tmp, index and record temp files) once it is older than STALE_TEMP_MS. */
export async function removeStaleCacheTemps(cacheDir: string): Promise<void> {
  await removeStaleTemps(join(cacheArea(cacheDir, 'blobs'), 'tmp'), () => true);
  await removeStaleTemps(cacheArea(cacheDir, 'indexes'), (name) => name.startsWith('.tmp-'));
  for (const area of ['layers', 'resolutions', 'mounts', 'builds'] as const)
    await removeStaleTemps(cacheArea(cacheDir, area), (name) => name.endsWith('.tmp'));
}
