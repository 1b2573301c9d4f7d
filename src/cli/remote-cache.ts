import { remoteCacheMode, type RemoteLayerCache } from '../builder/remote-cache.js';
import type { RegistryClientOptions } from '../sink/registry/client.js';
import type { RegistryAccess } from './registry-flags.js';

/** How the remote cache of `alba build` is opened. */
export interface RemoteCacheContext {
  /** Plain http and TLS options for a docker:// cache (its credentials come from the chain of its own host, never from --creds). */
  access?: Omit<RegistryAccess, 'creds'>;
  /**
   * The registries `access` was given for (the push targets'): a cache on another host does not
   * get it, so `--plain-http` for an in-house registry never sends the cache's credentials in
   * clear to another host. Empty or absent: `access` is the cache's own.
   */
  accessFor?: readonly string[];
  /** Take layers by their record alone, fetching their bytes only if a sink needs them (build --push without --out). */
  lazy?: boolean;
}

/**
 * buildRecipe()'s `remoteCache` from `--remote-cache` (else ALBA_REMOTE_CACHE; empty: none) and
 * `--remote-cache-mode` (openRemoteCache); a `docker://` cache gets the credentials a push to its
 * registry would use.
 */
export async function remoteCacheOption(
  flag: string | undefined,
  mode: string | undefined,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  context: RemoteCacheContext = {},
): Promise<{ remoteCache?: RemoteLayerCache }> {
  const checked = remoteCacheMode(mode);
  const url = flag ?? env['ALBA_REMOTE_CACHE'];
  if (url === undefined || url === '') return {};
  const { openRemoteCache } = await import('../remote-cache.js');
  const registry = async (host: string): Promise<RegistryClientOptions> => {
    const forCache = (context.accessFor ?? []).length === 0 || context.accessFor!.includes(host);
    const access = forCache ? context.access : undefined;
    if (!forCache && (context.access?.plainHttp === true || context.access?.tls !== undefined))
      log(
        `note: --plain-http and the TLS options are for the push targets' registries; the remote cache on ${host} is reached as without them`,
      );
    // never --creds: those are for the push targets; the cache's host gets what the chain has for it
    return (await import('./registry-flags.js')).registryClientOptions(
      host,
      {
        ...(access?.plainHttp === true ? { plainHttp: true } : {}),
        ...(access?.tls === undefined ? {} : { tls: access.tls }),
      },
      (h, source) => log(`credentials for ${h} (remote cache): ${source}`),
    );
  };
  return { remoteCache: await openRemoteCache(url, { mode: checked, log, registry, ...(context.lazy === true ? { lazy: true } : {}) }) };
}

/**
 * The repositories a push to `targets` may mount blobs from: a docker:// cache's repository for
 * targets on its registry (a layer the cache holds then costs the push a mount, not its bytes).
 */
export function cacheMountFrom(cache: RemoteLayerCache | undefined, targets: readonly string[]): string[] {
  const source = cache?.backend.mountSource;
  if (source === undefined) return [];
  // only when every registry target is on the cache's registry: another registry is never asked about the cache's repository
  const registries = targets.filter((t) => t.startsWith('docker://'));
  const onCacheRegistry = (t: string): boolean => t === `docker://${source.registry}` || t.startsWith(`docker://${source.registry}/`);
  return registries.length > 0 && registries.every(onCacheRegistry) ? [source.repository] : [];
}
