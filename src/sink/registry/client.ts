import { Readable } from 'node:stream';
import { AlbaError, isAlbaError, redactUrl } from '../../errors.js';
import type { HttpResponse } from '../../http/request.js';
import { registryUrl } from '../../http/urls.js';
import { DEFAULT_RETRY, parseRetryAfter, retryableStatus, RetryableAnswer, withRetry } from '../../http/retry.js';
import { digestOf, isDigest, type Digest } from '../../oci/digest.js';
import { blobBytes, MAX_MANIFEST_BYTES, memoryBlob, type Blob } from '../../oci/graph.js';
import { EMPTY_DESCRIPTOR, EMPTY_JSON_BYTES } from '../../oci/manifest.js';
import { isDescriptor } from '../../oci/manifest-json.js';
import { MediaType } from '../../oci/media-types.js';
import { TAG_RE } from '../../oci/names.js';
import { referrersTag } from '../../oci/referrers.js';
import { MAX_GRAPH_MANIFESTS, type StoredReferrers } from '../../oci/reachability.js';
import type { Descriptor } from '../../oci/types.js';
import type { Credentials } from './auth.js';
import { registryBaseUrl, type ImageReference } from './reference.js';
import { type RegistryError } from './registry-error.js';
import { RegistryTransport, type TransportOptions } from './transport.js';

/** How to reach a registry. */
export interface RegistryClientOptions extends Omit<TransportOptions, 'credentials'> {
  /** Basic-auth credentials, also used to get bearer tokens. */
  credentials?: Credentials;
  /** Use http even for a non-loopback host. */
  plainHttp?: boolean;
  /** Ask for push access as well as pull. */
  push?: boolean;
  /** Ask for delete access as well (removals). */
  delete?: boolean;
  /** Other repositories of the same registry blobs may be mounted from (their pull scope is asked for too). */
  mountFrom?: readonly string[];
}

/** A manifest or index as the registry served it. */
export interface FetchedManifest {
  bytes: Buffer;
  /** sha256 of `bytes`. */
  digest: Digest;
  /** The `mediaType` of the JSON, else the Content-Type the registry sent. */
  mediaType: string;
}

/** How a blob upload goes. */
export interface UploadOptions {
  /** Blobs up to this size go in one PUT; larger ones in a streamed PATCH, then PUT (default 16 MiB). */
  monolithicMax?: number;
  /** Send PATCH requests of at most this many bytes (for registries that cap request size). */
  chunkSize?: number;
}

/** The manifest types alba reads, for the Accept header (distribution hides OCI indexes from clients that omit it). */
const MANIFEST_ACCEPT = [MediaType.index, MediaType.manifest, MediaType.dockerManifestList, MediaType.dockerManifest].join(', ');
/** Bounds of a tag listing (tags(): beyond them, TOO_LARGE). */
export const MAX_TAGS = 100_000;
export const MAX_TAG_PAGES = 1000;
export const MAX_TAG_LIST_BYTES = 64 * 1024 * 1024;
/** Blobs read whole into memory (SBOMs, configs) must be smaller than this. */
const MAX_BLOB_BYTES = 256 * 1024 * 1024;
const DEFAULT_MONOLITHIC_MAX = 16 * 1024 * 1024;

/** A client for one repository of an OCI distribution registry. */
export class RegistryClient {
  private readonly transport: RegistryTransport;
  private referrersApi: boolean | undefined;
  readonly repository: string;

  constructor(
    ref: Pick<ImageReference, 'registry' | 'repository'>,
    private readonly options: RegistryClientOptions = {},
  ) {
    this.repository = ref.repository;
    const actions = ['pull', ...(options.push === true ? ['push'] : []), ...(options.delete === true ? ['delete'] : [])].join(',');
    const scopes = [`repository:${ref.repository}:${actions}`, ...(options.mountFrom ?? []).map((r) => `repository:${r}:pull`)];
    const tls = options.tls?.insecureSkipVerify === true || options.tls?.caFile !== undefined;
    this.transport = new RegistryTransport(registryBaseUrl(ref.registry, options.plainHttp, tls), scopes, options);
  }

