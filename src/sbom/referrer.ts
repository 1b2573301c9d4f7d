import { digestHex, digestOf, type Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import { isoSeconds } from './time.js';

/** Serialized JSON content with its descriptor. */
export interface JsonBlob {
  bytes: Buffer;
  descriptor: Descriptor;
}

/** The OCI 1.1 empty config descriptor: the two bytes `{}`, inlined as data. */
export const EMPTY_CONFIG = {
  mediaType: MediaType.empty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a' as Digest,
  size: 2,
  data: 'e30=',
} as const;

/** What an SBOM referrer is made of. */
export interface SbomReferrerInput {
  /** serializeSbom(…) bytes. */
  sbom: Uint8Array;
  /** Descriptor of the manifest or index the SBOM describes; only mediaType, digest and size are kept. */
  subject: Descriptor;
  /** SOURCE_DATE_EPOCH, in seconds. */
  created: number;
  /** Layer title, see sbomTitle(). */
  title: string;
}

/** The SBOM layer blob and the referrer manifest pointing at it. */
export interface SbomReferrer {
  sbom: JsonBlob;
  manifest: JsonBlob;
}

/** `<arch slug>.spdx.json` for a platform document, `index.spdx.json` for the index document. */
export function sbomTitle(archSlug?: string): string {
  return `${archSlug ?? 'index'}.spdx.json`;
}

/**
 * The OCI 1.1 artifact manifest that attaches an SPDX document to its subject: artifactType
 * application/spdx+json, the empty config, the document as the one layer, in canonical JSON.
 * The manifest descriptor carries artifactType and annotations, as referrers index entries do.
 */
export function sbomReferrer(input: SbomReferrerInput): SbomReferrer {
  const sbomBytes = Buffer.from(input.sbom);
  const sbomDescriptor: Descriptor = {
    mediaType: MediaType.spdx,
    digest: digestOf(sbomBytes),
    size: sbomBytes.length,
    annotations: { 'org.opencontainers.image.title': input.title },
  };
  const annotations = { 'org.opencontainers.image.created': isoSeconds(input.created) };
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    artifactType: MediaType.spdx,
    config: EMPTY_CONFIG,
    layers: [sbomDescriptor],
    subject: { mediaType: input.subject.mediaType, digest: input.subject.digest, size: input.subject.size },
    annotations,
  };
  const bytes = Buffer.from(JSON.stringify(manifest), 'utf8');
  return {
    sbom: { bytes: sbomBytes, descriptor: sbomDescriptor },
    manifest: {
      bytes,
      descriptor: { mediaType: MediaType.manifest, digest: digestOf(bytes), size: bytes.length, artifactType: MediaType.spdx, annotations },
    },
  };
}

/** The tag of the OCI referrers tag schema fallback for `subject`: `sha256-<hex>`. */
export function referrersTag(subject: Digest): string {
  return `sha256-${digestHex(subject)}`;
}

/**
 * The image index pushed under referrersTag() when a registry has no referrers API: the given
 * referrer descriptors (with artifactType and annotations), one per digest, sorted by digest.
 */
export function referrersIndex(referrers: Descriptor[]): JsonBlob {
  const byDigest = new Map<string, Descriptor>();
  for (const d of referrers) byDigest.set(d.digest, d);
  const manifests = [...byDigest.values()]
    .sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0))
    .map((d) => ({
      mediaType: d.mediaType,
      digest: d.digest,
      size: d.size,
      ...(d.artifactType === undefined ? {} : { artifactType: d.artifactType }),
      ...(d.annotations === undefined ? {} : { annotations: d.annotations }),
    }));
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.index, manifests }), 'utf8');
  return { bytes, descriptor: { mediaType: MediaType.index, digest: digestOf(bytes), size: bytes.length } };
}
