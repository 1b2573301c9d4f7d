/**
 * A remote layer cache shared by a fleet of runners (`--remote-cache s3://…`, ALBA_REMOTE_CACHE).
 *
 * It holds what a build derives from .debs: per package layer (or group), keyed as the local cache
 * keys it (layer-cache.ts layerRecordName: the .debs' sha256, the layer format, SOURCE_DATE_EPOCH,
 * the CA-bundle option), the layer record — blob digest, diff_id, size, and each package's control
 * stanza, copyright, file count, captured CA files and postinst facts — and the layer blob. A build
 * from a lock copies the entries it needs into the local cache before downloading, and downloads
 * only the .debs of layers the remote cache does not have; with a complete cache, none.
 *
 * Backends (RemoteCacheBackend): an S3 prefix (s3Backend, below) or an OCI repository
 * (remote-cache-registry.ts); they move bytes, every check is here.
 *
 * Trust: a record names its key and is checked against the locked packages (name, version,
 * architecture of each control stanza); its blob is written to the local store only when its bytes
 * hash to the record's digest and size, and its uncompressed bytes to the record's diff_id. An entry
 * failing any check is refused with a warning and the layer is built from the .deb; the entry is
 * then overwritten with the good one. Writes go after the local build (blob first, then record,
 * so a record is never visible before its blob) and never fail the build: a cache that is down or
 * read-only costs a warning. Two runners writing the same entry write the same bytes.
 *
 * Lazily (`alba build --push` without --out): a layer the disk lacks is taken by its checked record
 * alone; the graph carries it by digest and size (lazyBlob) and its bytes are fetched, and checked
 * as above, only when a sink opens it, so a push to a destination that holds (or mounts) the layer
 * reads none of it. Its diff_id is then the record's word, unchecked: the pairing the writer of the
 * cache computed, as every record's package facts are.
 */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { AlbaError } from '../errors.js';
import type { DebsLayer } from '../layer/deb-layer.js';
import type { TargetArch } from '../debian/arch.js';
import type { LockedPackage } from '../lock/lock-types.js';
import type { BlobStore } from '../oci/blob-store.js';
import { fileBlob, type Blob } from '../oci/graph.js';
import type { Descriptor } from '../oci/types.js';
import type { LayerBlob } from '../layer/layer-writer.js';
import { digestHex, type Digest } from '../oci/digest.js';
import { mapLimit } from '../util/map-limit.js';
import { Slots } from '../util/slots.js';
import { writeFileAtomic } from '../util/atomic.js';
import { through } from '../util/through.js';
import { planArchLayers, type ArchLayerPlan } from './package-layers.js';
import { layerRecord, layerRecordJson, layerRecordName, layerRecordPath, readLayerRecord } from './layer-cache.js';

/** `--remote-cache-mode`. */
export type RemoteCacheMode = 'read' | 'readwrite';

/** Where the S3 backend keeps the entries, under the URL's prefix. */
const ROOT = '.alba-remote-cache/v1';
/** A record holds a few control stanzas and the CA files of ca-certificates: far below this. */
export const MAX_RECORD = 8 * 1024 * 1024;
/** Layers larger than this are not read from the remote cache (a record naming one is refused: no package layer is that large). */
const MAX_BLOB = 1024 * 1024 * 1024;
/** Records read at once (small: latency-bound). */
const RECORD_READS = 32;
/** Layer blobs streamed into the local store at once (each gunzipped on the side, in zlib's thread pool). */
const BLOB_READS = 6;
/** Gunzip output chunks: larger than zlib's 16 KiB default, a third less CPU for the thread pool round trips and the hashing calls. */
const GUNZIP_CHUNK = 128 * 1024;
/**
 * What a layer blob may unpack to: 200 times its size (package layers unpack to 2-5 times theirs),
 * at least 256 MiB, at most 8 GiB. More is a gzip bomb (1 GiB of gzip can unpack to 1 TB: hours of
 * hashing), refused; a real layer past it is only rebuilt from its .debs.
 */
export function unpackCap(size: number): number {
  return Math.min(8 * 1024 ** 3, Math.max(256 * 1024 ** 2, 200 * size));
}

