import { homedir } from 'node:os';
import { join } from 'node:path';

/** alba's cache root: `$XDG_CACHE_HOME/alba`, else `~/.cache/alba`. Holds `blobs/` (.debs, layers) and `indexes/`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CACHE_HOME'];
  return xdg !== undefined && xdg !== '' ? join(xdg, 'alba') : join(homedir(), '.cache', 'alba');
}

/** Root of the content-addressed blob store inside a cache dir (see oci/blob-store.ts). */
export function blobsDir(cacheDir: string): string {
  return join(cacheDir, 'blobs');
}
