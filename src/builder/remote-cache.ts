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
 * Layout under the URL's prefix, in a folder no registry repository can be named (`.`), which gc
 * never lists: `.alba-remote-cache/v1/records/<record name>` and `.alba-remote-cache/v1/blobs/sha256/<hex>`.
 *
 * Trust: a record names its key and is checked against the locked packages (name, version,
 * architecture of each control stanza); its blob is written to the local store only when its bytes
 * hash to the record's digest and size, and its uncompressed bytes to the record's diff_id. An entry
 * failing any check is refused with a warning and the layer is built from the .deb; the entry is
 * then overwritten with the good one. Writes go after the local build (blob first, then record,
 * so a record is never visible before its blob) and never fail the build: a cache that is down or
 * read-only costs a warning. Two runners writing the same entry write the same bytes.
 */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { AlbaError } from '../errors.js';
import type { DebsLayer } from '../layer/deb-layer.js';
import type { TargetArch } from '../debian/arch.js';
import type { LockedPackage } from '../lock/lock-types.js';
import type { BlobStore } from '../oci/blob-store.js';
import { digestHex, type Digest } from '../oci/digest.js';
import { mapLimit } from '../util/map-limit.js';
import { writeFileAtomic } from '../util/atomic.js';
import { planArchLayers, type ArchLayerPlan } from './package-layers.js';
import { layerRecordJson, layerRecordName, layerRecordPath, parseLayerRecord, readLayerRecord } from './layer-cache.js';

/** `--remote-cache-mode`. */
export type RemoteCacheMode = 'read' | 'readwrite';

/** Where the entries are, under the URL's prefix. */
const ROOT = '.alba-remote-cache/v1';
/** A record holds a few control stanzas and the CA files of ca-certificates: far below this. */
const MAX_RECORD = 8 * 1024 * 1024;
/** Layers larger than this are not read from the remote cache (the blob is read whole, then verified). */
const MAX_BLOB = 1024 * 1024 * 1024;

/** The few operations the remote cache needs of a store (S3Store has them). */
export interface RemoteStore {
  get(key: string, max: number): Promise<{ bytes: Buffer } | undefined>;
  head(key: string): Promise<{ size: number } | undefined>;
  put(
    key: string,
    body: Buffer | { open: () => Promise<Readable>; size: number },
    options: { contentType: string; cacheControl: string },
  ): Promise<boolean>;
  where(key: string): string;
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
}

/** The remote cache of one build. */
export class RemoteLayerCache {
  readonly report: RemoteCacheReport = { hits: 0, misses: 0, refused: 0, written: 0, warnings: 0 };
  /** Records already in the remote cache, verified: not written again. */
  private readonly present = new Set<string>();
  /** Records refused by fill(): written again with the local build's. */
  private readonly refused = new Set<string>();
  /** Blobs refused by fill() (their bytes do not hash to their name): uploaded again. */
  private readonly badBlobs = new Set<string>();
  /** The remote could not be read at all: no more reads are tried. */
  private down = false;