/**
 * Where a remote cache keeps its entries (an S3 prefix: s3Backend below; an OCI repository:
 * remote-cache-registry.ts). `name` is an entry's key (a local record name); the record is the
 * JSON `{key, record}` the core checks. A backend only moves bytes: every check is the core's.
 */
export interface RemoteCacheBackend {
  /** Where an entry's record is, for messages (no credentials). */
  whereRecord(name: string): string;
  /** Where a layer blob is, for messages. */
  whereBlob(digest: Digest): string;
  /** The record's bytes (at most `max`, else RefusedEntry), undefined when there is none; any other error: the cache is down. */
  readRecord(name: string, max: number): Promise<Buffer | undefined>;
  /** The layer blob's bytes as a stream (the body of one GET; refused unread when it declares more than `size` bytes), undefined when missing. */
  readBlob(digest: Digest, size: number): Promise<Readable | undefined>;
  /** True when the entry's record is there. */
  hasRecord(name: string): Promise<boolean>;
  /** Writes an entry: the layer blob unless held (or `replaceBlob`: it was found corrupt), then the record, so a record is never visible before its blob. */
  writeEntry(name: string, record: Buffer, layer: LayerBlob & { path: string }, replaceBlob: boolean): Promise<void>;
  /** For a registry cache: where its blobs can be mounted from (same registry only). */
  readonly mountSource?: { registry: string; repository: string };
}

/** A backend's word that an entry is there but cannot be one (garbage, too large): refused, never "down". */
export class RefusedEntry extends Error {}

/** The few operations the S3 backend needs of a store (S3Store has them). */
export interface RemoteStore {
  get(key: string, max: number): Promise<{ bytes: Buffer } | undefined>;
  open(key: string, max: number): Promise<Readable | undefined>;
  head(key: string): Promise<{ size: number } | undefined>;
  put(
    key: string,
    body: Buffer | { open: () => Promise<Readable>; size: number },
    options: { contentType: string; cacheControl: string },
  ): Promise<boolean>;
  where(key: string): string;
}

/**
 * The S3 backend: under the URL's prefix, in a folder no registry repository can be named (`.`),
 * which gc never lists: `.alba-remote-cache/v1/records/<record name>` and `.alba-remote-cache/v1/blobs/sha256/<hex>`.
 */
export function s3Backend(remote: RemoteStore, prefix: string): RemoteCacheBackend {
  const key = (path: string): string => (prefix === '' ? `${ROOT}/${path}` : `${prefix}/${ROOT}/${path}`);
  const recordKey = (name: string): string => key(`records/${name}`);
  const blobKey = (digest: Digest): string => key(`blobs/sha256/${digestHex(digest)}`);
  const tooLarge = (err: unknown): never => {
    if (err instanceof AlbaError && err.code === 'TOO_LARGE') throw new RefusedEntry('too large');
    throw err;
  };
  return {
    whereRecord: (name) => remote.where(recordKey(name)),
    whereBlob: (digest) => remote.where(blobKey(digest)),
    readRecord: async (name, max) => (await remote.get(recordKey(name), max).catch(tooLarge))?.bytes,
    readBlob: (digest, size) => remote.open(blobKey(digest), size).catch(tooLarge),
    hasRecord: async (name) => (await remote.head(recordKey(name))) !== undefined,
    async writeEntry(name, record, layer, replaceBlob) {
      if (replaceBlob || (await remote.head(blobKey(layer.digest)))?.size !== layer.size) {
        await remote.put(
          blobKey(layer.digest),
          { open: async () => createReadStream(layer.path), size: layer.size },
          { contentType: 'application/octet-stream', cacheControl: 'no-cache' },
        );
      }
      await remote.put(recordKey(name), record, { contentType: 'application/json', cacheControl: 'no-cache' });
    },
  };
}

/** One layer a build needs: its packages in layer order, with the options that decide its bytes. */
export interface LayerWant {
  packages: readonly LockedPackage[];
  sourceDateEpoch: number;
  caCertificates: 'bundle' | 'package';
}

