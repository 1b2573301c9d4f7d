import { AlbaError } from '../errors.js';
import { RemoteLayerCache, remoteCacheMode } from '../builder/remote-cache.js';

/**
 * buildRecipe()'s `remoteCache` from `--remote-cache` (else ALBA_REMOTE_CACHE; empty: none) and
 * `--remote-cache-mode`: an `s3://BUCKET[/PREFIX]?endpoint=…` URL, as the S3 destination names it,
 * with its credentials. The AWS SDK is loaded only when one is given.
 */
export async function remoteCacheOption(
  flag: string | undefined,
  mode: string | undefined,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<{ remoteCache?: RemoteLayerCache }> {
  const checked = remoteCacheMode(mode);
  const url = flag ?? env['ALBA_REMOTE_CACHE'];
  if (url === undefined || url === '') return {};
  if (/^s3:\/\/[^/?#]*@/.test(url)) {
    throw new AlbaError('USAGE', '--remote-cache: credentials in the URL are refused', {
      hint: 'give them as for the S3 destination (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile)',
    });
  }
  if (!url.startsWith('s3://')) {
    throw new AlbaError('USAGE', `--remote-cache ${url}: not an s3:// URL`, {
      hint: 'write s3://BUCKET[/PREFIX]?endpoint=HOST[:PORT]&region=REGION&s3ForcePathStyle=true',
    });
  }
  const [{ parseS3Target }, { S3Store }] = await Promise.all([import('../sink/s3/s3-target.js'), import('../sink/s3/s3-store.js')]);
  const target = parseS3Target(url);
  return { remoteCache: new RemoteLayerCache(new S3Store(target), target.prefix, checked, log) };
}
