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
/** The parameters of the URL; any other is USAGE. */
const KNOWN = new Set(['endpoint', 'region', 's3ForcePathStyle']);

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
    `${shownS3Url(text)}: credentials in a target URL are refused (they would end up in shell history, CI logs and process lists)`,
    { hint: 'drop KEY:SECRET@ (from the bucket or the endpoint) and pass them as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE' },
  );
}

/**
 * An `s3://` URL as messages show it: without a user part in the bucket or the endpoint (however
 * percent-encoded: the endpoint is read decoded), and an unknown parameter by its name only (a
 * tool that takes keys in its URL has users who write them there).
 */
function shownS3Url(text: string): string {
  const query = text.indexOf('?');
  const head = redactUrl(query === -1 ? text : text.slice(0, query));
  if (query === -1) return head;
  const params = text
    .slice(query + 1)
    .split('&')
    .map((pair) => {
      const [key = '', value = ''] = [...new URLSearchParams(pair)][0] ?? [];
      const raw = pair.split('=')[0] as string;
      if (!KNOWN.has(key)) return raw;
      return key === 'endpoint' && value.includes('@') ? `${raw}=${value.slice(value.lastIndexOf('@') + 1)}` : pair;
    });
  return `${head}?${params.join('&')}`;
}

/** Parses the Go CDK form of an S3 URL (`endpoint` without a scheme means https); credentials in it are USAGE. */
export function parseS3Target(text: string): S3Target {
  refuseS3Credentials(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new AlbaError('USAGE', `not an S3 URL: ${JSON.stringify(shownS3Url(text))}`, { hint: HINT, cause });
  }
  if (url.protocol !== 's3:' || url.hostname === '')
    throw new AlbaError('USAGE', `not an S3 URL: ${JSON.stringify(shownS3Url(text))}`, { hint: HINT });
  for (const key of url.searchParams.keys()) {
    if (!KNOWN.has(key)) throw new AlbaError('USAGE', `${shownS3Url(text)}: unknown parameter ${JSON.stringify(key)}`, { hint: HINT });
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