/** What the remote cache did for a build. */
export interface RemoteCacheReport {
  hits: number;
  misses: number;
  refused: number;
  written: number;
  warnings: number;
  /** Layers taken by their record alone, their bytes fetched only if a sink asks for them. */
  lazy: number;
  /** Layer blob bytes read from the remote cache. */
  blobBytes: number;
}

/** How the remote cache serves a build. */
export interface RemoteCacheOptions {
  mode: RemoteCacheMode;
  log: (line: string) => void;
  /**
   * Take a layer the local disk lacks by its verified record alone: the graph carries it by digest
   * and size, and its bytes are fetched (and verified) only when a sink opens it — a push to a
   * destination that already holds it, or mounts it, reads none (`alba build --push` without --out).
   */
  lazy?: boolean;
}

/** The remote cache of one build. */
export class RemoteLayerCache {
  readonly report: RemoteCacheReport = { hits: 0, misses: 0, refused: 0, written: 0, warnings: 0, lazy: 0, blobBytes: 0 };
  readonly mode: RemoteCacheMode;
  private readonly log: (line: string) => void;
  private readonly lazyAllowed: boolean;
  /** Records already in the remote cache, verified: not written again. */
  private readonly present = new Set<string>();
  /** Records refused by fill(): written again with the local build's. */
  private readonly refused = new Set<string>();
  /** Blobs refused by fill() (their bytes do not hash to their name): uploaded again. */
  private readonly badBlobs = new Set<string>();
  /** Layer blobs this process streamed into the local store and checked (digest, size, diff_id): not hashed again. */
  private readonly checked = new Set<string>();
  /** Bounds the blob reads of fill(), the largest first. */
  private readonly blobReads = new Slots(BLOB_READS);
  /** Layers taken lazily: their record, and the fetch once started. */
  private readonly lazyLayers = new Map<string, { layer: LayerBlob; name: string; fetched?: Promise<void> }>();
  /** The remote could not be read at all: no more reads are tried. */
  private down = false;

  constructor(
    readonly backend: RemoteCacheBackend,
    options: RemoteCacheOptions,
  ) {
    this.mode = options.mode;
    this.log = options.log;
    this.lazyAllowed = options.lazy === true;
  }

  /**
   * Copies into the local cache (store and layer records) each wanted layer the remote cache holds
   * and the local one does not (lazily: only its record); returns the record names the local cache now holds.
   */
  async fill(store: BlobStore, cacheDir: string, wants: readonly LayerWant[]): Promise<Set<string>> {
    const held = new Set<string>();
    await mapLimit(uniqueWants(wants), RECORD_READS, async ([name, want]) => {
      const local = await readLayerRecord(layerRecordPath(cacheDir, name), want.packages.length);
      if (local !== undefined && (await store.has(local.digest))) return void held.add(name);
      if (this.down) return;
      if (await this.fetch(store, cacheDir, name, want)) held.add(name);
    });
    return held;
  }

  /**
   * The store the layer stage reads: the layers taken lazily count as held and verified there
   * (their bytes are checked when fetched: lazyBlob), and so do the blobs fill() streamed in
   * (hashed as they were written, moments ago: not read again).
   */
  storeView(store: BlobStore): BlobStore {
    if (this.lazyLayers.size === 0 && this.checked.size === 0) return store;
    const { lazyLayers: lazy, checked } = this;
    const view = Object.create(store) as BlobStore;
    view.has = async (digest) => lazy.has(digest) || store.has(digest);
    view.verify = async (digest, size) =>
      (checked.has(digest) && (await store.has(digest))) || (lazy.has(digest) && !(await store.has(digest))) || store.verify(digest, size);
    return view;
  }

  /** The graph's blob of a layer taken lazily (undefined for any other): opening it fetches the bytes once, verified, into `store`. */
  lazyBlob(descriptor: Descriptor, store: BlobStore): Blob | undefined {
    const entry = this.lazyLayers.get(descriptor.digest);
    if (entry === undefined) return undefined;
    const local = fileBlob(descriptor, store.path(descriptor.digest as Digest));
    return {
      descriptor,
      open: async () => {
        entry.fetched ??= this.fetchLazy(store, entry.name, entry.layer);
        await entry.fetched;
        return local.open();
      },
    };
  }

