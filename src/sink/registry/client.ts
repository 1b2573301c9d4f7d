import { AlbaError, redactUrl } from '../../errors.js';
import { digestOf, isDigest, type Digest } from '../../oci/digest.js';
import { MediaType } from '../../oci/media-types.js';
import type { Descriptor } from '../../oci/types.js';
import { referrersTag } from '../../sbom/referrer.js';
import type { Credentials } from './auth.js';
import { registryBaseUrl, type ImageReference } from './reference.js';
import { discard, readBody, RegistryTransport } from './transport.js';

/** How to reach a registry. */
export interface RegistryClientOptions {
  /** Basic-auth credentials, also used to get bearer tokens. */
  credentials?: Credentials;
  /** Use http even for a non-loopback host. */
  plainHttp?: boolean;
  /** Time allowed for one request (default 60 s). */
  timeoutMs?: number;
}

/** A manifest or index as the registry served it. */
export interface FetchedManifest {
  bytes: Buffer;
  /** sha256 of `bytes`. */
  digest: Digest;
  /** The `mediaType` of the JSON, else the Content-Type the registry sent. */
  mediaType: string;
}

/** The manifest types alba reads, for the Accept header (distribution hides OCI indexes from clients that omit it). */
const MANIFEST_ACCEPT = [MediaType.index, MediaType.manifest, MediaType.dockerManifestList, MediaType.dockerManifest].join(', ');
/** The distribution spec's advice: registries and clients may refuse manifests over 4 MiB. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Blobs read whole into memory (SBOMs, configs) must be smaller than this. */
const MAX_BLOB_BYTES = 256 * 1024 * 1024;

/** A read client for one repository of an OCI distribution registry. */
export class RegistryClient {
  private readonly transport: RegistryTransport;
  private readonly repository: string;

  constructor(ref: Pick<ImageReference, 'registry' | 'repository'>, options: RegistryClientOptions = {}) {
    this.repository = ref.repository;
    this.transport = new RegistryTransport(registryBaseUrl(ref.registry, options.plainHttp), `repository:${ref.repository}:pull`, {
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }

  /** `GET /v2/`: checks that a registry answers there and settles authentication. */
  async ping(): Promise<void> {
    const url = this.transport.url('/v2/');
    const res = await this.transport.request('GET', url);
    if (!res.ok) await this.transport.fail('GET', url, res);
    await discard(res);
  }

  /** The manifest or index tagged `reference` or with that digest (checked against the bytes). */
  async manifest(reference: string): Promise<FetchedManifest> {
    return (await this.getManifest(reference, false)) as FetchedManifest;
  }

  /** The manifest or index `reference`, or undefined when the registry answers 404. */
  manifestIfFound(reference: string): Promise<FetchedManifest | undefined> {
    return this.getManifest(reference, true);
  }

  private async getManifest(reference: string, allowMissing: boolean): Promise<FetchedManifest | undefined> {
    const url = this.transport.url(`/v2/${this.repository}/manifests/${reference}`);
    const res = await this.transport.request('GET', url, { accept: MANIFEST_ACCEPT });
    if (res.status === 404 && allowMissing) {
      await discard(res);
      return undefined;
    }
    if (!res.ok) await this.transport.fail('GET', url, res);
    const bytes = await readBody(res, MAX_MANIFEST_BYTES, `manifest ${reference} from ${redactUrl(url)}`);
    const digest = digestOf(bytes);
    if (reference.startsWith('sha256:') && reference !== digest) {
      throw new AlbaError('DIGEST_MISMATCH', `GET ${redactUrl(url)}: the manifest's digest is ${digest}`, { hint: 'the registry served other content than asked for; do not trust it' });
    }
    return { bytes, digest, mediaType: jsonMediaType(bytes) ?? (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '' };
  }

  /** A whole blob, checked against the descriptor's size and digest. */
  async blob(descriptor: Pick<Descriptor, 'digest' | 'size'>): Promise<Buffer> {
    const url = this.transport.url(`/v2/${this.repository}/blobs/${descriptor.digest}`);
    if (descriptor.size > MAX_BLOB_BYTES) {
      throw new AlbaError('REGISTRY', `blob ${descriptor.digest} (${descriptor.size} bytes) is too large to read into memory`, { hint: 'this command reads only small blobs such as SBOMs' });
    }
    const res = await this.transport.request('GET', url);
    if (!res.ok) await this.transport.fail('GET', url, res);
    const bytes = await readBody(res, descriptor.size, `blob ${descriptor.digest} from ${redactUrl(url)}`).catch((cause: unknown) => {
      throw new AlbaError('SIZE_MISMATCH', `GET ${redactUrl(url)}: more than the ${descriptor.size} bytes its descriptor says`, { hint: 'the registry or the manifest is corrupt', cause });
    });
    if (bytes.length !== descriptor.size) {
      throw new AlbaError('SIZE_MISMATCH', `GET ${redactUrl(url)}: ${bytes.length} bytes, its descriptor says ${descriptor.size}`, { hint: 'the registry or the manifest is corrupt' });
    }
    const digest = digestOf(bytes);
    if (digest !== descriptor.digest) {
      throw new AlbaError('DIGEST_MISMATCH', `GET ${redactUrl(url)}: the content's digest is ${digest}`, { hint: 'the registry served corrupt content; do not trust it' });
    }
    return bytes;
  }

  /**
   * Descriptors of the manifests whose subject is `subject` (with `artifactType` when given): from
   * `GET /v2/<name>/referrers/<digest>` when the registry answers it with an index, else from the
   * referrers tag schema fallback (the index tagged `sha256-<hex>`); [] when neither has any.
   */
  async referrers(subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    const query = artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(artifactType)}`;
    const url = this.transport.url(`/v2/${this.repository}/referrers/${subject}${query}`);
    const res = await this.transport.request('GET', url, { accept: MediaType.index });
    const type = (res.headers.get('content-type') ?? '').split(';')[0]?.trim();
    let index: Buffer | undefined;
    if (res.ok && type === MediaType.index) {
      index = await readBody(res, MAX_MANIFEST_BYTES, `referrers of ${subject} from ${redactUrl(url)}`);
    } else if (res.ok || res.status === 404 || res.status === 400 || res.status === 406) {
      await discard(res);
      index = (await this.manifestIfFound(referrersTag(subject)))?.bytes;
    } else {
      await this.transport.fail('GET', url, res);
    }
    const entries = index === undefined ? [] : indexEntries(index, `referrers index of ${subject}`);
    return entries.filter((d) => artifactType === undefined || d.artifactType === artifactType);
  }
}

/** The sha256 entries of an image index (entries with other digest algorithms are skipped). */
function indexEntries(bytes: Buffer, what: string): Descriptor[] {
  let parsed: { manifests?: unknown };
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as typeof parsed;
  } catch (cause) {
    throw new AlbaError('REGISTRY', `the ${what} is not JSON`, { hint: 'the registry served a corrupt index', cause });
  }
  if (!Array.isArray(parsed.manifests)) throw new AlbaError('REGISTRY', `the ${what} has no manifests list`, { hint: 'the registry served a corrupt index' });
  return (parsed.manifests as Partial<Descriptor>[]).filter(
    (d): d is Descriptor => typeof d?.mediaType === 'string' && isDigest(d.digest) && typeof d.size === 'number',
  );
}

function jsonMediaType(bytes: Buffer): string | undefined {
  try {
    const type = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}
