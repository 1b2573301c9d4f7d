import { join } from 'node:path';
import { archSlug, findArch, type TargetArch } from './arch.js';
import { sourceDateEpoch, type Epoch } from './build/epoch.js';
import { imageEnv, imageUser } from './build/image-settings.js';
import { packagesLayer } from './build/layer-cache.js';
import { planLayerGroups } from './build/layer-plan.js';
import { describeUserFiles, userFilesFor } from './build/user-files.js';
import { blobsDir } from './debian/cache-dir.js';
import { downloadDebs } from './debian/download.js';
import { AlbaError } from './errors.js';
import { buildBaseLayer } from './layer/base-layer.js';
import { caBundle } from './layer/ca-bundle.js';
import type { DebContent, DebsLayer } from './layer/deb-layer.js';
import type { LayerBlob } from './layer/layer-writer.js';
import { buildUserFilesLayer } from './layer/user-files.js';
import { BlobStore } from './oci/blob-store.js';
import { imageConfigBlob, rfc3339, type ConfigLayer } from './oci/config.js';
import type { Digest } from './oci/digest.js';
import { imageIndexBlob } from './oci/image-index.js';
import type { JsonBlob } from './oci/json.js';
import { imageRefs, writeLayout, type LayoutRef } from './oci/layout.js';
import { EMPTY_JSON_BYTES, imageManifestBlob } from './oci/manifest.js';
import type { Descriptor } from './oci/types.js';
import type { FetchTarget } from './recipe/mirror.js';
import type { LockFile, LockedPackage } from './recipe/lock-types.js';
import type { Recipe } from './recipe/types.js';
import { parseDep5 } from './sbom/dep5.js';
import { sbomReferrer, sbomTitle } from './sbom/referrer.js';
import { imageSbom, indexSbom, serializeSbom } from './sbom/spdx.js';
import type { SbomPackage } from './sbom/types.js';
import { mapLimit } from './util/map-limit.js';
import { stopwatch } from './util/stopwatch.js';
import { version } from './version.js';

