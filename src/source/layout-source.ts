/**
 * An OCI image layout read into the graph: the root one ref of index.json names, its platform
 * manifests with their config and layers, and every referrer stored in the layout whose subject
 * is one of them (listed in index.json, or only present as a blob, as `alba build` stores them).
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AlbaError } from '../errors.js';
import { digestOf, isDigest, parseDigest, type Digest } from '../oci/digest.js';
import { fileBlob, MAX_MANIFEST_BYTES, type Blob, type ImageGraph, type ManifestNode, type Referrer } from '../oci/graph.js';
import { readLayout, REF_NAME, type OciLayout } from '../oci/layout-reader.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';

/** A layout read as a graph, with the ref name its root has in index.json. */
export interface LayoutGraph {
  graph: ImageGraph;
  /** The ref name of the root, when it has one. */
  ref?: string;
}

interface ManifestJson {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
}

const INDEX_TYPES: ReadonlySet<string> = new Set([MediaType.index, MediaType.dockerManifestList]);
const IMAGE_TYPES: ReadonlySet<string> = new Set([MediaType.manifest, MediaType.dockerManifest]);

/**
 * Reads the layout in `dir` as a graph. The root is the index.json entry named `ref`; without
 * `ref`, the one image index (or, failing that, the one entry) of index.json. Per-platform refs
 * that point inside that index are not roots. Every manifest read is checked against its digest.
 */
export async function readLayoutGraph(dir: string, ref?: string): Promise<LayoutGraph> {
  const layout = await readLayout(dir);
  const entry = selectRoot(layout, ref);
  const refName = entry.annotations?.[REF_NAME];
  const root = strip(entry);
  const rootJson = await readManifest(layout, root);
  const images: ManifestNode[] = INDEX_TYPES.has(root.mediaType)
    ? await Promise.all((rootJson.manifests ?? []).map(async (child) => imageNode(layout, child, await readManifest(layout, child))))
    : [imageNode(layout, root, rootJson)];
  const subjects = new Map([root, ...images.map((i) => i.manifest.descriptor)].map((d) => [d.digest as string, d]));
  return {
    graph: { root: blobOf(layout, root), images, referrers: await findReferrers(layout, subjects) },
    ...(refName === undefined ? {} : { ref: refName }),
  };
}

function selectRoot(layout: OciLayout, ref: string | undefined): Descriptor {
  const entries = layout.index.manifests;
  const names = entries.map((d) => d.annotations?.[REF_NAME]).filter((n): n is string => n !== undefined);
  if (ref !== undefined) {
    const found = layout.findRef(ref);
    if (found === undefined) throw new AlbaError('USAGE', `${layout.dir} has no ref ${JSON.stringify(ref)}`, { hint: `its refs: ${names.join(', ') || '(none)'}` });
    return found;
  }
  const indexes = unique(entries.filter((d) => INDEX_TYPES.has(d.mediaType) && d.artifactType === undefined));
  const candidates = indexes.length > 0 ? indexes : unique(entries.filter((d) => d.artifactType === undefined));
  if (candidates.length === 1) return candidates[0] as Descriptor;
  throw new AlbaError('USAGE', candidates.length === 0 ? `${layout.dir} holds no image` : `${layout.dir} holds several images (${names.join(', ')})`, {
    hint: candidates.length === 0 ? 'build one with `alba build`' : 'name the one to push with --ref TAG',
  });
}

function imageNode(layout: OciLayout, descriptor: Descriptor, manifest: ManifestJson): ManifestNode {
  if (!IMAGE_TYPES.has(descriptor.mediaType) || manifest.config === undefined) {
    throw invalid(layout, `${descriptor.digest} (${descriptor.mediaType}) is not an image manifest; nested indexes are not supported`);
  }
  return { manifest: blobOf(layout, descriptor), blobs: [manifest.config, ...(manifest.layers ?? [])].map((d) => blobOf(layout, d)) };
}

