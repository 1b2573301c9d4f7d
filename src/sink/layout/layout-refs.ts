/** The `index.json` entries of an OCI layout (or archive) for tagged roots. */
import { AlbaError } from '../../errors.js';
import { blobBytes, MAX_MANIFEST_BYTES, type Blob } from '../../oci/graph.js';
import { Annotation, parseManifestJson } from '../../oci/manifest-json.js';
import { MediaType } from '../../oci/media-types.js';
import type { Descriptor, Platform } from '../../oci/types.js';

/** The ref name of one platform's manifest: `<tag>-<os>-<arch>[-<variant>]`. */
export function platformRefName(tag: string, platform: Platform): string {
  return [tag, platform.os, platform.architecture, ...(platform.variant === undefined ? [] : [platform.variant])].join('-');
}

/**
 * The refs of a tagged root: `<tag>` to the root and, when the root is an index, one
 * `<tag>-<os>-<arch>[-<variant>]` per platform manifest (umoci cannot unpack an index ref).
 */
export async function layoutRefs(tag: string, root: Blob): Promise<Descriptor[]> {
  const refs = [named(root.descriptor, tag)];
  if (root.descriptor.mediaType !== MediaType.index) return refs;
  const index = parseManifestJson(
    await blobBytes(root, MAX_MANIFEST_BYTES),
    (why) =>
      new AlbaError('LAYOUT_INVALID', `index ${root.descriptor.digest} cannot be read: ${why}`, {
        hint: 'the image index is corrupt; build it again',
      }),
  );
  const children = index.manifests ?? [];
  for (const child of children) {
    if (child.platform === undefined)
      throw new AlbaError('LAYOUT_INVALID', `manifest ${child.digest} has no platform, so it cannot get a per-platform ref`, {
        hint: 'give every entry of the image index a platform',
      });
    refs.push(named(child, platformRefName(tag, child.platform)));
  }
  return refs;
}

function named(d: Descriptor, name: string): Descriptor {
  return { ...d, annotations: { ...d.annotations, [Annotation.refName]: name } };
}