  /** Writes the entries of the layers built (or found) locally that the remote cache does not hold; never throws. */
  async write(store: BlobStore, built: readonly { want: LayerWant; layer: DebsLayer }[]): Promise<void> {
    if (this.mode !== 'readwrite' || this.down) return;
    const byName = new Map(built.map((b) => [nameOf(b.want), b.layer] as const));
    let warned = false;
    await mapLimit(
      [...byName].filter(([name]) => !this.present.has(name)),
      4,
      async ([name, layer]) => {
        if (warned) return; // the first failure settles it: no more requests to a cache that fails
        try {
          // an entry another runner wrote is left alone; one refused here is replaced
          if (!this.refused.has(name) && (await this.backend.hasRecord(name))) return;
          const record = Buffer.from(JSON.stringify({ key: name, record: JSON.parse(layerRecordJson(layer)) as unknown }));
          const blob = {
            digest: layer.digest,
            diffId: layer.diffId,
            size: layer.size,
            mediaType: layer.mediaType,
            path: store.path(layer.digest),
          };
          await this.backend.writeEntry(name, record, blob, this.badBlobs.has(layer.digest));
          this.report.written++;
        } catch (err) {
          this.report.warnings++;
          if (!warned) this.log(`warning: remote cache: entries not written (${(err as Error).message}); the build is not affected`);
          warned = true;
        }
      },
    );
  }

  /** One entry into the local cache; false when it is missing, refused or unreadable. */
  private async fetch(store: BlobStore, cacheDir: string, name: string, want: LayerWant): Promise<boolean> {
    let text: Buffer | undefined;
    try {
      text = await this.backend.readRecord(name, MAX_RECORD);
    } catch (err) {
      if (err instanceof RefusedEntry) {
        this.refused.add(name); // replaced by the local build's
        return this.refuse(this.backend.whereRecord(name), err.message);
      }
      if (!this.down) {
        this.report.warnings++;
        this.log(`warning: remote cache unreachable (${(err as Error).message}): building without it`);
      }
      this.down = true;
      return false;
    }
    if (text === undefined) {
      this.report.misses++;
      return false;
    }
    this.refused.add(name); // until it passes every check
    const layer = checkRecord(text, name, want);
    if (typeof layer === 'string') return this.refuse(this.backend.whereRecord(name), layer);
    if (this.lazyAllowed && !(await store.has(layer.digest))) {
      if (layer.size > MAX_BLOB)
        return this.refuse(this.backend.whereRecord(name), `its layer has ${layer.size} bytes, more than the ${MAX_BLOB} read`);
      this.lazyLayers.set(layer.digest, { layer, name });
      this.report.lazy++;
    } else {
      try {
        if (!(await this.blobReads.run(() => this.fetchBlob(store, name, layer), layer.size))) return false;
      } catch (err) {
        this.badBlobs.add(layer.digest);
        return this.refuse(this.backend.whereBlob(layer.digest), (err as Error).message);
      }
    }
    await writeFileAtomic(layerRecordPath(cacheDir, name), layerRecordJson(layer));
    this.refused.delete(name);
    this.present.add(name);
    this.report.hits++;
    return true;
  }

  /**
   * The layer blob of a checked record into `store`, streamed from the remote cache: its bytes must
   * hash to the record's digest and size, its uncompressed bytes (gunzipped as they stream by) to
   * its diff_id, before it becomes visible in the store (else it is never stored, and an Error says
   * why); false when the blob is missing. A blob the store already holds is checked from disk (evicted when its diff_id is not the record's).
   */
  private async fetchBlob(store: BlobStore, name: string, layer: LayerBlob): Promise<boolean> {
    const notDiffId = (diffId: Digest): Error =>
      new Error(
        `its layer's uncompressed bytes hash to ${diffId}, not to the diff_id ${layer.diffId} of ${this.backend.whereRecord(name)}`,
      );
    if (await store.has(layer.digest)) {
      const diffId = await uncompressedDigest(store.path(layer.digest), layer.size);
      if (diffId === layer.diffId) return true;
      await store.evict(layer.digest);
      throw notDiffId(diffId);
    }
    if (layer.size > MAX_BLOB) throw new Error(`its layer has ${layer.size} bytes, more than the ${MAX_BLOB} read`);
    const body = await this.backend.readBlob(layer.digest, layer.size);
    if (body === undefined) {
      this.report.misses++;
      return false;
    }
    const what = this.backend.whereBlob(layer.digest);
    const diff = new DiffIdStream(layer.size, what);
    try {
      await store.write(through(body, diff), {
        digest: layer.digest,
        size: layer.size,
        what,
        check: () => {
          const diffId = diff.diffId();
          if (diffId !== layer.diffId) throw notDiffId(diffId);
        },
      });
    } finally {
      this.report.blobBytes += diff.bytes;
    }
    this.checked.add(layer.digest);
    return true;
  }

