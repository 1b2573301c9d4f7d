import { stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { cacheArea } from '../cache.js';
import type { TargetArch } from '../debian/arch.js';
import { DEB_DOWNLOADS, downloadDebs, type DebDownload } from '../debian/download.js';
import type { LockedPackage, LockedRelease } from '../lock/lock-types.js';
import { BlobStore } from '../oci/blob-store.js';
import { digestHex, type Digest } from '../oci/digest.js';
import type { FetchTarget } from '../recipe/mirror.js';
import type { Recipe } from '../recipe/types.js';
import { sourceDateEpoch } from './epoch.js';
import { layerRecordName, layerRecordPath, packagesLayer, readLayerRecord } from './layer-cache.js';
import { describePackage, packageLayerBudget, planArchLayers } from './package-layers.js';
import { Slots } from '../util/slots.js';
import type { BuildProgress } from './build.js';

/** Maps a locked package to the URL of the repository it is fetched from (a mirror, or its own). */
export function fetchBaseUrls(targets: readonly FetchTarget[]): (p: LockedPackage) => string {
  const byKey = new Map(targets.map((t) => [`${t.source.url} ${t.suite}`, t.fetchUrl]));
  return (p) => byKey.get(`${p.repo} ${p.suite}`) ?? p.repo;
}

/** The download of a locked package's .deb, from where `fetchBase` says. */
export function debDownload(p: LockedPackage, fetchBase: (p: LockedPackage) => string): DebDownload {
  return { url: `${fetchBase(p)}/${p.filename}`, sha256: p.sha256, size: p.size, what: describePackage(p) };
}

/** What the prefetch hashed as it wrote it: build() neither reads it again nor forgets it. */
export interface PrefetchResult {
  /** SHA256 (hex) of the .debs downloaded and the layers built by this process (BuildOptions.verified). */
  verified: Set<string>;
  /** Each layer built here, by SHA256 (hex): its file's stat right after (BuildOptions.written). */
  written: Map<string, BigIntStats>;
}

/** What the prefetch needs of the build to come. */
export interface PrefetchOptions {
  recipe: Recipe;
  cacheDir: string;
  targets: readonly FetchTarget[];
  env?: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** Told as each .deb is in the cache and each layer is done, as build() tells its own stages. */
  onProgress?: ((progress: BuildProgress) => void) | undefined;
}

/**
 * Work for a build done while the lock is still being made: `alba build` without a lock hands it
 * each arch's packages as soon as that arch is resolved; it downloads their .debs and builds their
 * package layers into the cache (planned as build() plans them), so that this overlaps the other
 * archs' resolution, and build() then finds everything cached. Each .deb is fetched, and each
 * layer built, once. A failure is left for build() to meet again and report.
 */
export class BuildPrefetch {
  private readonly store: BlobStore;
  private readonly fetchBase: (p: LockedPackage) => string;
  private readonly debs = new Map<string, Promise<boolean>>();
  private readonly layers = new Map<string, Promise<void>>();
  /** Layers built at once: as build() does, so that memory stays where build() keeps it. */
  private readonly building = new Slots(2);
  /**
   * .debs downloaded at once, those waiting for a turn the largest first (its layer is the longest to build): as many as
   * build()'s downloadDebs takes, though they are started one package at a time; unbounded, a
   * large image opened hundreds of connections to the mirror, each holding its buffers.
   */
  private readonly fetching = new Slots(DEB_DOWNLOADS);
  private readonly count = { debs: 0, bytes: 0, totalBytes: 0, layers: 0 };
  /**
   * The layers built here (or found in the cache and hashed by packagesLayer), by SHA256 (hex): the
   * stat of each file right after, for build()'s stat index (undefined when it could not be taken).
   */
  private readonly built = new Map<string, BigIntStats | undefined>();

  constructor(private readonly options: PrefetchOptions) {
    this.store = new BlobStore(cacheArea(options.cacheDir, 'blobs'));
    this.fetchBase = fetchBaseUrls(options.targets);
  }

  /** Starts the work of one resolved arch. */
  add(arch: TargetArch, packages: LockedPackage[], releases: LockedRelease[]): void {
    const { recipe } = this.options;
    for (const p of packages) {
      if (this.debs.has(p.sha256)) continue;
      this.count.totalBytes += p.size;
      this.debs.set(p.sha256, this.download(p));
    }
    const epoch = sourceDateEpoch(recipe, { releases }, this.options.env ?? process.env).seconds;
    for (const group of planArchLayers(arch, packages, packageLayerBudget(recipe, arch)).groups) {
      const key = group.map((p) => p.sha256).join(' ');
      if (!this.layers.has(key)) this.layers.set(key, this.layer(group, epoch));
    }
  }

  /** Waits for all the work started; what this process hashed as it wrote it, for build(). */
  async finish(): Promise<PrefetchResult> {
    await Promise.all(this.layers.values());
    const verified = new Set(this.built.keys());
    for (const [sha256, downloaded] of this.debs) if (await downloaded) verified.add(sha256.toLowerCase());
    const written = new Map([...this.built].flatMap(([hex, s]) => (s === undefined ? [] : [[hex, s] as const])));
    return { verified, written };
  }

  private download(p: LockedPackage): Promise<boolean> {
    const { count, options } = this;
    return this.fetching
      .run(() => downloadDebs([debDownload(p, this.fetchBase)], { store: this.store }), p.size)
      .then(
        ([got]) => {
          count.bytes += p.size;
          count.debs += 1;
          if (got !== undefined && !got.cached) options.log(`fetched ${describePackage(p)}`);
          options.onProgress?.({
            stage: 'download',
            done: count.debs,
            total: this.debs.size,
            bytes: count.bytes,
            totalBytes: count.totalBytes,
          });
          return got !== undefined && !got.cached;
        },
        () => false,
      );
  }

  private layerDone(): void {
    this.options.onProgress?.({ stage: 'layers', done: ++this.count.layers, total: this.layers.size });
  }

  private async layer(group: LockedPackage[], sourceDateEpoch: number): Promise<void> {
    await this.buildLayer(group, sourceDateEpoch);
    this.layerDone();
  }

  private async buildLayer(group: LockedPackage[], sourceDateEpoch: number): Promise<void> {
    const downloaded = await Promise.all(group.map((p) => this.debs.get(p.sha256) ?? Promise.resolve(undefined)));
    const digests = group.map((p) => `sha256:${p.sha256}` as Digest);
    const { caCertificates } = this.options.recipe;
    const debs = group.map((p, i) => ({
      debPath: this.store.path(digests[i]!),
      debSha256: p.sha256,
      debSize: p.size,
      packageName: p.name,
      what: describePackage(p),
    }));
    // already built (a warm cache): build() checks that layer; hashing it here too would read every cached layer twice
    const record = layerRecordPath(this.options.cacheDir, layerRecordName({ debs, sourceDateEpoch, caCertificates }));
    const recorded = await readLayerRecord(record, group.length);
    if (recorded !== undefined && (await this.store.has(recorded.digest))) return;
    // a download that failed is build()'s to meet again and report
    if (!(await Promise.all(digests.map((d) => this.store.has(d)))).every(Boolean)) return;
    const layer = await this.building
      .run(() =>
        packagesLayer(this.store, this.options.cacheDir, {
          debs,
          sourceDateEpoch,
          fresh: new Set(group.filter((_, i) => downloaded[i] === true).map((p) => p.sha256)),
          caCertificates,
          refetch: async () => undefined,
          log: this.options.log,
        }),
      )
      .catch(() => undefined);
    if (layer !== undefined)
      this.built.set(digestHex(layer.digest), await stat(this.store.path(layer.digest), { bigint: true }).catch(() => undefined));
  }
}
