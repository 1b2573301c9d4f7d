import type { TargetArch } from '../debian/arch.js';
import type { DebContent, DebsLayer } from '../layer/deb-layer.js';
import type { BlobStore } from '../oci/blob-store.js';
import type { Digest } from '../oci/digest.js';
import type { LockedPackage } from '../lock/lock-types.js';
import { mapLimit } from '../util/map-limit.js';
import { packagesLayer, type PackagesLayerRequest } from './layer-cache.js';
import { planLayerGroups } from './layer-plan.js';
import type { Recipe } from '../recipe/types.js';
import { userFilesFor } from './user-files.js';

/** Package layers built at once: each is a pipeline of an xz process, the main thread (tar) and a zlib thread, so a few keep both cores busy. */
const LAYERS_AT_ONCE = 3;

/** One arch's packages and how they are grouped into layers. */
export interface ArchLayerPlan {
  arch: TargetArch;
  packages: LockedPackage[];
  groups: LockedPackage[][];
}

/** Every package layer of the build, and what each package holds (control, copyright, captured files). */
export interface PackageLayers {
  layerOf(group: LockedPackage[]): DebsLayer;
  contentOf(p: LockedPackage): DebContent;
}

/** Plans one arch's package layers within `budget` layers (see layer-plan.ts). */
export function planArchLayers(arch: TargetArch, packages: LockedPackage[], budget: number): ArchLayerPlan {
  return { arch, packages, groups: planLayerGroups(packages, budget) };
}

/** How many layers an arch's packages may take: `max-layers` less the base layer and, when there is one, the layer of the user's files and paths. */
export function packageLayerBudget(recipe: Recipe, arch: TargetArch): number {
  return recipe.maxLayers - 1 - (userFilesFor(recipe.files, arch).length === 0 && recipe.paths.length === 0 ? 0 : 1);
}

/** `name version (arch)`, naming a package in messages and progress. */
export function describePackage(p: LockedPackage): string {
  return `${p.name} ${p.version} (${p.architecture})`;
}

/**
 * Builds (or takes from the cache) each distinct layer group of every arch once — a group of
 * `Architecture: all` packages shared by all archs is built once — three at a time.
 */
export async function buildPackageLayers(
  plans: ArchLayerPlan[],
  store: BlobStore,
  cacheDir: string,
  sourceDateEpoch: number,
  debs: Pick<PackagesLayerRequest, 'fresh' | 'refetch' | 'log' | 'caCertificates'> & { onLayer?: (done: number, total: number) => void },
): Promise<PackageLayers> {
  const keyOf = (group: LockedPackage[]): string => group.map((p) => p.sha256).join(' ');
  const groups = new Map(plans.flatMap((plan) => plan.groups.map((g) => [keyOf(g), g] as const)));
  const layers = new Map<string, DebsLayer>();
  const contents = new Map<string, DebContent>();
  const copyrights = new Map<string, string>();
  const { onLayer, ...shared } = debs;
  let done = 0;
  // the largest first (by .deb bytes): a big layer started last would run alone at the end, on one core
  const bytes = (group: LockedPackage[]): number => group.reduce((n, p) => n + p.size, 0);
  await mapLimit(
    [...groups.entries()].sort(([a, ga], [b, gb]) => bytes(gb) - bytes(ga) || (a < b ? -1 : 1)),
    LAYERS_AT_ONCE,
    async ([key, group]) => {
      const layer = await packagesLayer(store, cacheDir, {
        debs: group.map((p) => ({
          debPath: store.path(`sha256:${p.sha256}` as Digest),
          debSha256: p.sha256,
          debSize: p.size,
          packageName: p.name,
          what: describePackage(p),
        })),
        sourceDateEpoch,
        ...shared,
      });
      onLayer?.(++done, groups.size);
      // a source's copyright file comes with each of its binary packages, in each arch's record
      // (perl's 220 kB, a dozen times for 4 archs): one copy of each text is kept for the build
      for (const content of layer.packages) if (content.copyright !== undefined) content.copyright = oneCopy(copyrights, content.copyright);
      layers.set(key, layer);
      group.forEach((p, i) => contents.set(p.sha256, layer.packages[i]!));
    },
  );
  return { layerOf: (group) => layers.get(keyOf(group))!, contentOf: (p) => contents.get(p.sha256)! };
}

/** The first of equal strings `seen` was given: the others are left for the garbage collector. */
function oneCopy(seen: Map<string, string>, text: string): string {
  const first = seen.get(text);
  if (first !== undefined) return first;
  seen.set(text, text);
  return text;
}