  /** The bytes of a layer taken lazily, when a sink needs them: a layer that is missing or fails a check fails the push, never published. */
  private async fetchLazy(store: BlobStore, name: string, layer: LayerBlob): Promise<void> {
    let fetched: boolean;
    try {
      fetched = await this.fetchBlob(store, name, layer);
    } catch (err) {
      throw new AlbaError('REMOTE_CACHE', `${this.backend.whereBlob(layer.digest)} is refused: ${(err as Error).message}`, {
        hint: 'the build took this layer from the remote cache by its record; nothing was published with it. Run again without --remote-cache (or with --out) to build it from the .deb, which repairs the entry',
        cause: err,
      });
    }
    if (!fetched)
      throw new AlbaError(
        'REMOTE_CACHE',
        `${this.backend.whereBlob(layer.digest)} is missing, although ${this.backend.whereRecord(name)} names it`,
        {
          hint: 'the cache lost the blob meanwhile; run again (the layer is then built from the .deb)',
        },
      );
  }

  private refuse(where: string, why: string): false {
    this.report.refused++;
    this.report.warnings++;
    this.log(`warning: remote cache: ${where} refused (${why}): built from the .deb instead`);
    return false;
  }
}

/**
 * The layers a build from `plans` may need: each arch's groups, and, for an arch whose packages fill
 * its layer budget, the groups of one layer fewer (build() replans so when a maintainer layer is
 * needed).
 */
export function layerWants(
  plans: readonly ArchLayerPlan[],
  budgetOf: (arch: TargetArch) => number,
  sourceDateEpoch: number,
  caCertificates: LayerWant['caCertificates'],
): { wants: LayerWant[]; primary: LayerWant[] } {
  const wantOf = (packages: readonly LockedPackage[]): LayerWant => ({ packages, sourceDateEpoch, caCertificates });
  const primary = plans.flatMap((p) => p.groups.map(wantOf));
  const fallback = plans
    .filter((p) => p.groups.length > budgetOf(p.arch) - 1)
    .flatMap((p) => planArchLayers(p.arch, p.packages, budgetOf(p.arch) - 1).groups.map(wantOf));
  return { wants: [...primary, ...fallback], primary };
}

/** The sha256 of the .debs a build must download: those of the layers the local cache does not hold (the others are fetched on demand). */
export function debsNeeded(primary: readonly LayerWant[], held: ReadonlySet<string>): Set<string> {
  return new Set(primary.filter((w) => !held.has(nameOf(w))).flatMap((w) => w.packages.map((p) => p.sha256)));
}

/** The record name of a wanted layer (as the local cache names it). */
export function nameOf(want: LayerWant): string {
  return layerRecordName({
    debs: want.packages.map((p) => ({ debSha256: p.sha256, packageName: p.name, debPath: '', what: '' })),
    sourceDateEpoch: want.sourceDateEpoch,
    caCertificates: want.caCertificates,
  });
}

function uniqueWants(wants: readonly LayerWant[]): [string, LayerWant][] {
  return [...new Map(wants.map((w) => [nameOf(w), w] as const))];
}