/** What to build and where. */
export interface BuildOptions {
  recipe: Recipe;
  lock: LockFile;
  /** Output OCI layout directory; replaced as a whole. */
  out: string;
  /** OCI arch names to build (default: all of the recipe's). */
  archs?: string[];
  cacheDir: string;
  /** Where each suite is fetched from (the lock keeps canonical URLs). */
  targets: FetchTarget[];
  log: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Annotations from the command line; they override the recipe's. */
  annotations?: Record<string, string>;
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

/** The result of a build. */
export interface BuildResult {
  index: Descriptor;
  images: BuiltImage[];
  layout: string;
  epoch: Epoch;
  timings: { download: number; layers: number; write: number };
}

/**
 * Builds the recipe's images from its lock: downloads and verifies every .deb, turns them into
 * cached layers (one per package, or groups planned by layer-plan.ts when an arch has more packages
 * than its `max-layers` budget), adds the base files and the user's files, writes per-arch configs
 * and manifests, one multi-arch index and SPDX SBOMs (as files and as OCI referrers), all into one OCI layout.
 */
export async function build(options: BuildOptions): Promise<BuildResult> {
  const { recipe, lock } = options;
  const clock = stopwatch();
  const archs = selectArchs(recipe, lock, options.archs);
  const epoch = sourceDateEpoch(recipe, lock, options.env ?? process.env);
  const store = new BlobStore(blobsDir(options.cacheDir));

  const unique = uniqueDebs(archs.flatMap((a) => lock.archs[a.name] ?? []));
  const fetchBase = fetchBaseUrls(options.targets);
  await downloadDebs(
    unique.map((p) => ({ url: `${fetchBase(p)}/${p.filename}`, sha256: p.sha256, size: p.size, what: describe(p) })),
    { store, onProgress: (p) => (p.cached ? undefined : options.log(`fetched ${p.item.what}`)) },
  );
  const download = clock();

  const plans = archs.map((arch) => {
    const packages = lock.archs[arch.name] ?? [];
    const userFiles = userFilesFor(recipe.files, arch);
    const budget = recipe.maxLayers - 1 - (userFiles.length === 0 ? 0 : 1);
    return { arch, packages, userFiles, groups: planLayerGroups(packages, budget) };
  });
  const groupKey = (group: LockedPackage[]): string => group.map((p) => p.sha256).join(' ');
  const uniqueGroups = new Map(plans.flatMap((plan) => plan.groups.map((g) => [groupKey(g), g] as const)));
  const layers = new Map<string, DebsLayer>();
  const contents = new Map<string, DebContent>();
  await mapLimit([...uniqueGroups.entries()].sort(([a], [b]) => (a < b ? -1 : 1)), 3, async ([key, group]) => {
    const layer = await packagesLayer(store, options.cacheDir, {
      debs: group.map((p) => ({ debPath: store.path(`sha256:${p.sha256}` as Digest), debSha256: p.sha256, packageName: p.name, what: describe(p) })),
      sourceDateEpoch: epoch.seconds,
    });
    layers.set(key, layer);
    group.forEach((p, i) => contents.set(p.sha256, layer.packages[i]!));
  });

  const images: { arch: TargetArch; config: JsonBlob; manifest: JsonBlob; layers: LayerBlob[]; packages: LockedPackage[]; sbomPackages: SbomPackage[]; files: Awaited<ReturnType<typeof describeUserFiles>> }[] = [];
  const baseLayers = new Map<string, LayerBlob>();
  for (const { arch, packages, userFiles, groups } of plans) {
    const packageLayers = groups.map((g) => layers.get(groupKey(g))!);
    const certificates = packages.find((p) => p.name === 'ca-certificates');
    const bundle = certificates === undefined ? undefined : caBundle(contents.get(certificates.sha256)!.captured);
    const baseKey = bundle ?? '';
    let base = baseLayers.get(baseKey);
    if (base === undefined) {
      base = await buildBaseLayer({ store, users: recipe.users, groups: recipe.groups, ...(bundle === undefined ? {} : { caBundle: bundle }), sourceDateEpoch: epoch.seconds });
      baseLayers.set(baseKey, base);
    }
    const filesLayer = userFiles.length === 0 ? undefined : await buildUserFilesLayer({ store, files: userFiles, arch, sourceDateEpoch: epoch.seconds });
    const allLayers = [...packageLayers, base, ...(filesLayer === undefined ? [] : [filesLayer])];
    const history: ConfigLayer[] = [
      ...groups.map((g, i) => ({ diffId: packageLayers[i]!.diffId, createdBy: `alba: ${g.map((p) => `${p.name} ${p.version}`).join(', ')}` })),
      { diffId: base.diffId, createdBy: 'alba: base files (passwd, group, nsswitch.conf, tmp, homes' + (bundle === undefined ? ')' : ', CA bundle)') },
      ...(filesLayer === undefined ? [] : [{ diffId: filesLayer.diffId, createdBy: `alba: files ${recipe.files.map((f) => f.dst).join(' ')}` }]),
    ];
    const user = imageUser(recipe);
    const config = imageConfigBlob({
      created: epoch.seconds,
      platform: arch.platform,
      env: imageEnv(recipe, bundle !== undefined),
      ...(user === undefined ? {} : { user }),
      ...(recipe.entrypoint === undefined ? {} : { entrypoint: recipe.entrypoint }),
      ...(recipe.cmd === undefined ? {} : { cmd: recipe.cmd }),
      ...(recipe.workdir === undefined ? {} : { workingDir: recipe.workdir }),
      labels: recipe.labels,
      ...(recipe.stopSignal === undefined ? {} : { stopSignal: recipe.stopSignal }),
      layers: history,
    });
    const manifest = imageManifestBlob(
      { config: config.descriptor, layers: allLayers.map(layerDescriptor), annotations: imageAnnotations(recipe, epoch, options.annotations) },
      arch.platform,
    );
    images.push({
      arch,
      config,
      manifest,
      layers: allLayers,
      packages,
      sbomPackages: packages.map((p) => sbomPackage(p, contents.get(p.sha256)!, `${fetchBase(p)}/${p.filename}`)),
      files: await describeUserFiles(userFiles),
    });
  }
  const index = imageIndexBlob({ manifests: images.map((i) => i.manifest.descriptor), annotations: imageAnnotations(recipe, epoch, options.annotations) });
  const layersTime = clock();

  const naming = { toolVersion: version, name: recipe.name, tag: recipe.tag, created: epoch.seconds };
  const sbomBlobs: JsonBlob[] = [];
  const sbomFiles: { name: string; bytes: Uint8Array }[] = [];
  const perImage = images.map((image) => {
    const bytes = serializeSbom(
      imageSbom({ ...naming, arch: image.arch, manifest: image.manifest.descriptor, packages: image.sbomPackages, files: image.files, distro: 'debian-12' }),
    );
    const title = sbomTitle(archSlug(image.arch));
    const referrer = sbomReferrer({ sbom: bytes, subject: image.manifest.descriptor, created: epoch.seconds, title });
    sbomBlobs.push(referrer.sbom, referrer.manifest);
    sbomFiles.push({ name: title, bytes });
    return { arch: image.arch, manifest: image.manifest.descriptor, sbom: bytes };
  });
  const indexSbomBytes = serializeSbom(indexSbom({ ...naming, index: index.descriptor, images: perImage }));
  const indexReferrer = sbomReferrer({ sbom: indexSbomBytes, subject: index.descriptor, created: epoch.seconds, title: sbomTitle() });
  sbomBlobs.push(indexReferrer.sbom, indexReferrer.manifest);
  sbomFiles.push({ name: sbomTitle(), bytes: indexSbomBytes });

  // Referrer manifests are stored as blobs but not listed in index.json: oci-image-tool 1.0.0-rc1
  // rejects the empty config of OCI 1.1 artifacts. `alba sbom` and publishers find them by subject.
  const refs: LayoutRef[] = imageRefs(recipe.tag, index.descriptor, images.map((i) => i.manifest.descriptor));
  const storedLayers = new Map<string, Digest>();
  for (const image of images) for (const l of image.layers) storedLayers.set(l.digest, l.digest);
  await writeLayout({
    dir: options.out,
    stored: [...storedLayers.values()].map((digest) => ({ store, digest })),
    inline: [
      { bytes: EMPTY_JSON_BYTES },
      index,
      ...images.flatMap((i) => [i.config, i.manifest]),
      ...sbomBlobs,
    ],
    refs,
    files: sbomFiles.map((f) => ({ path: join('sbom', f.name), bytes: f.bytes })),
  });
  const write = clock();

  return {
    index: index.descriptor,
    images: images.map((i) => ({
      arch: i.arch,
      manifest: i.manifest.descriptor,
      layers: i.layers.length,
      size: i.config.descriptor.size + i.layers.reduce((sum, l) => sum + l.size, 0),
      packages: i.packages.length,
    })),
    layout: options.out,
    epoch,
    timings: { download, layers: layersTime, write },
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

/** Maps a locked package to the URL of the repository it is fetched from (a mirror, or its own). */
function fetchBaseUrls(targets: FetchTarget[]): (p: LockedPackage) => string {
  const byKey = new Map(targets.map((t) => [`${t.source.url} ${t.suite}`, t.fetchUrl]));
  return (p) => byKey.get(`${p.repo} ${p.suite}`) ?? p.repo;
}

function describe(p: LockedPackage): string {
  return `${p.name} ${p.version} (${p.architecture})`;
}

function layerDescriptor(layer: LayerBlob): Descriptor {
  return { mediaType: layer.mediaType, digest: layer.digest, size: layer.size };
}

/** Manifest and index annotations: `created` from SOURCE_DATE_EPOCH, then the recipe's, then the command line's. */
function imageAnnotations(recipe: Recipe, epoch: Epoch, fromFlags: Record<string, string> = {}): Record<string, string> {
  return { 'org.opencontainers.image.created': rfc3339(epoch.seconds), ...recipe.annotations, ...fromFlags };
}

/** The SBOM entry of a package; `downloadUrl` is where this build fetched it (the snapshot URL unless a mirror was used). */
function sbomPackage(p: LockedPackage, content: DebContent, downloadUrl: string): SbomPackage {
  const license = content.copyright === undefined ? undefined : parseDep5(content.copyright);
  return {
    name: p.name,
    version: p.version,
    architecture: p.architecture,
    source: p.source,
    sourceVersion: p.sourceVersion,
    ...(p.maintainer === undefined ? {} : { maintainer: p.maintainer }),
    downloadUrl,
    sha256: p.sha256,
    ...(license === undefined ? {} : { license }),
    dependsOn: p.dependsOn,
  };
}
