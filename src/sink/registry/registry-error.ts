import { AlbaError, redactUrl } from '../../errors.js';

/** One entry of the `errors` array of a registry's error body (distribution spec). */
export interface RegistryErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

/** What a failed registry request was and what the registry answered. */
export interface RegistryFailure {
  method: string;
  url: string;
  status: number;
  /** The registry's `errors[]`, empty when the body had none. */
  errors: RegistryErrorEntry[];
  /** The request was made without credentials (only matters for 401). */
  anonymous?: boolean;
  /** The URL is on another origin than the registry's (an upload Location, a redirect): it was sent no credentials. */
  foreignOrigin?: boolean;
}

/** AlbaError REGISTRY keeping the request, the HTTP status and the registry's own error codes. */
export class RegistryError extends AlbaError {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly errors: RegistryErrorEntry[];

  constructor(failure: RegistryFailure) {
    super('REGISTRY', registryMessage(failure), { hint: registryHint(failure) });
    this.method = failure.method;
    this.url = redactUrl(failure.url);
    this.status = failure.status;
    this.errors = failure.errors;
  }
}

/**
 * True when the registry refused a manifest for content it does not hold (a blob, a child
 * manifest): what a removal deleting that content meanwhile causes.
 */
export function namesMissingContent(err: unknown): boolean {
  return err instanceof RegistryError && err.errors.some((e) => MISSING_CONTENT.has(e.code));
}

const MISSING_CONTENT = new Set(['MANIFEST_BLOB_UNKNOWN', 'MANIFEST_UNKNOWN', 'BLOB_UNKNOWN']);

/** The `errors[]` of a registry error body; [] when the body is not such JSON. */
export function parseErrorBody(body: string): RegistryErrorEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  const errors = (parsed as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors
    .filter((e): e is { code?: unknown; message?: unknown; detail?: unknown } => typeof e === 'object' && e !== null)
    .map((e) => ({
      code: typeof e.code === 'string' ? e.code : 'UNKNOWN',
      message: typeof e.message === 'string' ? e.message : '',
      ...(e.detail === undefined ? {} : { detail: e.detail }),
    }));
}

function registryMessage(f: RegistryFailure): string {
  const reasons = f.errors.map((e) => (e.message === '' ? e.code : `${e.code}: ${e.message}`));
  const fallback = f.status === 401 ? 'unauthorized' : f.status === 403 ? 'forbidden' : f.status === 404 ? 'not found' : 'no error details';
  return `${f.method} ${redactUrl(f.url)}: ${f.status} ${reasons.length === 0 ? fallback : reasons.join('; ')}`;
}

function registryHint(f: RegistryFailure): string {
  const codes = new Set(f.errors.map((e) => e.code));
  if ((f.status === 401 || f.status === 403) && f.foreignOrigin === true) {
    return `the registry sent alba to another origin (${hostOf(f.url)}) for this step, which asks for credentials: alba sends them only to the registry's own origin (a storage backend should accept the URL's own signature); check the registry's storage or proxy configuration`;
  }
  if (f.status === 401) {
    const host = hostOf(f.url);
    return f.anonymous === true
      ? `the registry needs credentials: pass --creds USER:PASSWORD, set ALBA_REGISTRY_USER and ALBA_REGISTRY_PASSWORD, or run "docker login ${host}"`
      : `the registry refused these credentials (or they may not push here): check --creds, or run "docker login ${host}"`;
  }
  if (f.status === 403 || codes.has('DENIED')) return 'these credentials may not read this repository: check its permissions';
  if (codes.has('NAME_UNKNOWN')) return 'the repository does not exist on this registry: check the name';
  if (codes.has('MANIFEST_UNKNOWN'))
    return 'the registry has no such repository, tag or digest: check the reference (is the image pushed?)';
  if (codes.has('BLOB_UNKNOWN')) return 'the registry lacks content the image refers to: push the image again';
  if (f.status === 429 || f.status >= 500) return 'the registry failed or is rate limiting; retry later';
  return 'check the image reference and the registry address';
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'HOST';
  }
}
