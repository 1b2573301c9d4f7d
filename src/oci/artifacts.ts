/**
 * The referrers alba reads, and the one finder of them over any store (an OCI layout, a registry,
 * a static registry on S3) through a GraphReader (reachability.ts) that can also read blobs. A new
 * artifact type (another SBOM format, a signature, an attestation) is one more ArtifactKind here:
 * `alba sbom`-like reading finds it in every medium, and the layout sink writes its loose files.
 */
import { AlbaError } from '../errors.js';
import { digestOf, type Digest } from './digest.js';
import { Annotation, parseManifestJson, type ManifestJson } from './manifest-json.js';
import { MediaType } from './media-types.js';
import type { GraphReader } from './reachability.js';
import type { Descriptor } from './types.js';

/** A kind of referrer: its artifactType, the media type of its content layer, and where a layout keeps that layer as a loose file. */
export interface ArtifactKind {
  /** For messages: `SPDX SBOM`. */
  what: string;
  artifactType: string;
  layerMediaType: string;
  /** The layout directory (beside `blobs/`) that gets the layer as `<dir>/<title annotation>`, when the kind has loose files. */
  looseDir?: string;
}

/** The SPDX document attached to an image or index by `alba build`. */
export const SPDX_SBOM: ArtifactKind = {
  what: 'SPDX SBOM',
  artifactType: MediaType.spdx,
  layerMediaType: MediaType.spdx,
  looseDir: 'sbom',
};

/** The CycloneDX document attached beside the SPDX one by `alba build`. */
export const CYCLONEDX_SBOM: ArtifactKind = {
  what: 'CycloneDX SBOM',
  artifactType: MediaType.cyclonedx,
  layerMediaType: MediaType.cyclonedx,
  looseDir: 'sbom',
};

/** Every kind of referrer alba reads. */
export const ARTIFACT_KINDS: readonly ArtifactKind[] = [SPDX_SBOM, CYCLONEDX_SBOM];

/** The largest artifact layer (an SBOM document) alba reads into memory. */
export const MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;

/** A store read as a graph whose blobs can be read too. */
export interface ArtifactReader extends GraphReader {
  /** The whole blob `d` names (at most `max` bytes), checked against its digest; an error naming the store when it is missing or altered. */
  blob(d: Descriptor, max: number): Promise<Buffer>;
}

/** A referrer found: its descriptor, its manifest, and the layer of its kind. */
export interface FoundArtifact {
  descriptor: Descriptor;
  manifest: ManifestJson;
  layer: Descriptor;
}

/** Newest `org.opencontainers.image.created` first, then by digest: the order referrers are chosen in, in every medium. */
export function newestFirst(a: Descriptor, b: Descriptor): number {
  const ca = a.annotations?.[Annotation.created] ?? '';
  const cb = b.annotations?.[Annotation.created] ?? '';
  if (ca !== cb) return ca > cb ? -1 : 1;
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}

/** The layer of `kind` in a referrer manifest, when the manifest is one of that kind. */
export function artifactLayer(manifest: ManifestJson, kind: ArtifactKind): Descriptor | undefined {
  if (manifest.mediaType !== MediaType.manifest || (manifest.artifactType ?? manifest.config?.mediaType) !== kind.artifactType)
    return undefined;
  return manifest.layers?.find((l) => l.mediaType === kind.layerMediaType);
}

/**
 * The newest referrer of `kind` whose subject is `subject`: the store's referrers of that subject
 * (listed with another artifactType: passed over), each manifest read, checked against its digest
 * and read for its subject, type and layer; undefined when none is one.
 */
export async function findArtifact(reader: GraphReader, subject: Digest, kind: ArtifactKind): Promise<FoundArtifact | undefined> {
  const { entries } = await reader.referrers(subject, kind.artifactType);
  const candidates = entries
    .filter((d) => d.mediaType === MediaType.manifest && (d.artifactType === undefined || d.artifactType === kind.artifactType))
    .sort(newestFirst);
  for (const descriptor of candidates) {
    const digest = descriptor.digest as Digest;
    const bytes = await reader.manifest(digest);
    if (bytes === undefined) continue; // listed, but gone meanwhile
    if (digestOf(bytes) !== digest) throw reader.invalid(digest, `its content hashes to ${digestOf(bytes)}`);
    const manifest = parseManifestJson(bytes, (why) => reader.invalid(digest, why));
    const layer = artifactLayer(manifest, kind);
    if (manifest.subject?.digest === subject && layer !== undefined) return { descriptor, manifest, layer };
  }
  return undefined;
}

/** The content of a found artifact's layer (refused above MAX_ARTIFACT_BYTES before reading). */
export async function readArtifact(reader: ArtifactReader, found: FoundArtifact): Promise<Buffer> {
  if (found.layer.size > MAX_ARTIFACT_BYTES) {
    throw new AlbaError(
      'TOO_LARGE',
      `the layer ${found.layer.digest} of ${found.descriptor.digest} has ${found.layer.size} bytes, more than the ${MAX_ARTIFACT_BYTES} alba reads`,
      {
        hint: 'this is not a document alba wrote; read it with a registry tool',
      },
    );
  }
  return reader.blob(found.layer, MAX_ARTIFACT_BYTES);
}
