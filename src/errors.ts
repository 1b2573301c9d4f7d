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

/** Removes user:password from a URL so it can appear in a message. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}
