/**
 * The few S3 operations alba needs, over `@aws-sdk/client-s3` (credentials from the standard AWS
 * chain) and `@aws-sdk/lib-storage` (multipart for large bodies), with every failure turned into
 * `error[S3]` naming the endpoint, bucket, key and the server's code, with a hint.
 */
import type { ListMultipartUploadsCommandOutput, ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  Upload,
} from '../../vendor/aws-s3.js';
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { AlbaError } from '../../errors.js';
import { environmentAgent, proxyConfigured } from '../../http/proxy.js';
import { HTTP_DEFAULTS, idleMsFromEnvironment, rateWatch, type HttpLimits } from '../../http/limits.js';
import { DEFAULT_RETRY, withRetry } from '../../http/retry.js';
import { mapLimit } from '../../util/map-limit.js';
import { through } from '../../util/through.js';
import type { S3Target } from './s3-target.js';

/** What HEAD says of an object. */
export interface ObjectInfo {
  size: number;
  etag?: string;
  contentType?: string;
  lastModified?: Date;
  /** User metadata (`x-amz-meta-*`), by lowercase name. */
  metadata?: Record<string, string>;
}

/** A small object read whole, with its ETag. */
export interface ObjectBytes {
  bytes: Buffer;
  etag?: string;
}

/** How an object is written. */
export interface PutOptions {
  contentType: string;
  cacheControl: string;
  /** Write only if the object still has this ETag (`If-Match`); `*`-less creation with `ifNoneMatch`. */
  ifMatch?: string;
  ifNoneMatch?: '*';
  /** User metadata (`x-amz-meta-*`). */
  metadata?: Record<string, string>;
}

/**
 * The ETag S3 gives an object written with `bytes` in one PUT (their MD5, quoted): comparing it with
 * a HEAD's tells whether the object already holds them without reading it (under SSE-KMS or SSE-C
 * the ETag is no MD5: it never matches, and the caller reads or writes as when it differs).
 */
export function singlePartEtag(bytes: Buffer): string {
  return `"${createHash('md5').update(bytes).digest('hex')}"`;
}

/** True for a strong ETag: a weak one (`W/"…"`) may stay the same while the bytes change. */
export function isStrongEtag(etag: string): boolean {
  return !etag.startsWith('W/');
}

/** Cache-Control of content-addressed objects. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Cache-Control of tags and the documents that list them. */
export const MUTABLE = 'public, max-age=60';

/** Bodies above this go up in multipart (parts of 8 MiB, 4 at a time). */
const MULTIPART_ABOVE = 16 * 1024 * 1024;
const PART_SIZE = 8 * 1024 * 1024;

/** Pages of one listing read at most (1000 keys each from S3 and RGW): a server that pages on and on is TOO_LARGE, never an endless loop. */
export const MAX_LIST_PAGES = 1000;

/** Which conditional writes a server was seen to enforce (ConditionProbe). */
export interface ConditionalWrites {
  /** `If-None-Match: *` refused on an object that exists. */
  ifNoneMatch: boolean;
  /** `If-Match` refused for an ETag the object does not have (honoured, or refused always, as Ceph RGW 16 does). */
  ifMatch: boolean;
}

/** The largest object written() keeps (documents, tags, manifests: a few kB each). */
const REMEMBERED_BYTES = 64 * 1024;
/** The most bytes written() keeps in all (a push writes a few dozen small objects). */
const REMEMBERED_TOTAL = 1024 * 1024;

/** How many times a conditional PUT answered 409 (another conditional write of the key under way) is sent again. */
const CONFLICT_RETRIES = 5;

/** An ETag no object written by a PUT has (a single-part ETag is an MD5 of its bytes, a multipart one ends in `-N`). */
const NO_SUCH_ETAG = '"00000000000000000000000000000000"';

/**
 * An object whose bytes and headers are known and whose content is its name (a manifest by
 * digest this push stored): written again with them, it is unchanged. A server that ignores a
 * condition writes it again; one that enforces it refuses with 412 and writes nothing.
 */
