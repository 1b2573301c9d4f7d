import type { BigIntStats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { findArch, type TargetArch } from '../debian/arch.js';
import { sourceDateEpoch, type Epoch } from './epoch.js';
import { assembleImage, type AssembledImage } from './image.js';
import { debDownload, fetchBaseUrls } from './deb-downloads.js';
import { buildPackageLayers, packageLayerBudget, planArchLayers, type ArchLayerPlan } from './package-layers.js';
import { sbomArtifacts, sbomPackage, type ImageSbomFacts, type LicenseMemo } from './sboms.js';
import type { SbomPackage } from '../sbom/types.js';
import { debsNeeded, layerWants, type RemoteLayerCache } from './remote-cache.js';
import { userFilesFor } from './user-files.js';
import { cacheArea, removeStaleCacheTemps } from '../cache.js';
import { downloadDebs, type DebDownload } from '../debian/download.js';
import { AlbaError, redactUrl } from '../errors.js';
import { buildBaseLayer } from '../layer/base-layer.js';
import { readAdditionalCas } from '../layer/additional-cas.js';
import { caBundle, packageCas } from '../layer/ca-bundle.js';
import type { DebContent } from '../layer/deb-layer.js';
import {
  buildMaintainerLayer,
  isEmptyPlan,
  maintainerFiles,
  maintainerHistory,
  planMaintainerLayer,
  type MaintainerPlan,
} from '../layer/maintainer-layer.js';
import type { ScriptAction } from '../layer/maintainer-scripts.js';
import type { LayerBlob } from '../layer/layer-writer.js';
import { buildUserFilesLayer } from '../layer/user-files.js';
import { BlobStore } from '../oci/blob-store.js';
import { digestHex, parseDigest } from '../oci/digest.js';
import { rfc3339 } from '../oci/config.js';
import { imageIndexBlob } from '../oci/image-index.js';
import { fileBlob, memoryBlob, type ImageGraph } from '../oci/graph.js';
import { EMPTY_DESCRIPTOR, EMPTY_JSON_BYTES } from '../oci/manifest.js';
import type { Descriptor } from '../oci/types.js';
import type { FetchTarget } from '../recipe/mirror.js';
import type { LockFile, LockedPackage } from '../lock/lock-types.js';
import type { Recipe } from '../recipe/types.js';
import { StatIndex } from '../util/stat-index.js';
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
  /** SHA256 of .debs this process downloaded into the cache and of layers it built there, hashed as they were written (BuildPrefetch): not hashed again. */
  verified?: ReadonlySet<string>;
  /**
   * Of those, the layers: the stat of each file right after it was written. One still unchanged,
   * and written longer ago than the racy window, is recorded in the stat index as a hash would
   * record it, so that later builds do not read it either.
   */
  written?: ReadonlyMap<string, BigIntStats>;
  /** `--remote-cache`: layers taken from it before any .deb is downloaded, and written to it after the build. */
  remoteCache?: RemoteLayerCache;
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
  /**
   * Seconds of build()'s stages: the .debs still missing, the layers still to make and the images;
   * `prefetch` (buildRecipe): the downloads and package layers made before build(), every arch at
   * once, overlapping the resolution when there is no lock.
   */
  timings: { download: number; layers: number; prefetch?: number };
  /** With a remote cache in readwrite mode: its writes, under way (they never reject). */
  remoteCacheWrites?: Promise<void>;
  /** The files besides recipe and lock the build read (the recipe's files of each arch, its additional CA files), with the SHA256 of what it read. */
  inputs: { path: string; sha256: string }[];
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
  // cached layers and .debs whose stat is unchanged since they last hashed to their names are not read again
  const verified = StatIndex.load(verifiedIndexPath(options.cacheDir));
  const store = new BlobStore(cacheArea(options.cacheDir, 'blobs'), undefined, verified);
  const additionalCas = await readAdditionalCas(recipe.additionalCaCertificates ?? []);

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
  let plans = archs.map((arch) => planArchLayers(arch, lock.archs[arch.name] ?? [], packageLayerBudget(recipe, arch)));
  // with a remote cache: its layers into the local cache first, then only the .debs of the layers neither holds
  const remote =
    options.remoteCache === undefined
      ? undefined
      : layerWants(plans, (a) => packageLayerBudget(recipe, a), epoch.seconds, recipe.caCertificates);
  const needed =
    remote === undefined ? undefined : debsNeeded(remote.primary, await options.remoteCache!.fill(store, options.cacheDir, remote.wants));
  const downloaded = await fetchDebs([...downloads.values()].filter((d) => needed?.has(d.sha256) ?? true));
  const fresh = new Set([...downloaded.filter((d) => !d.cached).map((d) => digestHex(d.digest)), ...(options.verified ?? [])]);
  const refetch = async (sha256: string): Promise<void> => void (await fetchDebs([downloads.get(sha256)!]));
  const download = clock();

  const userFiles = new Map(archs.map((arch) => [arch, userFilesFor(recipe.files, arch)] as const));
  const buildLayers = () =>
    buildPackageLayers(plans, options.remoteCache?.storeView(store) ?? store, options.cacheDir, epoch.seconds, {
      fresh,
      refetch,
      log: options.log,
      caCertificates: recipe.caCertificates,
      ...(options.onProgress === undefined
        ? {}
        : { onLayer: (done: number, total: number) => options.onProgress?.({ stage: 'layers', done, total }) }),
    });
  let packageLayers = await buildLayers();
  // what maintainer scripts would have made: known only once the packages are read
  const planMaintainer = ({ packages }: ArchLayerPlan): { plan: MaintainerPlan; certificates: number } => {
    const certificates = packages.find((p) => p.name === 'ca-certificates');
    const cas = [
      ...(certificates === undefined ? [] : packageCas(packageLayers.contentOf(certificates).captured)),
      ...additionalCas.flatMap((c) => c.certificates),
    ];
    return {
      plan: planMaintainerLayer(
        packages.map((p) => ({ name: p.name, ...facts(packageLayers.contentOf(p)) })),
        cas,
      ),
      certificates: cas.length,
    };
  };
  let maintainer = plans.map(planMaintainer);
  if (plans.some((p, i) => !isEmptyPlan(maintainer[i]!.plan) && p.groups.length > packageLayerBudget(recipe, p.arch) - 1)) {
    // that layer needs one more of max-layers: those archs' packages share one layer more
    plans = plans.map((p, i) =>
      isEmptyPlan(maintainer[i]!.plan) ? p : planArchLayers(p.arch, p.packages, packageLayerBudget(recipe, p.arch) - 1),
    );
    packageLayers = await buildLayers();
    maintainer = plans.map(planMaintainer);
  }
  warnNotMade(
    maintainer.map((m) => m.plan),
    options.log,
  );
  const annotations = imageAnnotations(recipe, epoch, options.annotations);
  const baseLayers = new Map<string, LayerBlob>();
  const images: AssembledImage[] = [];
  const sbomFacts: ImageSbomFacts[] = [];
  const licenses: LicenseMemo = new Map();
  const inputs = (recipe.additionalCaCertificates ?? []).flatMap((path, i) => {
    const sha256 = additionalCas[i]?.sha256;
    return sha256 === undefined ? [] : [{ path, sha256 }];
  });
  for (const [i, { arch, packages, groups }] of plans.entries()) {
    const certificates = packages.find((p) => p.name === 'ca-certificates');
    const bundle =
      certificates === undefined && additionalCas.length === 0
        ? undefined
        : `${certificates === undefined ? '' : caBundle(packageLayers.contentOf(certificates).captured)}${additionalCas.map((c) => c.text).join('')}`;
    let base = baseLayers.get(bundle ?? '');
    if (base === undefined) {
      const localCas = additionalCas.length === 0 ? {} : { localCas: additionalCas };
      base = await buildBaseLayer({
        store,
        users: recipe.users,
        groups: recipe.groups,
        ...(bundle === undefined ? {} : { caBundle: bundle }),
        ...localCas,
        sourceDateEpoch: epoch.seconds,
      });
      baseLayers.set(bundle ?? '', base);
    }
    const { plan: maintainerPlan, certificates: trusted } = maintainer[i]!;
    const maintainerLayer = isEmptyPlan(maintainerPlan)
      ? undefined
      : { layer: await buildMaintainerLayer(store, maintainerPlan, epoch.seconds), history: maintainerHistory(maintainerPlan, trusted) };
    const files = userFiles.get(arch)!;
    const filesLayer =
      files.length === 0 && recipe.paths.length === 0
        ? undefined
        : await buildUserFilesLayer({ store, files, paths: recipe.paths, arch, sourceDateEpoch: epoch.seconds });
    // (a file not found among those placed gets no SHA256: then no warm no-op is recorded, cli/warm-build.ts)
    for (const f of files) inputs.push({ path: f.src, sha256: filesLayer?.files.find((p) => p.path === f.dst)?.sha256 ?? '' });
    const image = assembleImage(
      recipe,
      arch,
      {
        packageGroups: groups.map((g) => ({ layer: packageLayers.layerOf(g), packages: g })),
        base,
        caBundle: bundle !== undefined,
        ...(maintainerLayer === undefined ? {} : { maintainer: maintainerLayer }),
        ...(filesLayer === undefined ? {} : { files: { layer: filesLayer, files } }),
      },
      epoch.seconds,
      annotations,
    );
    images.push(image);
    sbomFacts.push({
      arch,
      manifest: image.manifest.descriptor,
      packages: packages.map((p) =>
        withScriptComment(
          sbomPackage(p, packageLayers.contentOf(p), redactUrl(`${fetchBase(p)}/${p.filename}`), licenses),
          packageLayers.contentOf(p),
        ),
      ),
      files: [
        ...(filesLayer?.files ?? []),
        ...additionalCas.map((c) => ({
          path: `/${c.path}`,
          sha256: c.sha256,
          comment: "from the recipe's additional-ca-certificates; its certificates are in /etc/ssl/certs/ca-certificates.crt",
        })),
        ...maintainerFiles(maintainerPlan),
      ],
    });
  }
  const index = imageIndexBlob({ manifests: images.map((i) => i.manifest.descriptor), annotations });
  await noteWritten(verified, store, options.written);
  await verified.save();
  const layersTime = clock();
  // written while the caller publishes; it never fails the build (remote-cache.ts)
  const builtLayers = plans.flatMap((p) =>
    p.groups.map((g) => ({
      want: { packages: g, sourceDateEpoch: epoch.seconds, caCertificates: recipe.caCertificates },
      layer: packageLayers.layerOf(g),
    })),
  );
  const remoteCacheWrites = options.remoteCache?.write(store, builtLayers);

  const sboms = sbomArtifacts(
    { toolVersion: version, name: recipe.name, tag: recipe.tag, created: epoch.seconds },
    sbomFacts,
    index.descriptor,
  );
  const empty = memoryBlob({ bytes: EMPTY_JSON_BYTES, descriptor: EMPTY_DESCRIPTOR });
  const graph: ImageGraph = {
    root: memoryBlob(index),
    images: images.map((i) => ({
      manifest: memoryBlob(i.manifest),
      blobs: [
        memoryBlob(i.config),
        ...i.layers.map((l) => {
          const descriptor = { mediaType: l.mediaType, digest: l.digest, size: l.size };
          return options.remoteCache?.lazyBlob(descriptor, store) ?? fileBlob(descriptor, store.path(l.digest));
        }),
      ],
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
    inputs,
    ...(remoteCacheWrites === undefined ? {} : { remoteCacheWrites }),
  };
}

/**
 * Records in the stat index each blob hashed as it was written (by the build prefetch) whose file
 * still has the stat taken right after that write, and was written longer than the racy window ago.
 */
async function noteWritten(index: StatIndex, store: BlobStore, written: ReadonlyMap<string, BigIntStats> | undefined): Promise<void> {
  for (const [hex, after] of written ?? []) {
    const digest = parseDigest(`sha256:${hex}`);
    const path = store.path(digest);
    const at = Date.now();
    const now = await stat(path, { bigint: true }).catch(() => undefined);
    if (now !== undefined) index.noteWritten(path, digest, after, now, at);
  }
}

/** The stat index of the blobs a build verified (the cache's and the --out layout's, by path). */
export function verifiedIndexPath(cacheDir: string): string {
  return join(cacheArea(cacheDir, 'builds'), 'verified.json');
}

function selectArchs(recipe: Recipe, lock: LockFile, wanted: string[] | undefined): TargetArch[] {
  const archs =
    wanted === undefined
      ? recipe.archs
      : wanted.map((name) => {
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

/** The maintainer facts of a package, as planMaintainerLayer takes them. */
function facts(content: DebContent): { facts?: NonNullable<DebContent['maintainer']> } {
  return content.maintainer === undefined ? {} : { facts: content.maintainer };
}

/** One warning per package (whatever the number of archs) whose postinst did something alba did not make. */
function warnNotMade(plans: readonly MaintainerPlan[], log: (line: string) => void): void {
  const seen = new Set<string>();
  for (const { name, actions } of plans.flatMap((p) => p.notMade)) {
    if (seen.has(name)) continue;
    seen.add(name);
    log(`warning: ${name}: its postinst is not run; alba did not make: ${actions.map((a) => `${a.action} (${a.note})`).join('; ')}`);
  }
}

/** The SBOM entry of a package with a comment saying what of its postinst alba made, when it has one. */
function withScriptComment(entry: SbomPackage, content: DebContent): SbomPackage {
  const actions = content.maintainer?.actions ?? [];
  if (actions.length === 0) return entry;
  const list = (outcome: ScriptAction['outcome']): string =>
    actions
      .filter((a) => a.outcome === outcome)
      .map((a) => a.action)
      .join(', ');
  const parts = [
    ['made by alba', list('made')],
    ['not needed in a container', list('not-needed')],
    ['not made', list('not-made')],
  ].filter(([, v]) => v !== '');
  return { ...entry, comment: `postinst not run; ${parts.map(([k, v]) => `${k}: ${v}`).join('; ')}` };
}
