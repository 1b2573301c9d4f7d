import { AlbaError, redactUrl } from '../errors.js';
import { RemoteLayerCache, remoteCacheMode, s3Backend } from '../builder/remote-cache.js';
import type { RegistryAccess } from './registry-flags.js';

/** A cache is worth little retrying: one retry, soon, then the build goes on without it. */
const CACHE_RETRY = { retries: 1, baseMs: 250, maxMs: 1000 };

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
 * `--remote-cache-mode`: an `s3://BUCKET[/PREFIX]?endpoint=…` URL, as the S3 destination names it,
 * with its credentials, or `docker://HOST/REPO`, a repository of a registry, with the credentials
 * a push to that registry would use. The AWS SDK is loaded only for s3://.
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
  const options = { mode: checked, log, ...(context.lazy === true ? { lazy: true } : {}) };
  if ((await import('../sink/target.js')).credentialsInUrl(url)) {
    throw new AlbaError('USAGE', '--remote-cache: credentials in the URL are refused', {
      hint: 'give them as for a push there (S3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile; a registry: docker login, DOCKER_AUTH_CONFIG, ALBA_REGISTRY_*)',
    });
  }
  if (url.startsWith('docker://')) {
    const rest = url.slice('docker://'.length).replace(/\/+$/, '');
    const [{ parseReference }, { RegistryClient }, { registryClientOptions }, { registryBackend }] = await Promise.all([
      import('../sink/registry/reference.js'),
      import('../sink/registry/client.js'),
      import('./registry-flags.js'),
      import('../builder/remote-cache-registry.js'),
    ]);
    const ref = rest.includes('/') ? parseReference(rest) : undefined;
    if (ref === undefined || ref.digest !== undefined || /:[^/]+$/.test(rest.slice(rest.indexOf('/') + 1))) {
      throw new AlbaError('USAGE', `--remote-cache ${redactUrl(url)}: expected docker://HOST/REPO (a repository of its own, no tag)`, {
        hint: 'e.g. docker://registry.example.com/team/alba-cache; its tags are the cache entries',
      });
    }
    const where = { registry: ref.registry, repository: ref.repository };
    const forCache = (context.accessFor ?? []).length === 0 || context.accessFor!.includes(ref.registry);
    const access = forCache ? context.access : undefined;
    if (!forCache && (context.access?.plainHttp === true || context.access?.tls !== undefined))
      log(
        `note: --plain-http and the TLS options are for the push targets' registries; the remote cache on ${ref.registry} is reached as without them`,
      );
    const client = new RegistryClient(where, {
      // never --creds: those are for the push targets; the cache's host gets what the chain has for it
      ...(await registryClientOptions(
        ref.registry,
        {
          ...(access?.plainHttp === true ? { plainHttp: true } : {}),
          ...(access?.tls === undefined ? {} : { tls: access.tls }),
        },
        (host, source) => log(`credentials for ${host} (remote cache): ${source}`),
      )),
      push: checked === 'readwrite',
      retry: CACHE_RETRY,
    });
    return { remoteCache: new RemoteLayerCache(registryBackend(client, where), options) };
  }
  if (!url.startsWith('s3://')) {
    throw new AlbaError('USAGE', `--remote-cache ${redactUrl(url)}: not an s3:// or docker:// URL`, {
      hint: 'write s3://BUCKET[/PREFIX]?endpoint=HOST[:PORT]&region=REGION&s3ForcePathStyle=true, or docker://HOST/REPO',
    });
  }
  const [{ parseS3Target }, { S3Store }] = await Promise.all([import('../sink/s3/s3-target.js'), import('../sink/s3/s3-store.js')]);
  const target = parseS3Target(url);
  return { remoteCache: new RemoteLayerCache(s3Backend(new S3Store(target), target.prefix), options) };
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