export interface ConditionProbe {
  key: string;
  bytes: Buffer;
  contentType: string;
  cacheControl: string;
}

/**
 * One bucket of one S3 server. Every answer has the limits of alba's other HTTP: a connection, or a
 * socket silent for the idle timeout (30 s, ALBA_HTTP_IDLE_TIMEOUT) is given up (and tried again by
 * the retry policy); a GET body slower than the minimum rate is given up.
 */
export class S3Store {
  private readonly client: S3Client;
  private readonly limits: HttpLimits;
  private probe: ConditionProbe | undefined;
  private conditions: Promise<ConditionalWrites> | undefined;
  /** Small objects this store wrote in one PUT, as they were written (written()), and their bytes in all. */
  private readonly wrote = new Map<string, ObjectBytes>();
  private wroteBytes = 0;

  constructor(
    readonly target: S3Target,
    limits: HttpLimits = {},
  ) {
    const idleMs = limits.idleMs ?? idleMsFromEnvironment() ?? HTTP_DEFAULTS.idleMs;
    this.limits = { ...limits, idleMs };
    // alba pins its SDK release, which supports Node 20: its notice about later releases is noise here.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client({
      logger: SILENT,
      region: target.region,
      forcePathStyle: target.forcePathStyle,
      ...(target.endpoint === undefined ? {} : { endpoint: target.endpoint }),
      // Stream bodies are stored corrupted (s3rver) or refused (RGW) with the SDK's default checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // retries are alba's (http/retry.ts), so that a stream body is made afresh for each try
      maxAttempts: 1,
      requestHandler: {
        connectionTimeout: idleMs,
        socketTimeout: idleMs,
        // HTTPS_PROXY/HTTP_PROXY/NO_PROXY, as for every request of alba (http/proxy.ts)
        ...(proxyConfigured() ? { httpAgent: environmentAgent(false), httpsAgent: environmentAgent(true) } : {}),
      },
    });
    // every answer the SDK reads whole (listings, errors, …: all but an object's body, which get() caps) has a cap
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName !== 'GetObjectCommand') capAnswer(out.response as { body?: unknown }, this.target.endpoint ?? 'S3');
        return out;
      },
      { step: 'deserialize', priority: 'low', name: 'albaAnswerCap' },
    );
  }

  /** HEAD of the bucket: fails early (NoSuchBucket, AccessDenied, SignatureDoesNotMatch, an unreachable endpoint) before anything is sent. */
  async checkBucket(): Promise<void> {
    try {
      await this.call(() => this.client.send(new HeadBucketCommand({ Bucket: this.target.bucket })));
    } catch (err) {
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404 && err.name !== 'NoSuchBucket')
        Object.defineProperty(err, 'name', { value: 'NoSuchBucket' });
      // HEAD has no body, so a 403 loses the server's code (SignatureDoesNotMatch, AccessDenied…): a GET tells it
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 403) {
        const told = await this.get('.alba-probe', 1).then(
          () => undefined,
          (probe: unknown) => (probe instanceof AlbaError ? probe.cause : undefined),
        );
        throw this.error('HEAD', '', told ?? err);
      }
      throw this.error('HEAD', '', err);
    }
  }

  /** HEAD: the object's size and ETag, or undefined when there is none. */
  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const res = await this.call(() => this.client.send(new HeadObjectCommand({ Bucket: this.target.bucket, Key: key })));
      return {
        size: res.ContentLength ?? 0,
        ...(res.ETag === undefined ? {} : { etag: res.ETag }),
        ...(res.ContentType === undefined ? {} : { contentType: res.ContentType }),
        ...(res.LastModified === undefined ? {} : { lastModified: res.LastModified }),
        ...(res.Metadata === undefined ? {} : { metadata: res.Metadata }),
      };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.error('HEAD', key, err);
    }
  }

  /**
   * GET of a small object, refused above `max` bytes; undefined when there is none. With `known`
   * (what an earlier read gave) of a strong ETag, the GET is conditional (`If-None-Match`): an
   * object still of that ETag answers 304 without a body and `known` is returned (a small body
   * costs Ceph RGW ~40 ms more than none: docs/architecture.md). A 304 naming another ETag is not
   * believed: the object is read again without the condition.
   */
  async get(key: string, max: number, known?: ObjectBytes): Promise<ObjectBytes | undefined> {
    const unless = known?.etag !== undefined && isStrongEtag(known.etag) ? known.etag : undefined;
    const got = await this.getBody(key, max, unless);
    if (got === 'unchanged') return known;
    if (got === 'not believed') return this.get(key, max);
    if (got === undefined) return undefined;
    // a body without a length (chunked) is counted as it comes
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of got.body) {
      size += (chunk as Buffer).length;
      if (size > max) {
        got.body.destroy();
        throw this.tooLarge(key, `sent more than the ${max} bytes alba reads (its answer gave no length)`);
      }
      chunks.push(chunk as Buffer);
    }
    return { bytes: Buffer.concat(chunks), ...(got.etag === undefined ? {} : { etag: got.etag }) };
  }

  /**
   * GET of an object as a stream (its body, unread), refused (TOO_LARGE, the body dropped) when it
   * declares more than `max` bytes; undefined when there is none. The caller checks what it reads.
   */
  async open(key: string, max: number): Promise<Readable | undefined> {
    const got = await this.getBody(key, max);
    return typeof got === 'string' ? undefined : got?.body;
  }

  /**
   * The GET of open() and get(): the body, whose failures are named as ones of the GET, and the
   * ETag; 'unchanged' when the object still has ETag `unless` (a 304 that names no other ETag).
   */
  private async getBody(
    key: string,
    max: number,
    unless?: string,
  ): Promise<{ body: Readable; etag?: string } | 'unchanged' | 'not believed' | undefined> {
    try {
      const res = await this.call(() =>
        this.client.send(
          new GetObjectCommand({ Bucket: this.target.bucket, Key: key, ...(unless === undefined ? {} : { IfNoneMatch: unless }) }),
        ),
      );
      const body = (res.Body as Readable | undefined) ?? Readable.from([]);
      if ((res.ContentLength ?? 0) > max) {
        body.destroy();
        throw this.tooLarge(key, `has ${res.ContentLength} bytes, more than the ${max} alba reads`);
      }
      // the body as it comes, watched for its rate; its failures named as ones of the GET
      const rate = rateWatch(this.limits, (why) =>
        named.destroy(
          new AlbaError('NETWORK', `GET ${this.where(key)}: ${why}`, {
            hint: 'the S3 server (or the network to it) is too slow or stalled; retry later',
          }),
        ),
      );
      const named = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          rate.add(chunk.length);
          done(null, chunk);
        },
      });
      named.on('close', () => rate.stop());
      named.on('end', () => rate.stop());
      return { body: through(body, named, (err) => this.error('GET', key, err)), ...(res.ETag === undefined ? {} : { etag: res.ETag }) };
    } catch (err) {
      if (err instanceof AlbaError) throw err;
      if (isMissing(err)) return undefined;
      if (unless !== undefined && err instanceof S3ServiceException && err.$metadata.httpStatusCode === 304) {
        const named = (err as { $response?: { headers?: Record<string, string | undefined> } }).$response?.headers?.['etag'];
        return named === undefined || named === unless ? 'unchanged' : 'not believed';
      }
      throw this.error('GET', key, err);
    }
  }

  private tooLarge(key: string, what: string): AlbaError {
    return new AlbaError('TOO_LARGE', `${this.where(key)} ${what}`, { hint: 'this object is not one alba wrote; check the prefix' });
  }

  /**
   * PUT of a body (a Buffer, or a stream of `size` bytes made afresh by `open`); multipart above
   * 16 MiB; a failure the server or the network may not repeat is tried again by the one retry
   * policy, from a fresh stream. Returns false when a condition (If-Match / If-None-Match) did not hold.
   */
  async put(key: string, body: Buffer | { open: () => Promise<Readable>; size: number }, options: PutOptions): Promise<boolean> {
    this.forget(key);
    for (let conflicts = 0; ; conflicts++) {
      try {
        await this.call(() => this.putOnce(key, body, options));
        if (Buffer.isBuffer(body) && body.length <= REMEMBERED_BYTES && this.wroteBytes + body.length <= REMEMBERED_TOTAL) {
          this.forget(key); // a concurrent put of the same key may have landed meanwhile
          this.wrote.set(key, { bytes: body, etag: singlePartEtag(body) });
          this.wroteBytes += body.length;
        }
        return true;
      } catch (err) {
        if (!(err instanceof S3ServiceException)) throw this.error('PUT', key, err);
        // 409: another conditional write of the key is under way (AWS S3): asked again once it has
        // ended, the condition is then decided against its result — never taken for a refusal
        // while the object still has the ETag read, which is how a server that refuses every
        // If-Match shows itself (json-document.ts)
        if (err.name === 'ConditionalRequestConflict' || err.$metadata.httpStatusCode === 409) {
          if (conflicts < CONFLICT_RETRIES) {
            await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
            continue;
          }
          return false;
        }
        if (err.$metadata.httpStatusCode === 412 || err.name === 'PreconditionFailed') return false;
        throw this.error('PUT', key, err);
      }
    }
  }

  /**
   * The object at `key` as this store last wrote it (small ones only, with the ETag a single-part
   * PUT gets), for a later read to ask "unless unchanged" (get's `known`): the server answers 304
   * while it holds those bytes, the object as it is when another writer changed it since.
   */
  written(key: string): ObjectBytes | undefined {
    return this.wrote.get(key);
  }

  private forget(key: string): void {
    this.wroteBytes -= this.wrote.get(key)?.bytes.length ?? 0;
    this.wrote.delete(key);
  }

  /** Offers `probe` for conditionalWrites() (the first offer is kept). */
  offerConditionProbe(probe: ConditionProbe): void {
    this.probe ??= probe;
  }

  /**
   * Which conditions this server enforces, asked once with the object offered (two conditional
   * PUTs of its own bytes, at once, that must be refused: `If-None-Match: *` and an `If-Match` of
   * an ETag it does not have); none is known without an offer. A write, an error or any other
   * answer proves nothing.
   */
  conditionalWrites(): Promise<ConditionalWrites> {
    const probe = this.probe;
    if (probe === undefined) return Promise.resolve({ ifNoneMatch: false, ifMatch: false });
    const refused = (condition: { ifNoneMatch: '*' } | { ifMatch: string }): Promise<boolean> =>
      this.put(probe.key, probe.bytes, { contentType: probe.contentType, cacheControl: probe.cacheControl, ...condition }).then(
        (written) => !written,
        () => false,
      );
    return (this.conditions ??= Promise.all([refused({ ifNoneMatch: '*' }), refused({ ifMatch: NO_SUCH_ETAG })]).then(
      ([ifNoneMatch, ifMatch]) => ({ ifNoneMatch, ifMatch }),
    ));
  }

  /** Every object whose key starts with `prefix`, with size and Last-Modified (ListObjectsV2, all pages; keys a server lists outside `prefix` passed over). */
  async list(prefix: string): Promise<{ key: string; size: number; lastModified: Date }[]> {
    const out: { key: string; size: number; lastModified: Date }[] = [];
    const keys = new Set<string>();
    for await (const page of this.listPages(prefix))
      for (const o of page.Contents ?? [])
        // a key outside the prefix is no answer to this listing: a sweep of the prefix never takes it
        if (o.Key !== undefined && o.Key.startsWith(prefix) && !keys.has(o.Key)) {
          keys.add(o.Key); // a key a server lists twice is one object
          out.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
        }
    return out;
  }

  /** One level under `prefix` (ListObjectsV2 with Delimiter `/`, all pages): the objects there and the sub-folders (each ending in `/`). */
  async listFolder(prefix: string): Promise<{ objects: { key: string; size: number; lastModified: Date }[]; folders: string[] }> {
    const objects: { key: string; size: number; lastModified: Date }[] = [];
    const folders = new Set<string>();
    const keys = new Set<string>();
    for await (const page of this.listPages(prefix, '/')) {
      for (const o of page.Contents ?? [])
        if (o.Key !== undefined && o.Key.startsWith(prefix) && !keys.has(o.Key)) {
          keys.add(o.Key); // a key a server lists twice is one object
          objects.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
        }
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix !== undefined && p.Prefix.startsWith(prefix)) folders.add(p.Prefix);
    }
    return { objects, folders: [...folders] };
  }

  /**
   * The pages of a ListObjectsV2 under `prefix`: at most MAX_LIST_PAGES (TOO_LARGE past them), each
   * continuation token a new one (a server handing one out again pages in a loop: S3).
   */
  private async *listPages(prefix: string, delimiter?: '/'): AsyncGenerator<ListObjectsV2CommandOutput> {
    const seen = new Set<string>();
    let token: string | undefined;
    let keys = 0;
    for (let pages = 0; ; pages++) {
      if (pages === MAX_LIST_PAGES)
        throw new AlbaError('TOO_LARGE', `LIST ${this.where(prefix)}: more than ${MAX_LIST_PAGES} pages`, {
          hint: 'alba lists at most a million keys under one prefix; the server is broken or hostile, or the prefix holds more than alba wrote',
        });
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.call(() =>
          this.client.send(
            new ListObjectsV2Command({
              Bucket: this.target.bucket,
              Prefix: prefix,
              ...(delimiter === undefined ? {} : { Delimiter: delimiter }),
              ...(token === undefined ? {} : { ContinuationToken: token }),
            }),
          ),
        );
      } catch (err) {
        throw this.error('LIST', prefix, err);
      }
      keys += (page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0);
      if (keys > MAX_LIST_PAGES * 1000)
        throw new AlbaError('TOO_LARGE', `LIST ${this.where(prefix)}: more than ${MAX_LIST_PAGES * 1000} keys`, {
          hint: 'alba lists at most a million keys under one prefix; the server is broken or hostile, or the prefix holds more than alba wrote',
        });
      yield page;
      if (page.IsTruncated !== true) return;
      token = page.NextContinuationToken;
      // never a listing cut short: a removal deciding from part of the keys misses roots
      if (token === undefined || token === '')
        throw new AlbaError('S3', `LIST ${this.where(prefix)}: a page says more keys follow and names no next page`, {
          hint: 'the S3 server pages its listing without a continuation token; it is broken or hostile',
        });
      if (seen.has(token))
        throw new AlbaError('S3', `LIST ${this.where(prefix)}: the listing's next page is one already read`, {
          hint: 'the S3 server pages its listing in a loop; it is broken or hostile',
        });
      seen.add(token);
    }
  }

  /**
   * The multipart uploads in progress under `prefix` (key, upload id, when it began), all pages:
   * bounded as listPages is (MAX_LIST_PAGES pages and a thousand entries each, each page's markers
   * new ones).
   */
  async listUploads(prefix: string): Promise<{ key: string; uploadId: string; initiated: Date }[]> {
    const out: { key: string; uploadId: string; initiated: Date }[] = [];
    const seen = new Set<string>();
    let marker: { KeyMarker?: string; UploadIdMarker?: string } = {};
    for (let pages = 0; ; pages++) {
      if (pages === MAX_LIST_PAGES || out.length > MAX_LIST_PAGES * 1000)
        throw new AlbaError(
          'TOO_LARGE',
          `LIST-UPLOADS ${this.where(prefix)}: more than ${MAX_LIST_PAGES} pages or ${MAX_LIST_PAGES * 1000} uploads`,
          {
            hint: 'the server is broken or hostile, or uploads were begun under this prefix by the million; abort them with the S3 console or CLI',
          },
        );
      let res: ListMultipartUploadsCommandOutput;
      try {
        res = await this.call(() =>
          this.client.send(new ListMultipartUploadsCommand({ Bucket: this.target.bucket, Prefix: prefix, ...marker })),
        );
      } catch (err) {
        throw this.error('LIST-UPLOADS', prefix, err);
      }
      for (const u of res.Uploads ?? [])
        if (u.Key !== undefined && u.UploadId !== undefined)
          out.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated ?? new Date(0) });
      if (res.IsTruncated !== true || res.NextKeyMarker === undefined) return out;
      marker = {
        KeyMarker: res.NextKeyMarker,
        ...(res.NextUploadIdMarker === undefined ? {} : { UploadIdMarker: res.NextUploadIdMarker }),
      };
      const next = JSON.stringify(marker);
      if (seen.has(next))
        throw new AlbaError('S3', `LIST-UPLOADS ${this.where(prefix)}: the listing's next page is one already read`, {
          hint: 'the S3 server pages its listing in a loop; it is broken or hostile',
        });
      seen.add(next);
    }
  }

  /** Aborts a multipart upload (one already gone is not an error). */
  async abortUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.call(() =>
        this.client.send(new AbortMultipartUploadCommand({ Bucket: this.target.bucket, Key: key, UploadId: uploadId })),
      );
    } catch (err) {
      if (isMissing(err) || (err instanceof S3ServiceException && err.name === 'NoSuchUpload')) return;
      throw this.error('ABORT-UPLOAD', key, err);
    }
  }

  /** Deletes one object (a missing one is not an error). */
  async remove(key: string): Promise<void> {
    this.forget(key);
    try {
      await this.call(() => this.client.send(new DeleteObjectCommand({ Bucket: this.target.bucket, Key: key })));
    } catch (err) {
      if (isMissing(err)) return;
      throw this.error('DELETE', key, err);
    }
  }

  /**
   * Deletes `keys` (missing ones are not an error) in requests of up to 1000 keys (one
   * `DeleteObjects` each; a server without it, one `DELETE` per key, 8 at a time), calling
   * `before` right before each request, every try included: it throws to stop the deletes (a
   * removal's fence, lifecycle/lease.ts).
   */
  async removeAll(keys: readonly string[], before: () => void = () => undefined): Promise<void> {
    for (const key of keys) this.forget(key);
    for (let at = 0; at < keys.length; at += 1000) {
      const batch = keys.slice(at, at + 1000);
      let res;
      try {
        res = await this.call(() => {
          before();
          const objects = batch.map((Key) => ({ Key }));
          return this.client.send(new DeleteObjectsCommand({ Bucket: this.target.bucket, Delete: { Objects: objects, Quiet: true } }));
        });
      } catch (err) {
        const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
        if (status !== 501 && status !== 405 && !(err instanceof S3ServiceException && err.name === 'NotImplemented'))
          throw err instanceof AlbaError ? err : this.error('DELETE', batch[0] ?? '', err);
        await mapLimit(batch, 8, (key) => (before(), this.remove(key)));
        continue;
      }
      const failed = (res.Errors ?? []).find((e) => e.Code !== 'NoSuchKey');
      if (failed !== undefined)
        throw this.error('DELETE', failed.Key ?? '', Object.assign(new Error(failed.Message ?? ''), { name: failed.Code ?? 'Error' }));
    }
  }

  /** Runs one SDK call, again after a pause while it fails in a way that may pass (the one retry policy). */
  private call<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, DEFAULT_RETRY, undefined, transient);
  }

  private async putOnce(key: string, body: Buffer | { open: () => Promise<Readable>; size: number }, options: PutOptions): Promise<void> {
    const common = {
      Bucket: this.target.bucket,
      Key: key,
      ContentType: options.contentType,
      CacheControl: options.cacheControl,
      ...(options.metadata === undefined ? {} : { Metadata: options.metadata }),
    };
    const data = Buffer.isBuffer(body) ? body : await body.open();
    // a body that fails (a local blob that is not its digest or size: VerifyingStream) ends the
    // request with its own error; the SDK pipes it, so the PUT waited for the missing bytes for ever
    const abort = new AbortController();
    let failed: unknown;
    if (!Buffer.isBuffer(data))
      data.once('error', (err) => {
        failed = err;
        abort.abort();
      });
    try {
      if (Buffer.isBuffer(body) || body.size <= MULTIPART_ABOVE) {
        await this.client.send(
          new PutObjectCommand({
            ...common,
            Body: data,
            ContentLength: Buffer.isBuffer(body) ? body.length : body.size,
            ...(options.ifMatch === undefined ? {} : { IfMatch: options.ifMatch }),
            ...(options.ifNoneMatch === undefined ? {} : { IfNoneMatch: options.ifNoneMatch }),
          }),
          { abortSignal: abort.signal },
        );
      } else {
        await new Upload({
          client: this.client,
          params: { ...common, Body: data },
          partSize: PART_SIZE,
          queueSize: 4,
          leavePartsOnError: false,
          abortController: abort,
        }).done();
      }
    } catch (err) {
      throw failed ?? err;
    }
  }

  /** `s3://bucket/key at endpoint`, for messages. */
  where(key: string): string {
    return `s3://${this.target.bucket}${key === '' ? '' : `/${key}`}${this.target.endpoint === undefined ? '' : ` at ${this.target.endpoint}`}`;
  }

  private error(method: string, key: string, err: unknown): AlbaError {
    if (err instanceof AlbaError) return err; // alba's own (TOO_LARGE of an answer): already says what
    const code = err instanceof S3ServiceException ? err.name : ((err as NodeJS.ErrnoException).code ?? (err as Error).name ?? 'Error');
    const status = err instanceof S3ServiceException ? ` (HTTP ${err.$metadata.httpStatusCode ?? '?'})` : '';
    const text = (err as Error).message;
    const message = text === code || text === 'UnknownError' || text === '' ? '' : `: ${text}`;
    return new AlbaError('S3', `${method} ${this.where(key)}: ${code}${status}${message}`, { hint: hintFor(code), cause: err });
  }
}