  /** `GET /v2/`: checks that a registry answers there and settles authentication. */
  async ping(): Promise<void> {
    const url = this.transport.url('/v2/');
    const res = await this.transport.request('GET', url);
    if (!ok(res)) await this.transport.fail('GET', url, res);
    await res.discard();
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
    const url = this.path(`manifests/${reference}`);
    const res = await this.transport.request('GET', url, { headers: { accept: MANIFEST_ACCEPT } });
    if (res.status === 404 && allowMissing) {
      await res.discard();
      return undefined;
    }
    if (!ok(res)) await this.transport.fail('GET', url, res);
    const bytes = await res.bytes(MAX_MANIFEST_BYTES, `manifest ${reference}`);
    const digest = digestOf(bytes);
    if (reference.startsWith('sha256:') && reference !== digest) {
      throw new AlbaError('DIGEST_MISMATCH', `GET ${redactUrl(url)}: the manifest's digest is ${digest}`, {
        hint: 'the registry served other content than asked for; do not trust it',
      });
    }
    return { bytes, digest, mediaType: jsonMediaType(bytes) ?? (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '' };
  }

  /** A whole blob, checked against the descriptor's size and digest. */
  async blob(descriptor: Pick<Descriptor, 'digest' | 'size'>): Promise<Buffer> {
    const url = this.path(`blobs/${descriptor.digest}`);
    if (descriptor.size > MAX_BLOB_BYTES) {
      throw new AlbaError('REGISTRY', `blob ${descriptor.digest} (${descriptor.size} bytes) is too large to read into memory`, {
        hint: 'this command reads only small blobs such as SBOMs',
      });
    }
    const res = await this.transport.request('GET', url);
    if (!ok(res)) await this.transport.fail('GET', url, res);
    const bytes = await res.bytes(descriptor.size, `blob ${descriptor.digest}`).catch((cause: unknown) => {
      // a body cut short or too slow stays what it is (NETWORK: the request may be tried again)
      if (!isAlbaError(cause, 'TOO_LARGE')) throw cause;
      throw new AlbaError('SIZE_MISMATCH', `GET ${redactUrl(url)}: more than the ${descriptor.size} bytes its descriptor says`, {
        hint: 'the registry or the manifest is corrupt',
        cause,
      });
    });
    if (bytes.length !== descriptor.size) {
      throw new AlbaError('SIZE_MISMATCH', `GET ${redactUrl(url)}: ${bytes.length} bytes, its descriptor says ${descriptor.size}`, {
        hint: 'the registry or the manifest is corrupt',
      });
    }
    const digest = digestOf(bytes);
    if (digest !== descriptor.digest) {
      throw new AlbaError('DIGEST_MISMATCH', `GET ${redactUrl(url)}: the content's digest is ${digest}`, {
        hint: 'the registry served corrupt content; do not trust it',
      });
    }
    return bytes;
  }

  /**
   * A blob as a stream (the body of one GET, watched by the transport's timeouts), undefined when
   * the registry answers 404; SIZE_MISMATCH, unread, when it declares more than `size` bytes. The
   * caller checks the bytes (size, digest) as they stream.
   */
  async openBlob(digest: Digest, size: number): Promise<Readable | undefined> {
    const url = this.path(`blobs/${digest}`);
    const res = await this.transport.request('GET', url);
    if (res.status === 404) {
      await res.discard();
      return undefined;
    }
    if (!ok(res)) await this.transport.fail('GET', url, res);
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    if (declared > size) {
      await res.discard();
      throw new AlbaError('SIZE_MISMATCH', `GET ${redactUrl(url)}: ${declared} bytes, its descriptor says ${size}`, {
        hint: 'the registry or the manifest is corrupt',
      });
    }
    return res.stream();
  }

  /**
   * Every tag of the repository (`GET tags/list`, following `Link` pages); [] for an unknown
   * repository. Bounded: more than MAX_TAGS tags, MAX_TAG_PAGES pages or MAX_TAG_LIST_BYTES is
   * TOO_LARGE, a `Link` back to a page already read is REGISTRY. Never cut short silently: a
   * removal deciding from a partial list would take kept tags for absent.
   */
  async tags(): Promise<string[]> {
    const out: string[] = [];
    const pages = new Set<string>();
    let bytes = 0;
    const tooLarge = (url: string, what: string): AlbaError =>
      new AlbaError('TOO_LARGE', `GET ${redactUrl(url)}: the tag list of ${this.repository} has ${what}`, {
        hint: `alba reads at most ${MAX_TAGS} tags in ${MAX_TAG_PAGES} pages (${MAX_TAG_LIST_BYTES / 1024 / 1024} MiB); the registry is broken or hostile, or the repository needs pruning by other means`,
      });
    for (let url: string | undefined = new URL(this.path('tags/list?n=1000')).href; url !== undefined;) {
      if (pages.has(url))
        throw new AlbaError('REGISTRY', `GET ${redactUrl(url)}: the tag list's Link leads back to a page already read`, {
          hint: 'the registry pages its tag list in a loop; it is broken or hostile',
        });
      if (pages.size === MAX_TAG_PAGES) throw tooLarge(url, `more than ${MAX_TAG_PAGES} pages`);
      pages.add(url);
      const res: HttpResponse = await this.transport.request('GET', url);
      if (res.status === 404 && pages.size === 1) {
        await res.discard();
        return out;
      }
      if (!ok(res)) await this.transport.fail('GET', url, res);
      const page = await res.bytes(MAX_MANIFEST_BYTES, 'tag list page');
      bytes += page.length;
      if (bytes > MAX_TAG_LIST_BYTES) throw tooLarge(url, `more than ${MAX_TAG_LIST_BYTES} bytes`);
      for (const tag of tagListPage(page, url)) out.push(tag);
      if (out.length > MAX_TAGS) throw tooLarge(url, `more than ${MAX_TAGS} tags`);
      url = nextPage(res, url, "the tag list's Link to its next page,");
    }
    return out;
  }

  /** The digest a tag or digest reference points at (HEAD's `Docker-Content-Digest`, else GET and hash), undefined when absent. */
  async manifestDigest(reference: string): Promise<string | undefined> {
    const url = this.path(`manifests/${reference}`);
    const res = await this.transport.request('HEAD', url, { headers: { accept: MANIFEST_ACCEPT } });
    await res.discard();
    if (res.status === 404) return undefined;
    if (!ok(res)) await this.transport.fail('HEAD', url, res);
    const header = res.headers.get('docker-content-digest');
    return header !== null && isDigest(header) ? header : (await this.manifestIfFound(reference))?.digest;
  }

  /** True when the registry has the blob (HEAD; 404 is false). */
  async hasBlob(digest: Digest): Promise<boolean> {
    return this.exists(`blobs/${digest}`, {});
  }

  /** True when the registry has the manifest (HEAD with Accept; 404 is false). */
  async hasManifest(reference: string): Promise<boolean> {
    return this.exists(`manifests/${reference}`, { accept: MANIFEST_ACCEPT });
  }

  private async exists(path: string, headers: Record<string, string>): Promise<boolean> {
    const url = this.path(path);
    const res = await this.transport.request('HEAD', url, { headers });
    await res.discard();
    if (res.status === 404) return false;
    if (!ok(res)) await this.transport.fail('HEAD', url, res);
    return true;
  }

  /**
   * Mounts the blob from `from` (another repository of this registry): true when the registry
   * mounted it (201); false when it answered with an upload session instead (202), which is dropped.
   */
  async mountBlob(digest: Digest, from: string): Promise<boolean> {
    const url = this.path(`blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`);
    const res = await this.transport.request('POST', url);
    await res.discard();
    if (res.status === 201) return true;
    if (res.status === 202) {
      const location = res.headers.get('location');
      // dropping the session is a courtesy: a broken Location, or a failed DELETE, changes nothing
      if (location !== null)
        await (async () => (await this.transport.request('DELETE', this.absolute(location), { retry: false })).discard())().catch(
          () => undefined,
        );
      return false;
    }
    return this.transport.fail('POST', url, res);
  }

  /**
   * Uploads a blob: POST a session, then one PUT with the body (small blobs), or a streamed PATCH
   * (or PATCHes of `chunkSize`, at least the registry's OCI-Chunk-Min-Length) and a closing PUT.
   * A failed attempt is retried from a new session; before each retry the blob is looked for with
   * HEAD, since a registry may have committed it although the answer was lost.
   */
  async uploadBlob(blob: Blob, options: UploadOptions = {}): Promise<void> {
    const { digest, size } = blob.descriptor;
    let attempt = 0;
    await withRetry(
      async () => {
        if (attempt++ > 0 && (await this.hasBlob(digest as Digest))) return;
        const startUrl = this.path('blobs/uploads/');
        const start = await this.transport.request('POST', startUrl, { headers: { 'content-length': '0' } });
        if (start.status !== 202) await this.transport.fail('POST', startUrl, start);
        await start.discard();
        let location = this.location(start, startUrl);
        if (size <= (options.monolithicMax ?? DEFAULT_MONOLITHIC_MAX) && options.chunkSize === undefined) {
          await this.finishUpload(location, digest, blob);
          return;
        }
        const minChunk = Number(start.headers.get('oci-chunk-min-length') ?? '0') || 0;
        const chunk = options.chunkSize === undefined ? undefined : Math.max(options.chunkSize, minChunk);
        if (chunk === undefined) {
          location = await this.patch(location, async () => ({ stream: await blob.open(), length: size }));
        } else {
          for (let offset = 0; offset < size; offset += chunk) {
            const end = Math.min(size, offset + chunk);
            location = await this.patch(
              location,
              async () => ({ stream: await rangeOf(blob, offset, end), length: end - offset }),
              `${offset}-${end - 1}`,
            );
          }
        }
        await this.finishUpload(location, digest);
      },
      this.options.retry ?? DEFAULT_RETRY,
      (err, delay) => this.options.onRetry?.(`upload of ${digest}: ${err.message}`, delay),
    );
  }

  private async patch(location: string, body: () => Promise<{ stream: Readable; length: number }>, range?: string): Promise<string> {
    const res = await this.transport.request('PATCH', location, {
      headers: { 'content-type': 'application/octet-stream', ...(range === undefined ? {} : { 'content-range': range }) },
      body,
      retry: false,
    });
    if (res.status !== 202 && res.status !== 201 && res.status !== 204) await this.retryOrFail('PATCH', location, res);
    await res.discard();
    return this.location(res, location);
  }

  private async finishUpload(location: string, digest: string, blob?: Blob): Promise<void> {
    const url = `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
    const res = await this.transport.request('PUT', url, {
      headers: { 'content-type': 'application/octet-stream', ...(blob === undefined ? { 'content-length': '0' } : {}) },
      ...(blob === undefined ? {} : { body: async () => ({ stream: await blob.open(), length: blob.descriptor.size }) }),
      retry: false,
    });
    if (res.status !== 201 && res.status !== 204) await this.retryOrFail('PUT', url, res);
    await res.discard();
  }

  /** Uploads the OCI empty blob (`{}`, the config of artifact manifests) unless the repository has it. */
  async ensureEmptyBlob(): Promise<void> {
    if (!(await this.hasBlob(EMPTY_DESCRIPTOR.digest as Digest)))
      await this.uploadBlob(memoryBlob({ bytes: EMPTY_JSON_BYTES, descriptor: EMPTY_DESCRIPTOR }));
  }

  /** PUTs a manifest or index under `reference` (its digest or a tag) with its exact media type; returns the `OCI-Subject` header. */
  async putManifest(reference: string, blob: Blob): Promise<string | undefined> {
    const bytes = await blobBytes(blob, MAX_MANIFEST_BYTES);
    const url = this.path(`manifests/${reference}`);
    const res = await this.transport.request('PUT', url, {
      headers: { 'content-type': blob.descriptor.mediaType },
      body: async () => ({ stream: bytes, length: bytes.length }),
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) await this.transport.fail('PUT', url, res);
    await res.discard();
    return res.headers.get('oci-subject') ?? undefined;
  }

  /**
   * The referrers of `subject` from the referrers API: the descriptors when the registry answers
   * it with an index, undefined when it has no such API (404, 400, 406, or not an index; also 403,
   * which a static S3 host answers for a missing key when readers may not list the bucket).
   */
  async referrersFromApi(subject: Digest, artifactType?: string): Promise<Descriptor[] | undefined> {
    const query = artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(artifactType)}`;
    const out: Descriptor[] = [];
    const pages = new Set<string>();
    let bytes = 0;
    // every page (its Link): a push record past the first would leave a tag without a push time
    for (let url: string | undefined = new URL(this.path(`referrers/${subject}${query}`)).href; url !== undefined;) {
      if (pages.has(url) || pages.size === MAX_TAG_PAGES)
        throw new AlbaError(
          'REGISTRY',
          `GET ${redactUrl(url)}: the referrers of ${subject} page in a loop or past ${MAX_TAG_PAGES} pages`,
          {
            hint: 'the registry is broken or hostile',
          },
        );
      pages.add(url);
      const res = await this.transport.request('GET', url, { headers: { accept: MediaType.index } });
      const type = (res.headers.get('content-type') ?? '').split(';')[0]?.trim();
      if (ok(res) && type === MediaType.index) {
        const page = await res.bytes(MAX_MANIFEST_BYTES, `referrers of ${subject}`);
        out.push(...indexEntries(page, `referrers index of ${subject}`));
        bytes += page.length;
        // bounded as a tag list is: pages without end must not take the memory of 1000 pages
        if (out.length > MAX_GRAPH_MANIFESTS || bytes > MAX_TAG_LIST_BYTES)
          throw new AlbaError(
            'TOO_LARGE',
            `GET ${redactUrl(url)}: the referrers of ${subject} are more than ${out.length > MAX_GRAPH_MANIFESTS ? `${MAX_GRAPH_MANIFESTS} manifests` : `${MAX_TAG_LIST_BYTES} bytes`}`,
            { hint: 'a registry listing referrers without end is broken or hostile' },
          );
        url = nextPage(res, url, "the referrers index's Link to its next page,");
        continue;
      }
      if (pages.size === 1 && (ok(res) || res.status === 404 || res.status === 400 || res.status === 406 || res.status === 403)) {
        await res.discard();
        return undefined;
      }
      return this.transport.fail('GET', url, res); // a later page that fails: never a list cut short
    }
    return out;
  }

  /**
   * Descriptors of the manifests whose subject is `subject` (with `artifactType` when given): from
   * the referrers API when the registry has it, else from the referrers tag schema fallback (the
   * index tagged `sha256-<hex>`); [] when neither has any.
   */
  async referrers(subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    const fromApi = await this.referrersFromApi(subject, artifactType);
    const entries = fromApi ?? (await this.referrersTagEntries(subject));
    return entries.filter((d) => artifactType === undefined || d.artifactType === artifactType);
  }

  /** The referrers of `subject` with, when they come from the referrers tag, that tag's index (the API is asked once per client). */
  async storedReferrers(subject: Digest): Promise<StoredReferrers> {
    if (this.referrersApi !== false) {
      const fromApi = await this.referrersFromApi(subject);
      this.referrersApi = fromApi !== undefined;
      if (fromApi !== undefined) return { entries: fromApi };
    }
    const index = await this.manifestIfFound(referrersTag(subject));
    return index === undefined
      ? { entries: [] }
      : {
          entries: indexEntries(index.bytes, `referrers index of ${subject}`),
          tagIndex: { digest: index.digest, size: index.bytes.length },
        };
  }

  /** The entries of the referrers tag `sha256-<hex>` of `subject`; [] when there is none. */
  async referrersTagEntries(subject: Digest): Promise<Descriptor[]> {
    const index = await this.manifestIfFound(referrersTag(subject));
    return index === undefined ? [] : indexEntries(index.bytes, `referrers index of ${subject}`);
  }

  /**
   * `DELETE manifests/<reference>`: 'deleted' (a digest takes every tag on it with it), 'missing'
   * (404), or 'refused' when the registry does not delete by tag (400/405, as distribution 2.8).
   */
  async deleteManifest(reference: string): Promise<'deleted' | 'missing' | 'refused'> {
    const url = this.path(`manifests/${reference}`);
    const res = await this.transport.request('DELETE', url);
    if (
      res.status === 202 ||
      res.status === 200 ||
      res.status === 404 ||
      ((res.status === 400 || res.status === 405) && !isDigest(reference))
    ) {
      await res.discard();
      return res.status === 404 ? 'missing' : res.status === 400 || res.status === 405 ? 'refused' : 'deleted';
    }
    if (res.status === 405) {
      const err = await this.transport.fail('DELETE', url, res).catch((e: unknown) => e as RegistryError);
      throw new AlbaError('REGISTRY', err.message, {
        hint: 'the registry does not allow deletes (distribution: storage.delete.enabled: true in its config)',
        cause: err,
      });
    }
    return this.transport.fail('DELETE', url, res);
  }

  private path(rest: string): string {
    return this.transport.url(`/v2/${this.repository}/${rest}`);
  }

  private absolute(location: string): string {
    return registryUrl(location, this.transport.baseUrl, 'the upload Location');
  }

  private location(res: HttpResponse, previous: string): string {
    const location = res.headers.get('location');
    return location === null ? previous : registryUrl(location, previous, 'the upload Location');
  }

  /** A failed step of an upload session: retryable answers restart the upload, others fail. */
  private async retryOrFail(method: string, url: string, res: HttpResponse): Promise<never> {
    if (retryableStatus(res.status)) {
      const err = await this.transport.fail(method, url, res).catch((e: unknown) => e as RegistryError);
      throw new RetryableAnswer(res.status, parseRetryAfter(res.headers.get('retry-after')), err);
    }
    return this.transport.fail(method, url, res);
  }
}

function ok(res: HttpResponse): boolean {
  return res.status >= 200 && res.status < 300;
}

/** Bytes [start, end) of a blob, read from a fresh stream. */
async function rangeOf(blob: Blob, start: number, end: number): Promise<Readable> {
  const source = await blob.open();
  let position = 0;
  return Readable.from(
    (async function* () {
      for await (const chunk of source) {
        const buf = chunk as Buffer;
        const from = Math.max(start - position, 0);
        const to = Math.min(end - position, buf.length);
        position += buf.length;
        if (to > from) yield buf.subarray(from, to);
        if (position >= end) break;
      }
      source.destroy();
    })(),
  );
}

/** The tags of one `tags/list` page (`tags` may be null or absent); anything else is REGISTRY naming the page. */
function tagListPage(bytes: Buffer, url: string): string[] {
  const invalid = (why: string): AlbaError =>
    new AlbaError('REGISTRY', `GET ${redactUrl(url)}: the tag list ${why}`, {
      hint: 'the registry served a corrupt tag list; it is broken or hostile',
    });
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid('is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('is not a JSON object');
  const tags = (parsed as { tags?: unknown }).tags;
  if (tags === undefined || tags === null) return [];
  if (!Array.isArray(tags)) throw invalid('has a "tags" that is not a list');
  const bad = tags.find((t) => typeof t !== 'string' || !TAG_RE.test(t));
  if (bad !== undefined) throw invalid(`holds ${JSON.stringify(bad).slice(0, 200)}, which is not a tag`);
  return tags as string[];
}

/** The URL of the next page a `Link: <…>; rel="next"` names (checked: an http(s) URL), or undefined. */
function nextPage(res: HttpResponse, url: string, what: string): string | undefined {
  const next = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1];
  return next === undefined ? undefined : registryUrl(next, url, what);
}

/** The sha256 entries of an image index (entries with other digest algorithms are skipped). */
function indexEntries(bytes: Buffer, what: string): Descriptor[] {
  let parsed: { manifests?: unknown };
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as typeof parsed;
  } catch (cause) {
    throw new AlbaError('REGISTRY', `the ${what} is not JSON`, { hint: 'the registry served a corrupt index', cause });
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(parsed.manifests))
    throw new AlbaError('REGISTRY', `the ${what} has no manifests list`, { hint: 'the registry served a corrupt index' });
  return (parsed.manifests as unknown[]).filter((d): d is Descriptor => isDescriptor(d) && isDigest(d.digest));
}

function jsonMediaType(bytes: Buffer): string | undefined {
  try {
    const type = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}
