import { AlbaError, redactUrl } from '../../errors.js';

/** A bucket (and optional prefix) of an S3 server, as `s3://BUCKET[/PREFIX]?endpoint=…&region=…&s3ForcePathStyle=true` names it. */
export interface S3Target {
  bucket: string;
  /** Key prefix without leading or trailing `/` ('' for none). */
  prefix: string;
  /** `https://host[:port]` or `http://…` when the URL's endpoint says so; undefined for AWS. */
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** The URL as given (it holds no secret). */
  url: string;
}

const HINT = 'write s3://BUCKET[/PREFIX]?endpoint=HOST[:PORT]&region=REGION&s3ForcePathStyle=true (the Go CDK form)';

/**
 * True when an `s3://` URL holds credentials: an `@` before its query, or one in its `endpoint`
 * (a password may hold `/`, `?` or `@`: any `@` there counts).
 */
export function s3CredentialsInUrl(text: string): boolean {
  const query = text.indexOf('?');
  if ((query === -1 ? text : text.slice(0, query)).includes('@')) return true;
  return query !== -1 && (new URLSearchParams(text.slice(query + 1)).get('endpoint') ?? '').includes('@');
}

/** USAGE for an `s3://` URL holding credentials, naming it without them. */
export function refuseS3Credentials(text: string): void {
  if (!s3CredentialsInUrl(text)) return;
  throw new AlbaError(
    'USAGE',
    `${redactUrl(text.replace(/([?&]endpoint=)[^&]*@/, '$1'))}: credentials in a target URL are refused (they would end up in shell history, CI logs and process lists)`,
    { hint: 'drop KEY:SECRET@ (from the bucket or the endpoint) and pass them as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE' },
  );
}

/** Parses the Go CDK form of an S3 URL (`endpoint` without a scheme means https); credentials in it are USAGE. */
export function parseS3Target(text: string): S3Target {
  refuseS3Credentials(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new AlbaError('USAGE', `not an S3 URL: ${JSON.stringify(redactUrl(text))}`, { hint: HINT, cause });
  }
  if (url.protocol !== 's3:' || url.hostname === '')
    throw new AlbaError('USAGE', `not an S3 URL: ${JSON.stringify(redactUrl(text))}`, { hint: HINT });
  const known = new Set(['endpoint', 'region', 's3ForcePathStyle']);
  for (const key of url.searchParams.keys()) {
    if (!known.has(key)) throw new AlbaError('USAGE', `${redactUrl(text)}: unknown parameter ${JSON.stringify(key)}`, { hint: HINT });
  }
  const endpointParam = url.searchParams.get('endpoint');
  const endpoint =
    endpointParam === null || endpointParam === ''
      ? undefined
      : /^https?:\/\//.test(endpointParam)
        ? endpointParam.replace(/\/+$/, '')
        : `https://${endpointParam}`;
  return {
    bucket: url.hostname,
    prefix: decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, ''),
    ...(endpoint === undefined ? {} : { endpoint }),
    region: url.searchParams.get('region') || 'us-east-1',
    forcePathStyle: url.searchParams.get('s3ForcePathStyle') === 'true',
    url: text,
  };
}

/** The key of `path` under the target's prefix. */
export function keyOf(target: S3Target, path: string): string {
  return target.prefix === '' ? path : `${target.prefix}/${path}`;
}