/** The most an answer the SDK reads whole may bring (a page of 1000 keys is ~0.5 MB). */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** Replaces an answer's body by one that fails with TOO_LARGE past MAX_ANSWER_BYTES. */
function capAnswer(response: { body?: unknown }, where: string): void {
  const body = response.body;
  if (!(body instanceof Readable)) return;
  let size = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size <= MAX_ANSWER_BYTES) return done(null, chunk);
      body.destroy();
      done(
        new AlbaError('TOO_LARGE', `an answer of ${where} is larger than ${MAX_ANSWER_BYTES} bytes`, {
          hint: 'an S3 listing page is well under a megabyte; the server is broken or hostile',
        }),
      );
    },
  });
  body.on('error', (err) => counted.destroy(err));
  response.body = body.pipe(counted);
}

const SILENT = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** A failure worth another try: throttling, a 5xx but 501 (not implemented: never passes), a lost connection. */
function transient(err: unknown): boolean {
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode ?? 0;
    return status === 429 || (status >= 500 && status !== 501) || err.name === 'SlowDown' || err.name === 'RequestTimeout';
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return (
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'ETIMEDOUT' ||
    code === 'ECONNREFUSED' ||
    (err as Error | undefined)?.name === 'TimeoutError'
  );
}

function isMissing(err: unknown): boolean {
  return err instanceof S3ServiceException && (err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404);
}

function hintFor(code: string): string {
  switch (code) {
    case 'SignatureDoesNotMatch':
      return 'the secret key is wrong for this access key: check AWS_SECRET_ACCESS_KEY (or the profile in ~/.aws/credentials)';
    case 'InvalidAccessKeyId':
      return 'the server does not know this access key: check AWS_ACCESS_KEY_ID (or AWS_PROFILE)';
    case 'NoSuchBucket':
      return 'the bucket does not exist at this endpoint: create it, or check the bucket name and endpoint= in the URL';
    case 'AccessDenied':
    case 'Forbidden':
      return 'these credentials may not do this: the key needs s3:GetObject, s3:PutObject (and s3:ListBucket) on the bucket';
    case 'CredentialsProviderError':
      return 'no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE';
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'ETIMEDOUT':
    case 'TimeoutError':
      return 'the endpoint cannot be reached: check endpoint= in the URL (http:// for a local server) and that the server runs';
    default:
      return 'check the bucket, the endpoint and the credentials';
  }
}
