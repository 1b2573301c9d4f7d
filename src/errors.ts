/** Stable error codes; each names one kind of failure a user can act on. */
export type ErrorCode =
  | 'USAGE'
  | 'RECIPE_INVALID'
  | 'RECIPE_NOT_FOUND'
  | 'LOCK_INVALID'
  | 'LOCK_STALE'
  | 'KEYRING_MISSING'
  | 'SIGNATURE_INVALID'
  | 'RELEASE_INVALID'
  | 'INDEX_MISSING'
  | 'INDEX_INVALID'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'BLOB_MISSING'
  | 'DECOMPRESS_FAILED'
  | 'PACKAGE_NOT_FOUND'
  | 'UNSATISFIABLE'
  | 'NETWORK'
  | 'HTTP_STATUS'
  | 'DEB_INVALID'
  | 'DEB_UNSAFE_ENTRY'
  | 'FILE_MISSING'
  | 'CA_CERTIFICATE_INVALID'
  | 'ELF_ARCH_MISMATCH'
  | 'LAYOUT_INVALID'
  | 'SBOM_NOT_FOUND'
  | 'REGISTRY'
  | 'APT_SOURCES'
  | 'ARCHIVE_INVALID'
  | 'PLATFORM_MISMATCH'
  | 'TOO_LARGE'
  | 'TAG_SHARED'
  | 'TAG_EXISTS'
  | 'S3'
  | 'REMOTE_CACHE'
  | 'SIGN_KEY'
  | 'SIGNATURE_MISSING'
  | 'ATTESTATION_INVALID';

/** The one error type alba throws for anything a user can fix: a code, the fact, and what to do. */
export class AlbaError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AlbaError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** True when `err` is an AlbaError, optionally with the given code. */
export function isAlbaError(err: unknown, code?: ErrorCode): err is AlbaError {
  return err instanceof AlbaError && (code === undefined || err.code === code);
}

/**
 * A URL as it may appear in a message: without `user:password@` and with the values of the query
 * parameters that are credentials (a presigned storage URL's signature, a SAS token) replaced by
 * `REDACTED`. Every form a URL parser accepts counts (`https:/u:p@h`, `https:\\u:p@h`, leading
 * blanks). In a URL, the user part ends at the last `@` of the authority, as URL parsers split it
 * (a password may hold `@`); in text that is not a URL (a password holding `/`, `?` or `#`), at its
 * last `@` that does not start a digest.
 */
export function redactUrl(url: string): string {
  return withoutUserInfo(url).replace(SECRET_QUERY, '$1REDACTED');
}

function withoutUserInfo(url: string): string {
  const scheme = /^\s*[a-z][a-z0-9+.-]*:[\\/]*/i.exec(url)?.[0];
  if (scheme === undefined) return url;
  const rest = url.slice(scheme.length);
  if (!URL.canParse(url)) return scheme + withoutUserPart(rest);
  const end = /^[^/\\?#]*/.exec(rest)![0].lastIndexOf('@');
  return end < 0 ? url : scheme + rest.slice(end + 1);
}

/** `text` without what comes up to its last `@` that does not start a digest (`@sha256:…`): `user:password@host/repo@sha256:…` → `host/repo@sha256:…`. */
export function withoutUserPart(text: string): string {
  return text.replace(/^[\s\S]*@(?!sha(?:256|384|512):)/, '');
}

/** Query parameters whose values are credentials: AWS and Google presigned URLs, Azure SAS, bearer tokens. */
const SECRET_QUERY =
  /([?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|signature|sig|access_token|token)=)[^&#]*/gi;
