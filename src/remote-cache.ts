import { AlbaError, redactUrl } from './errors.js';
import type { RegistryClientOptions } from './sink/registry/client.js';
import { RemoteLayerCache, remoteCacheMode, s3Backend, type RemoteCacheMode } from './builder/remote-cache.js';

/** A cache is worth little retrying: one retry, soon, then the build goes on without it. */
const CACHE_RETRY = { retries: 1, baseMs: 250, maxMs: 1000 };

/** How openRemoteCache reaches its cache. */
export interface OpenRemoteCacheOptions {
  /** `read` takes entries and writes none; default `readwrite`. */
  mode?: RemoteCacheMode;
  /** Told of warnings (a cache that is down costs one) and of the registry's credentials source. */
  log?: (line: string) => void;
  /** Take layers by their record alone, fetching their bytes only if a sink needs them (a build pushed without a layout). */
  lazy?: boolean;
  /** For a `docker://` cache: how to reach its registry (credentials already found), as openSink's `registry`. */
  registry?: (registry: string) => Promise<RegistryClientOptions>;
}

/**
 * The remote layer cache at `url` (buildRecipe()'s and build()'s `remoteCache`): an
 * `s3://BUCKET[/PREFIX]?endpoint=…` URL, as the S3 destination names it, with its credentials, or
 * `docker://HOST/REPO`, a repository of its own on a registry. Credentials in the URL are refused
 * (USAGE). The AWS SDK is loaded only for s3://.
 */
export async function openRemoteCache(url: string, options: OpenRemoteCacheOptions = {}): Promise<RemoteLayerCache> {
  const mode = remoteCacheMode(options.mode);
  const cacheOptions = { mode, log: options.log ?? (() => {}), ...(options.lazy === true ? { lazy: true } : {}) };
  if ((await import('./sink/target.js')).credentialsInUrl(url)) {
    throw new AlbaError('USAGE', '--remote-cache: credentials in the URL are refused', {
      hint: 'give them as for a push there (S3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile; a registry: docker login, DOCKER_AUTH_CONFIG, ALBA_REGISTRY_*)',
    });
  }
  if (url.startsWith('docker://')) {
    const rest = url.slice('docker://'.length).replace(/\/+$/, '');
    const [{ parseReference }, { RegistryClient }, { registryBackend }] = await Promise.all([
      import('./sink/registry/reference.js'),
      import('./sink/registry/client.js'),
      import('./builder/remote-cache-registry.js'),
    ]);
    const ref = rest.includes('/') ? parseReference(rest) : undefined;
    if (ref === undefined || ref.digest !== undefined || /:[^/]+$/.test(rest.slice(rest.indexOf('/') + 1))) {
      throw new AlbaError('USAGE', `--remote-cache ${redactUrl(url)}: expected docker://HOST/REPO (a repository of its own, no tag)`, {
        hint: 'e.g. docker://registry.example.com/team/alba-cache; its tags are the cache entries',
      });
    }
    const where = { registry: ref.registry, repository: ref.repository };
    const client = new RegistryClient(where, {
      ...(await options.registry?.(ref.registry)),
      push: mode === 'readwrite',
      retry: CACHE_RETRY,
    });
    return new RemoteLayerCache(registryBackend(client, where), cacheOptions);
  }
  if (!url.startsWith('s3://')) {
    throw new AlbaError('USAGE', `--remote-cache ${redactUrl(url)}: not an s3:// or docker:// URL`, {
      hint: 'write s3://BUCKET[/PREFIX]?endpoint=HOST[:PORT]&region=REGION&s3ForcePathStyle=true, or docker://HOST/REPO',
    });
  }
  const [{ parseS3Target }, { S3Store }] = await Promise.all([import('./sink/s3/s3-target.js'), import('./sink/s3/s3-store.js')]);
  const target = parseS3Target(url);
  return new RemoteLayerCache(s3Backend(new S3Store(target), target.prefix), cacheOptions);
}
