import type { TargetArch } from '../debian/arch.js';
import type { UserFile } from '../layer/user-files.js';
import type { LayerBlob } from '../layer/layer-writer.js';
import { imageConfigBlob, type ConfigLayer } from '../oci/config.js';
import type { JsonBlob } from '../oci/json.js';
import { imageManifestBlob } from '../oci/manifest.js';
import type { Descriptor } from '../oci/types.js';
import type { LockedPackage } from '../lock/lock-types.js';
import type { Recipe } from '../recipe/types.js';
import { imageEnv, imageUser } from './image-settings.js';

/** The layers of one platform image, in order, with what each holds. */
export interface ImageLayers {
  packageGroups: { layer: LayerBlob; packages: LockedPackage[] }[];
  base: LayerBlob;
  /** True when the base layer holds a CA bundle. */
  caBundle: boolean;
  /** The layer of maintainer scripts' effects (alternatives, Java trust store), after the base layer. */
  maintainer?: { layer: LayerBlob; history: string };
  files?: { layer: LayerBlob; files: UserFile[] };
}

/** One platform image: its config and manifest blobs and its layers. */
export interface AssembledImage {
  arch: TargetArch;
  config: JsonBlob;
  manifest: JsonBlob;
  layers: LayerBlob[];
}

/** Writes the config (with a history line per layer) and the manifest of one platform image (pure). */
export function assembleImage(
  recipe: Recipe,
  arch: TargetArch,
  parts: ImageLayers,
  created: number,
  annotations: Record<string, string>,
): AssembledImage {
  const layers = [
    ...parts.packageGroups.map((g) => g.layer),
    parts.base,
    ...(parts.maintainer === undefined ? [] : [parts.maintainer.layer]),
    ...(parts.files === undefined ? [] : [parts.files.layer]),
  ];
  const history: ConfigLayer[] = [
    ...parts.packageGroups.map((g) => ({
      diffId: g.layer.diffId,
      createdBy: `alba: ${g.packages.map((p) => `${p.name} ${p.version}`).join(', ')}`,
    })),
    {
      diffId: parts.base.diffId,
      createdBy: `alba: base files (passwd, group, nsswitch.conf, tmp, homes${parts.caBundle ? ', CA bundle' : ''})`,
    },
    ...(parts.maintainer === undefined ? [] : [{ diffId: parts.maintainer.layer.diffId, createdBy: parts.maintainer.history }]),
    ...(parts.files === undefined ? [] : [{ diffId: parts.files.layer.diffId, createdBy: ownLayerHistory(parts.files.files, recipe) }]),
  ];
  const user = imageUser(recipe);
  const config = imageConfigBlob({
    created,
    platform: arch.platform,
    env: imageEnv(recipe, parts.caBundle),
    ...(user === undefined ? {} : { user }),
    ...(recipe.entrypoint === undefined ? {} : { entrypoint: recipe.entrypoint }),
    ...(recipe.cmd === undefined ? {} : { cmd: recipe.cmd }),
    ...(recipe.workdir === undefined ? {} : { workingDir: recipe.workdir }),
    labels: recipe.labels,
    ...(recipe.stopSignal === undefined ? {} : { stopSignal: recipe.stopSignal }),
    layers: history,
  });
  const manifest = imageManifestBlob({ config: config.descriptor, layers: layers.map(layerDescriptor), annotations }, arch.platform);
  return { arch, config, manifest, layers };
}

function layerDescriptor(layer: LayerBlob): Descriptor {
  return { mediaType: layer.mediaType, digest: layer.digest, size: layer.size };
}

/** The history line of the image's own layer: `alba: files /usr/bin/app paths symlink /bin/sh …`. */
function ownLayerHistory(files: readonly { dst: string }[], recipe: Recipe): string {
  const parts = [
    ...(files.length === 0 ? [] : [`files ${files.map((f) => f.dst).join(' ')}`]),
    ...(recipe.paths.length === 0 ? [] : [`paths ${recipe.paths.map((p) => `${p.type} ${p.path}`).join(' ')}`]),
  ];
  return `alba: ${parts.join(' ')}`;
}