  constructor(
    private readonly remote: RemoteStore,
    private readonly prefix: string,
    readonly mode: RemoteCacheMode,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Copies into the local cache (store and layer records) each wanted layer the remote cache holds
   * and the local one does not; returns the record names the local cache now holds.
   */
  async fill(store: BlobStore, cacheDir: string, wants: readonly LayerWant[]): Promise<Set<string>> {
    const held = new Set<string>();
    await mapLimit(uniqueWants(wants), 8, async ([name, want]) => {
      const local = await readLayerRecord(layerRecordPath(cacheDir, name), want.packages.length === 1);
      if (local !== undefined && (await store.has(local.digest))) return void held.add(name);
      if (this.down) return;
      if (await this.fetch(store, cacheDir, name, want)) held.add(name);
    });
    return held;
  }

  /** Writes the entries of the layers built (or found) locally that the remote cache does not hold; never throws. */
  async write(store: BlobStore, built: readonly { want: LayerWant; layer: DebsLayer }[]): Promise<void> {
    if (this.mode !== 'readwrite') return;
    const byName = new Map(built.map((b) => [nameOf(b.want), b.layer] as const));
    let warned = false;
    await mapLimit(
      [...byName].filter(([name]) => !this.present.has(name)),
      4,
      async ([name, layer]) => {
        try {
          // an entry another runner wrote is left alone; one refused here is replaced
          if (!this.refused.has(name) && (await this.remote.head(this.key(`records/${name}`))) !== undefined) return;
          const blobKey = this.key(`blobs/sha256/${digestHex(layer.digest)}`);
          if (this.badBlobs.has(layer.digest) || (await this.remote.head(blobKey))?.size !== layer.size) {
            const path = store.path(layer.digest);
            await this.remote.put(
              blobKey,
              { open: async () => createReadStream(path), size: layer.size },
              { contentType: 'application/octet-stream', cacheControl: 'no-cache' },
            );
          }
          const record = JSON.stringify({ key: name, record: JSON.parse(layerRecordJson(layer)) as unknown });
          await this.remote.put(this.key(`records/${name}`), Buffer.from(record), {
            contentType: 'application/json',
            cacheControl: 'no-cache',
          });
          this.report.written++;
        } catch (err) {
          this.report.warnings++;
          if (!warned) this.log(`warning: remote cache: entries not written (${(err as Error).message}); the build is not affected`);
          warned = true;
        }
      },
    );
  }

  private key(path: string): string {
    return this.prefix === '' ? `${ROOT}/${path}` : `${this.prefix}/${ROOT}/${path}`;
  }

  /** One entry into the local cache; false when it is missing, refused or unreadable. */
  private async fetch(store: BlobStore, cacheDir: string, name: string, want: LayerWant): Promise<boolean> {
    const recordKey = this.key(`records/${name}`);
    let text: Buffer | undefined;
    try {
      text = (await this.remote.get(recordKey, MAX_RECORD))?.bytes;
    } catch (err) {
      if (err instanceof AlbaError && err.code === 'TOO_LARGE') return this.refuse(recordKey, 'too large');
      this.down = true;
      this.report.warnings++;
      this.log(`warning: remote cache unreachable (${(err as Error).message}): building without it`);
      return false;
    }
    if (text === undefined) {
      this.report.misses++;
      return false;
    }
    this.refused.add(name); // until it passes every check
    const layer = checkRecord(text, name, want);
    if (typeof layer === 'string') return this.refuse(recordKey, layer);
    const blobKey = this.key(`blobs/sha256/${digestHex(layer.digest)}`);
    try {
      if (!(await store.has(layer.digest))) {
        if (layer.size > MAX_BLOB) return this.refuse(recordKey, `its layer has ${layer.size} bytes, more than the ${MAX_BLOB} read`);
        const blob = await this.remote.get(blobKey, layer.size);
        if (blob === undefined) {
          this.report.misses++;
          return false;
        }
        await store.write(Readable.from([blob.bytes]), { digest: layer.digest, size: layer.size, what: this.remote.where(blobKey) });
      }
      const diffId = await uncompressedDigest(store.path(layer.digest));
      if (diffId !== layer.diffId) {
        await store.evict(layer.digest);
        this.badBlobs.add(layer.digest);
        return this.refuse(recordKey, `its layer's uncompressed bytes hash to ${diffId}, not to the record's diff_id ${layer.diffId}`);
      }
    } catch (err) {
      this.badBlobs.add(layer.digest);
      return this.refuse(blobKey, (err as Error).message);
    }
    await writeFileAtomic(layerRecordPath(cacheDir, name), layerRecordJson(layer));
    this.refused.delete(name);
    this.present.add(name);
    this.report.hits++;
    return true;
  }

  private refuse(key: string, why: string): false {
    this.report.refused++;
    this.report.warnings++;
    this.log(`warning: remote cache: ${this.remote.where(key)} refused (${why}): built from the .deb instead`);
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
  let entry: { key?: unknown; record?: unknown };
  try {
    entry = JSON.parse(text.toString('utf8')) as { key?: unknown; record?: unknown };
  } catch {
    return 'not JSON';
  }
  if (entry.key !== name) return `it names another key (${JSON.stringify(entry.key)?.slice(0, 120)})`;
  const layer = parseLayerRecord(JSON.stringify(entry.record), want.packages.length);
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

/** sha256 of a gzip blob's uncompressed bytes (a layer's diff_id), streamed. */
async function uncompressedDigest(path: string): Promise<Digest> {
  const hash = createHash('sha256');
  await pipeline(
    createReadStream(path),
    createGunzip(),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done();
      },
    }),
  );
  return `sha256:${hash.digest('hex')}` as Digest;
}

/** `--remote-cache-mode` (readwrite when absent); anything else is USAGE. */
export function remoteCacheMode(value: string | undefined): RemoteCacheMode {
  if (value === undefined || value === 'readwrite' || value === 'read') return value ?? 'readwrite';
  throw new AlbaError('USAGE', `--remote-cache-mode ${value}: expected read or readwrite`, {
    hint: 'read: use the cache, write nothing to it',
  });
}
