/**
 * An OCI image layout read into the graph: the root one ref of index.json names, its platform
 * manifests with their config and layers, and every referrer stored in the layout whose subject
 * is one of them (listed in index.json, or only present as a blob, as `alba build` stores them).
 */
import { statSync } from 'node:fs';
import { AlbaError } from '../errors.js';
import { parseDigest } from '../oci/digest.js';
import { fileBlob, type Blob, type ImageGraph, type ManifestNode, type Referrer } from '../oci/graph.js';
import { Annotation, IMAGE_MEDIA_TYPES, INDEX_MEDIA_TYPES, type ManifestJson } from '../oci/manifest-json.js';
import type { Descriptor } from '../oci/types.js';
import { mapLimit } from '../util/map-limit.js';
import { invalid, readLayout, selectRoot, type OciLayout } from './oci-layout.js';

/** Platform manifests read at once. */
const MANIFESTS_AT_ONCE = 8;

/** A layout read as a graph, with the ref name its root has in index.json. */
export interface LayoutGraph {
  graph: ImageGraph;
  /** The ref name of the root, when it has one. */
  ref?: string;
}

/**
 * Reads the layout in `dir` as a graph. The root is the index.json entry named `ref`; without
 * `ref`, the one image index (or, failing that, the one entry) of index.json. Per-platform refs
 * that point inside that index are not roots. Every manifest read is checked against its digest.
 */
export async function readLayoutGraph(dir: string, ref?: string): Promise<LayoutGraph> {
  const layout = await readLayout(dir);
  const entry = selectRoot(layout, ref);
  const refName = entry.annotations?.[Annotation.refName];
  const root = strip(entry);
  const rootJson = await layout.readManifest(root);
  const images: ManifestNode[] = INDEX_MEDIA_TYPES.has(root.mediaType)
    ? // a few at a time: an index of thousands of entries opened them all at once (EMFILE)
      await mapLimit(rootJson.manifests ?? [], MANIFESTS_AT_ONCE, async (child) =>
        imageNode(layout, child, await layout.readManifest(child)),
      )
    : [imageNode(layout, root, rootJson)];
  const subjects = new Map([root, ...images.map((i) => i.manifest.descriptor)].map((d) => [d.digest as string, d]));
  const referrers: Referrer[] = (await layout.referrers())
    .filter((r) => subjects.has(r.manifest.subject.digest))
    .map((r) => {
      const subject = subjects.get(r.manifest.subject.digest) as Descriptor;
      return {
        manifest: blobOf(layout, r.descriptor),
        blobs: [r.manifest.config, ...(r.manifest.layers ?? [])].map((d) => sizedBlobOf(layout, d)),
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      };
    });
  return {
    graph: { root: blobOf(layout, root), images, referrers },
    ...(refName === undefined ? {} : { ref: refName }),
  };
}

function imageNode(layout: OciLayout, descriptor: Descriptor, manifest: ManifestJson): ManifestNode {
  if (!IMAGE_MEDIA_TYPES.has(descriptor.mediaType) || manifest.config === undefined) {
    throw invalid(layout.dir, `${descriptor.digest} (${descriptor.mediaType}) is not an image manifest; nested indexes are not supported`);
  }
  return {
    manifest: blobOf(layout, descriptor),
    blobs: [manifest.config, ...(manifest.layers ?? [])].map((d) => sizedBlobOf(layout, d)),
  };
}

/**
 * A config's or layer's blob, whose file (when the layout holds one) must have the size its
 * descriptor says: a sink that already holds the digest never reads the file (a registry, a
 * bucket), so a descriptor's wrong size would be published in a manifest that no client can pull.
 * A missing file, or one that is not a regular file or cannot be looked at, is reported when it is read, as before.
 */
function sizedBlobOf(layout: OciLayout, d: Descriptor): Blob {
  const blob = blobOf(layout, d);
  const path = layout.blobPath(parseDigest(d.digest));
  let info;
  try {
    info = statSync(path, { throwIfNoEntry: false });
  } catch {
    info = undefined; // ENOTDIR, EACCES, ELOOP: as a missing file
  }
  if (info?.isFile() === true && info.size !== d.size)
    throw new AlbaError('SIZE_MISMATCH', `${path}: its descriptor says ${d.size} bytes, the file has ${info.size}`, {
      hint: 'the layout is corrupt (a manifest names the blob with another size); rebuild it',
    });
  return blob;
}

function blobOf(layout: OciLayout, d: Descriptor): Blob {
  return fileBlob(d, layout.blobPath(parseDigest(d.digest)));
}

/** The descriptor without the layout's own ref-name annotation. */
function strip(d: Descriptor): Descriptor {
  const { [Annotation.refName]: _ref, ...rest } = d.annotations ?? {};
  const { annotations: _a, ...plain } = d;
  return Object.keys(rest).length === 0 ? plain : { ...plain, annotations: rest };
}
