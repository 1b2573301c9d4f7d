import { findArch, type TargetArch } from '../debian/arch.js';
import { sourceDateEpoch, type Epoch } from './epoch.js';
import { assembleImage, type AssembledImage } from './image.js';
import { debDownload, fetchBaseUrls } from './deb-downloads.js';
import { buildPackageLayers, packageLayerBudget, planArchLayers } from './package-layers.js';
import { sbomArtifacts, sbomPackage, type ImageSbomFacts } from './sboms.js';
import { userFilesFor } from './user-files.js';
import { cacheArea, removeStaleCacheTemps } from '../cache.js';
import { downloadDebs, type DebDownload } from '../debian/download.js';
import { AlbaError } from '../errors.js';
import { buildBaseLayer } from '../layer/base-layer.js';
import { caBundle } from '../layer/ca-bundle.js';
import type { LayerBlob } from '../layer/layer-writer.js';
import { buildUserFilesLayer } from '../layer/user-files.js';
import { BlobStore } from '../oci/blob-store.js';
import { digestHex } from '../oci/digest.js';
import { rfc3339 } from '../oci/config.js';
import { imageIndexBlob } from '../oci/image-index.js';
import { fileBlob, memoryBlob, type ImageGraph } from '../oci/graph.js';
import { EMPTY_DESCRIPTOR, EMPTY_JSON_BYTES } from '../oci/manifest.js';
import type { Descriptor } from '../oci/types.js';
import type { FetchTarget } from '../recipe/mirror.js';
import type { LockFile, LockedPackage } from '../lock/lock-types.js';
import type { Recipe } from '../recipe/types.js';
import { stopwatch } from '../util/stopwatch.js';
import { version } from '../version.js';

/** What to build. */
export interface BuildOptions {
  recipe: Recipe;
  lock: LockFile;
  /** OCI arch names to build (default: all of the recipe's). */
  archs?: string[];
  cacheDir: string;
  /** Where each suite is fetched from (the lock keeps canonical URLs). */
  targets: FetchTarget[];
  log: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Annotations from the command line; they override the recipe's. */
  annotations?: Record<string, string>;
  /** Told after each .deb is in the cache and each layer is built or found. */
  onProgress?: (progress: BuildProgress) => void;
  /** SHA256 of .debs this process downloaded into the cache, verified as they were written (DebPrefetch): not hashed again. */
  verified?: ReadonlySet<string>;
}

/** How far a build is: .debs in the cache (with their bytes) and layers done, out of how many. */
export interface BuildProgress {
  stage: 'download' | 'layers';
  done: number;
  total: number;
  /** download: bytes of the .debs done so far, and of all of them. */
  bytes?: number;
  totalBytes?: number;
}

/** One platform image of the build. */
export interface BuiltImage {
  arch: TargetArch;
  manifest: Descriptor;
  layers: number;
  /** Compressed size of config and layers. */
  size: number;
  packages: number;
}

/** The result of a build: the graph to publish, and what it is made of. */
export interface BuildResult {
  graph: ImageGraph;
  index: Descriptor;
  images: BuiltImage[];
  epoch: Epoch;
  timings: { download: number; layers: number };
}

/**
 * Builds the recipe's images from its lock: downloads and verifies every .deb, turns them into
 * cached layers (one per package, or groups planned by layer-plan.ts when an arch has more packages
 * than its `max-layers` budget), adds the base files and the user's files, writes per-arch configs
 * and manifests, one multi-arch index and SPDX SBOMs (as OCI referrers; a layout sink also writes them as files), and
 * returns them as one graph. It writes nothing but the cache: sinks store the graph (sink/publish.ts).
 */
