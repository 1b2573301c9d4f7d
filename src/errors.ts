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
  | 'ATTESTATION_INVALID'
  | 'IO';

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

/** What to check for a file-system error, by its errno code. */
const IO_HINTS: [RegExp, string][] = [
  [
    /^(EACCES|EPERM)$/,
    'alba may not do this there: check the permissions of that path (and the user alba runs as), or choose another path',
  ],
  [/^(ENOSPC|EDQUOT)$/, 'the disk (or your quota) is full: free some space, or write elsewhere (--out, --cache)'],
  [/^EROFS$/, 'that file system is read-only: write elsewhere (--out, --cache)'],
  [
    /^(ENOTDIR|EEXIST|EISDIR|ELOOP|ENOENT|ENAMETOOLONG)$/,
    'a part of that path is not what alba needs there (a file, or a broken symbolic link, where a directory should be; or the reverse): check the path',
  ],
  [/^(EMFILE|ENFILE)$/, 'too many open files: raise the limit (ulimit -n)'],
];

/**
 * `err` as an AlbaError: a file-system error of the machine (a Node error naming a system call
 * and a path: a directory alba may not write, a full or read-only disk, a file where a directory
 * should be) becomes `IO`, naming the call, the path and the reason; anything else is returned as
 * it is. The CLI prints errors through it; library callers may too.
 */
export function asAlbaError(err: unknown): unknown {
  if (err instanceof AlbaError || !(err instanceof Error)) return err;
  const { code, syscall, path, dest } = err as NodeJS.ErrnoException & { dest?: string };
  if (typeof code !== 'string' || !/^E[A-Z0-9]+$/.test(code) || typeof syscall !== 'string') return err;
  // a network call's error is NETWORK where it happens; one that got here has an address, not a path
  if (typeof path !== 'string' && (err as { address?: unknown }).address !== undefined) return err;
  // Node's message: "EACCES: permission denied, mkdir '/x'"; a write's or a close's names no path
  const reason = err.message.split(',')[0] ?? code;
  const where = typeof path === 'string' ? ` ${path}${typeof dest === 'string' ? ` to ${dest}` : ''}` : '';
  return new AlbaError('IO', `cannot ${syscall}${where}: ${reason}`, {
    hint: IO_HINTS.find(([codes]) => codes.test(code))?.[1] ?? 'the file system refused it: check that path and the disk',
    cause: err,
  });
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

/**
 * `text` without what comes up to its last `@` (or `%40`, the same percent-encoded) that does not
 * start a digest (`@sha256:…`): `user:password@host/repo@sha256:…` → `host/repo@sha256:…`.
 */
export function withoutUserPart(text: string): string {
  return text.replace(/^[\s\S]*(?:@|%40)(?!sha(?:256|384|512):)/i, '');
}

/** Query parameters whose values are credentials: AWS and Google presigned URLs, Azure SAS, bearer tokens. */
const SECRET_QUERY =
  /([?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|signature|sig|access_token|token)=)[^&#]*/gi;