/** Referrers of `subjects`: index.json entries and blobs that are manifests with such a `subject`. */
async function findReferrers(layout: OciLayout, subjects: Map<string, Descriptor>): Promise<Referrer[]> {
  const found = new Map<string, Referrer>();
  for (const candidate of await smallBlobs(layout)) {
    let json: ManifestJson;
    try {
      json = JSON.parse((await layout.readBlob(candidate.digest)).toString('utf8')) as ManifestJson;
    } catch {
      continue;
    }
    const subject = json.subject === undefined ? undefined : subjects.get(json.subject.digest);
    if (subject === undefined || json.mediaType !== MediaType.manifest || json.config === undefined) continue;
    const descriptor: Descriptor = {
      mediaType: MediaType.manifest,
      digest: candidate.digest,
      size: candidate.size,
      ...(json.artifactType ?? json.config.mediaType ? { artifactType: json.artifactType ?? json.config.mediaType } : {}),
      ...((json as { annotations?: Record<string, string> }).annotations === undefined ? {} : { annotations: (json as { annotations: Record<string, string> }).annotations }),
    };
    found.set(candidate.digest, {
      manifest: blobOf(layout, descriptor),
      blobs: [json.config, ...(json.layers ?? [])].map((d) => blobOf(layout, d)),
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    });
  }
  return [...found.values()].sort((a, b) => (a.manifest.descriptor.digest < b.manifest.descriptor.digest ? -1 : 1));
}

/** Every blob of the layout small enough to be a manifest and starting like JSON (`{`), by name order. */
async function smallBlobs(layout: OciLayout): Promise<Descriptor[]> {
  const dir = join(layout.dir, 'blobs', 'sha256');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => isDigest(`sha256:${n}`)).sort();
  const found = await Promise.all(
    names.map(async (name): Promise<Descriptor | undefined> => {
      const file = await open(join(dir, name), 'r');
      try {
        const { size } = await file.stat();
        if (size > MAX_MANIFEST_BYTES || size < 2) return undefined;
        const head = Buffer.alloc(1);
        await file.read(head, 0, 1, 0);
        return head[0] === 0x7b ? { mediaType: MediaType.manifest, digest: `sha256:${name}` as Digest, size } : undefined;
      } finally {
        await file.close();
      }
    }),
  );
  return found.filter((d): d is Descriptor => d !== undefined);
}

async function readManifest(layout: OciLayout, d: Descriptor): Promise<ManifestJson> {
  if (d.size > MAX_MANIFEST_BYTES) throw invalid(layout, `manifest ${d.digest} has ${d.size} bytes, more than ${MAX_MANIFEST_BYTES}`);
  const bytes = await layout.readBlob(parseDigest(d.digest));
  if (bytes.length !== d.size || digestOf(bytes) !== d.digest) throw invalid(layout, `blob ${d.digest} does not match its descriptor (size ${d.size})`);
  try {
    return JSON.parse(bytes.toString('utf8')) as ManifestJson;
  } catch (cause) {
    throw invalid(layout, `manifest ${d.digest} is not JSON`, cause);
  }
}

function blobOf(layout: OciLayout, d: Descriptor): Blob {
  return fileBlob(d, layout.blobPath(parseDigest(d.digest)));
}

/** The descriptor without the layout's own ref-name annotation. */
function strip(d: Descriptor): Descriptor {
  const { [REF_NAME]: _ref, ...rest } = d.annotations ?? {};
  const { annotations: _a, ...plain } = d;
  return Object.keys(rest).length === 0 ? plain : { ...plain, annotations: rest };
}

function unique(entries: Descriptor[]): Descriptor[] {
  return [...new Map(entries.map((d) => [d.digest, d])).values()];
}

function invalid(layout: OciLayout, detail: string, cause?: unknown): AlbaError {
  return new AlbaError('LAYOUT_INVALID', `${layout.dir} is not a valid OCI layout: ${detail}`, { hint: 'rebuild the layout with `alba build`', cause });
}