/** The layer of a remote record, or why it is refused: it must name `name` and hold the locked packages, in order. */
export function checkRecord(text: Buffer, name: string, want: LayerWant): DebsLayer | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.toString('utf8'));
  } catch {
    return 'not JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'not a JSON object';
  const entry = parsed as { key?: unknown; record?: unknown };
  if (entry.key !== name) return `it names another key (${JSON.stringify(entry.key)?.slice(0, 120)})`;
  const layer = layerRecord(entry.record, want.packages.length);
  if (layer === undefined) return 'not a layer record of these packages';
  for (const [i, p] of want.packages.entries()) {
    const control = layer.packages[i]!.control;
    const field = (f: string): string | undefined => new RegExp(`^${f}:[ \\t]*(.*)$`, 'm').exec(control)?.[1]?.trim();
    if (field('Package') !== p.name || field('Version') !== p.version || field('Architecture') !== p.architecture) {
      return `its control stanza is not that of ${p.name} ${p.version} (${p.architecture})`;
    }
  }
  return layer;
}

/**
 * Passes a layer blob's bytes on unchanged, failing once more than `max` have come (a server
 * sending more than the record says is not read to the end), while gunzipping them on the side
 * (zlib works in the thread pool; its backpressure holds the stream) and hashing what comes out:
 * diffId() is then the blob's diff_id, or throws why its bytes are not gzip. Memory stays flat.
 */
class DiffIdStream extends Transform {
  /** Bytes passed on. */
  bytes = 0;
  /** Bytes unpacked. */
  private unpacked = 0;
  private readonly cap: number;
  private readonly gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK });
  private readonly hash = createHash('sha256');
  private failure: Error | undefined;

  constructor(
    private readonly max: number,
    private readonly what: string,
  ) {
    super();
    this.cap = unpackCap(max);
    this.gunzip.on('data', (chunk: Buffer) => {
      this.unpacked += chunk.length;
      if (this.unpacked <= this.cap) return void this.hash.update(chunk);
      this.failure ??= new Error(`its layer of ${max} bytes unpacks to more than ${this.cap} (a gzip bomb)`);
      this.gunzip.destroy();
    });
    this.gunzip.on('error', (err) => (this.failure ??= new Error(`its layer is not gzip (${err.message})`)));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max)
      return done(
        new AlbaError('SIZE_MISMATCH', `${this.what}: more than the ${this.max} bytes expected`, {
          hint: 'the remote cache serves other bytes than its record names; the entry is refused',
        }),
      );
    this.push(chunk);
    // not gzip (the gunzip failed, and closed): nothing more to learn from the rest but its digest, which the store computes
    if (this.failure !== undefined || this.gunzip.destroyed || this.gunzip.write(chunk)) return done();
    const go = (): void => {
      this.gunzip.off('drain', go).off('close', go);
      done();
    };
    this.gunzip.on('drain', go).on('close', go);
  }

  override _flush(done: TransformCallback): void {
    if (this.failure !== undefined) return done();
    this.gunzip.end();
    finished(this.gunzip).then(
      () => done(),
      (err: Error) => {
        this.failure ??= new Error(`its layer is not gzip (${err.message})`);
        done();
      },
    );
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    this.gunzip.destroy();
    done(err);
  }

  /** The sha256 of the gunzipped bytes, once the stream has ended; throws when they are not gzip. */
  diffId(): Digest {
    if (this.failure !== undefined) throw this.failure;
    return `sha256:${this.hash.digest('hex')}` as Digest;
  }
}

/** sha256 of a stored gzip blob's uncompressed bytes (a layer's diff_id), streamed; `size`: its record's. */
async function uncompressedDigest(path: string, size: number): Promise<Digest> {
  const diff = new DiffIdStream(size, path);
  await pipeline(
    createReadStream(path),
    diff,
    new Writable({
      write: (_chunk, _encoding, done) => done(),
    }),
  );
  return diff.diffId();
}

/** `--remote-cache-mode` (readwrite when absent); anything else is USAGE. */
export function remoteCacheMode(value: string | undefined): RemoteCacheMode {
  if (value === undefined || value === 'readwrite' || value === 'read') return value ?? 'readwrite';
  throw new AlbaError('USAGE', `--remote-cache-mode ${value}: expected read or readwrite`, {
    hint: 'read: use the cache, write nothing to it',
  });
}
