import { archSlug, type TargetArch } from '../debian/arch.js';
import type { DebContent } from '../layer/deb-layer.js';
import type { Descriptor } from '../oci/types.js';
import type { LockedPackage } from '../lock/lock-types.js';
import { parseDep5 } from '../sbom/dep5.js';
import { CYCLONEDX_SBOM, SPDX_SBOM, type ArtifactKind } from '../oci/artifacts.js';
import { imageCyclonedx, indexCyclonedx, serializeCyclonedx } from '../sbom/cyclonedx.js';
import { sbomReferrer, sbomTitle, type SbomReferrer } from '../sbom/referrer.js';
import { imageSbom, indexSbom, serializeSbom } from '../sbom/spdx.js';
import type { DeclaredLicense, SbomFile, SbomImageName, SbomPackage } from '../sbom/types.js';

/** What the SBOM of one platform image is made from. */
export interface ImageSbomFacts {
  arch: TargetArch;
  manifest: Descriptor;
  packages: SbomPackage[];
  files: SbomFile[];
}

/** The SBOM referrers (document, referrer manifest, subject). */
export interface SbomArtifacts {
  referrers: (SbomReferrer & { subject: Descriptor })[];
}

/**
 * The SPDX 2.3 and the CycloneDX 1.6 document of every platform image and of the index, each
 * attached to its subject by an OCI 1.1 referrer manifest, its layer titled `<arch>.spdx.json` /
 * `index.spdx.json` and `<arch>.cdx.json` / `index.cdx.json` (the files a layout gets). SPDX
 * referrers come first, then CycloneDX ones, each platform then the index.
 */
export function sbomArtifacts(naming: SbomImageName, images: ImageSbomFacts[], index: Descriptor): SbomArtifacts {
  const referrers: SbomArtifacts['referrers'] = [];
  const attach = (bytes: Buffer, subject: Descriptor, title: string, kind: ArtifactKind): void => {
    referrers.push({ ...sbomReferrer({ sbom: bytes, subject, created: naming.created, title, kind }), subject });
  };
  const inputs = images.map((image) => ({ ...naming, ...image, distro: 'debian-12' }));
  const spdx = inputs.map((input) => {
    const bytes = serializeSbom(imageSbom(input));
    attach(bytes, input.manifest, sbomTitle(archSlug(input.arch)), SPDX_SBOM);
    return { arch: input.arch, manifest: input.manifest, sbom: bytes };
  });
  attach(serializeSbom(indexSbom({ ...naming, index, images: spdx })), index, sbomTitle(), SPDX_SBOM);
  const cdx = inputs.map((input) => {
    const bytes = serializeCyclonedx(imageCyclonedx(input));
    attach(bytes, input.manifest, sbomTitle(archSlug(input.arch), 'cdx'), CYCLONEDX_SBOM);
    return { arch: input.arch, manifest: input.manifest, bom: bytes };
  });
  attach(serializeCyclonedx(indexCyclonedx({ ...naming, index, images: cdx })), index, sbomTitle(undefined, 'cdx'), CYCLONEDX_SBOM);
  return { referrers };
}

/** Declared licences by copyright file text, for one build: a package's file is parsed once, not once per arch. */
export type LicenseMemo = Map<string, DeclaredLicense | undefined>;

/** The SBOM entry of a package; `downloadUrl` is where this build fetched it (the snapshot URL unless a mirror was used). */
export function sbomPackage(p: LockedPackage, content: DebContent, downloadUrl: string, licenses: LicenseMemo): SbomPackage {
  const { copyright } = content;
  if (copyright !== undefined && !licenses.has(copyright)) licenses.set(copyright, parseDep5(copyright));
  const license = copyright === undefined ? undefined : licenses.get(copyright);
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