export async function build(options: BuildOptions): Promise<BuildResult> {
  const { recipe, lock } = options;
  const clock = stopwatch();
  const archs = selectArchs(recipe, lock, options.archs);
  const epoch = sourceDateEpoch(recipe, lock, options.env ?? process.env);
  await removeStaleCacheTemps(options.cacheDir);
  const store = new BlobStore(cacheArea(options.cacheDir, 'blobs'));

  const unique = uniqueDebs(archs.flatMap((a) => lock.archs[a.name] ?? []));
  const fetchBase = fetchBaseUrls(options.targets);
  const downloads = new Map(unique.map((p) => [p.sha256, debDownload(p, fetchBase)]));
  const totalBytes = unique.reduce((n, p) => n + p.size, 0);
  let bytes = 0;
  const fetchDebs = (items: DebDownload[]) =>
    downloadDebs(items, {
      store,
      onProgress: (p) => {
        bytes += p.item.size;
        if (!p.cached) options.log(`fetched ${p.item.what}`);
        options.onProgress?.({ stage: 'download', done: p.done, total: p.total, bytes, totalBytes });
      },
    });
  const downloaded = await fetchDebs([...downloads.values()]);
  const fresh = new Set([...downloaded.filter((d) => !d.cached).map((d) => digestHex(d.digest)), ...(options.verified ?? [])]);
  const refetch = async (sha256: string): Promise<void> => void (await fetchDebs([downloads.get(sha256)!]));
  const download = clock();

  const userFiles = new Map(archs.map((arch) => [arch, userFilesFor(recipe.files, arch)] as const));
  const plans = archs.map((arch) => planArchLayers(arch, lock.archs[arch.name] ?? [], packageLayerBudget(recipe, arch)));
  const packageLayers = await buildPackageLayers(plans, store, options.cacheDir, epoch.seconds, { fresh, refetch, log: options.log, caCertificates: recipe.caCertificates, ...(options.onProgress === undefined ? {} : { onLayer: (done: number, total: number) => options.onProgress?.({ stage: 'layers', done, total }) }) });
  const annotations = imageAnnotations(recipe, epoch, options.annotations);
  const baseLayers = new Map<string, LayerBlob>();
  const images: AssembledImage[] = [];
  const sbomFacts: ImageSbomFacts[] = [];
  for (const { arch, packages, groups } of plans) {
    const certificates = packages.find((p) => p.name === 'ca-certificates');
    const bundle = certificates === undefined ? undefined : caBundle(packageLayers.contentOf(certificates).captured);
    let base = baseLayers.get(bundle ?? '');
    if (base === undefined) {
      base = await buildBaseLayer({ store, users: recipe.users, groups: recipe.groups, ...(bundle === undefined ? {} : { caBundle: bundle }), sourceDateEpoch: epoch.seconds });
      baseLayers.set(bundle ?? '', base);
    }
    const files = userFiles.get(arch)!;
    const filesLayer = files.length === 0 && recipe.paths.length === 0 ? undefined : await buildUserFilesLayer({ store, files, paths: recipe.paths, arch, sourceDateEpoch: epoch.seconds });
    const image = assembleImage(
      recipe,
      arch,
      {
        packageGroups: groups.map((g) => ({ layer: packageLayers.layerOf(g), packages: g })),
        base,
        caBundle: bundle !== undefined,
        ...(filesLayer === undefined ? {} : { files: { layer: filesLayer, files } }),
      },
      epoch.seconds,
      annotations,
    );
    images.push(image);
    sbomFacts.push({
      arch,
      manifest: image.manifest.descriptor,
      packages: packages.map((p) => sbomPackage(p, packageLayers.contentOf(p), `${fetchBase(p)}/${p.filename}`)),
      files: filesLayer?.files ?? [],
    });
  }
  const index = imageIndexBlob({ manifests: images.map((i) => i.manifest.descriptor), annotations });
  const layersTime = clock();

  const sboms = sbomArtifacts({ toolVersion: version, name: recipe.name, tag: recipe.tag, created: epoch.seconds }, sbomFacts, index.descriptor);
  const empty = memoryBlob({ bytes: EMPTY_JSON_BYTES, descriptor: EMPTY_DESCRIPTOR });
  const graph: ImageGraph = {
    root: memoryBlob(index),
    images: images.map((i) => ({
      manifest: memoryBlob(i.manifest),
      blobs: [memoryBlob(i.config), ...i.layers.map((l) => fileBlob({ mediaType: l.mediaType, digest: l.digest, size: l.size }, store.path(l.digest)))],
    })),
    referrers: sboms.referrers.map((r) => ({ manifest: memoryBlob(r.manifest), blobs: [empty, memoryBlob(r.sbom)], subject: r.subject })),
  };

  return {
    index: index.descriptor,
    images: images.map((i) => ({
      arch: i.arch,
      manifest: i.manifest.descriptor,
      layers: i.layers.length,
      size: i.config.descriptor.size + i.layers.reduce((sum, l) => sum + l.size, 0),
      packages: (lock.archs[i.arch.name] ?? []).length,
    })),
    graph,
    epoch,
    timings: { download, layers: layersTime },
  };
}

function selectArchs(recipe: Recipe, lock: LockFile, wanted: string[] | undefined): TargetArch[] {
  const archs = wanted === undefined ? recipe.archs : wanted.map((name) => {
    const arch = findArch(name);
    if (arch === undefined || !recipe.archs.some((a) => a.name === arch.name)) {
      throw new AlbaError('USAGE', `--arch ${name}: not one of the recipe's archs (${recipe.archs.map((a) => a.name).join(', ')})`, {
        hint: 'add it to archs: in the recipe and run `alba lock --update`',
      });
    }
    return arch;
  });
  for (const arch of archs) {
    if (lock.archs[arch.name] === undefined) {
      throw new AlbaError('LOCK_STALE', `the lock file has no packages for ${arch.name}`, { hint: 'run `alba lock --update`' });
    }
  }
  return archs;
}

function uniqueDebs(packages: LockedPackage[]): LockedPackage[] {
  const bySha = new Map<string, LockedPackage>();
  for (const p of packages) if (!bySha.has(p.sha256)) bySha.set(p.sha256, p);
  return [...bySha.values()].sort((a, b) => (a.sha256 < b.sha256 ? -1 : 1));
}

/** Manifest and index annotations: `created` from SOURCE_DATE_EPOCH, then the recipe's, then the command line's. */
function imageAnnotations(recipe: Recipe, epoch: Epoch, fromFlags: Record<string, string> = {}): Record<string, string> {
  return { 'org.opencontainers.image.created': rfc3339(epoch.seconds), ...recipe.annotations, ...fromFlags };
}
