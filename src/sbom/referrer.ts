import { SPDX_SBOM, type ArtifactKind } from '../oci/artifacts.js';
import { rfc3339 } from '../oci/config.js';
import { digestOf } from '../oci/digest.js';
import type { JsonBlob } from '../oci/json.js';
import { Annotation } from '../oci/manifest-json.js';
import { artifactManifestBlob } from '../oci/manifest.js';
import type { Descriptor } from '../oci/types.js';

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
  /** SPDX_SBOM (the default) or CYCLONEDX_SBOM: the artifactType and layer media type. */
  kind?: ArtifactKind;
}

/** The SBOM layer blob and the referrer manifest pointing at it. */
export interface SbomReferrer {
  sbom: JsonBlob;
  manifest: JsonBlob;
}

/** `<arch slug>.spdx.json` for a platform document, `index.spdx.json` for the index document (`.cdx.json` for CycloneDX). */
export function sbomTitle(archSlug?: string, format: 'spdx' | 'cdx' = 'spdx'): string {
  return `${archSlug ?? 'index'}.${format}.json`;
}

/**
 * The OCI 1.1 artifact manifest that attaches an SBOM document to its subject: artifactType
 * application/spdx+json (or application/vnd.cyclonedx+json), the empty config, the document as the one layer, in canonical JSON.
 * The manifest descriptor carries artifactType and annotations, as referrers index entries do.
 */
export function sbomReferrer(input: SbomReferrerInput): SbomReferrer {
  const kind = input.kind ?? SPDX_SBOM;
  const sbomBytes = Buffer.from(input.sbom);
  const sbomDescriptor: Descriptor = {
    mediaType: kind.layerMediaType,
    digest: digestOf(sbomBytes),
    size: sbomBytes.length,
    annotations: { [Annotation.title]: input.title },
  };
  const manifest = artifactManifestBlob({
    artifactType: kind.artifactType,
    layers: [sbomDescriptor],
    subject: { mediaType: input.subject.mediaType, digest: input.subject.digest, size: input.subject.size },
    annotations: { [Annotation.created]: rfc3339(input.created) },
  });
  return { sbom: { bytes: sbomBytes, descriptor: sbomDescriptor }, manifest };
}
