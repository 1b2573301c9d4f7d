import type { TargetArch } from '../debian/arch.js';
import type { Digest } from '../oci/digest.js';

/** A licence reference (`LicenseRef-…`) used in an expression, with the text SPDX requires for it. */
export interface ExtractedLicense {
  /** `LicenseRef-<[A-Za-z0-9.-]+>` */
  id: string;
  /** The name the copyright file used, e.g. `public-domain`. */
  name: string;
  /** The licence text from the copyright file. */
  text: string;
}

/** A package's declared licence: one SPDX expression plus the texts of its LicenseRefs. */
export interface DeclaredLicense {
  expression: string;
  extracted: ExtractedLicense[];
}

/** SPDX 2.3 `primaryPackagePurpose` values alba emits. */
export type PackagePurpose = 'APPLICATION' | 'LIBRARY' | 'OPERATING_SYSTEM' | 'CONTAINER' | 'FILE' | 'OTHER';

/** One Debian package installed in an image, as the SBOM records it. */
export interface SbomPackage {
  name: string;
  version: string;
  /** Debian architecture of the .deb (`amd64`, `all`…). */
  architecture: string;
  source: string;
  sourceVersion: string;
  /** The Maintainer field, `Name <email>`. */
  maintainer?: string;
  /** The exact URL the .deb was downloaded from. */
  downloadUrl: string;
  /** Hex sha256 of the .deb. */
  sha256: string;
  /** From the package's DEP-5 copyright file (parseDep5); undefined → NOASSERTION. */
  license?: DeclaredLicense | undefined;
  /** Names of packages of this image that satisfied its Depends/Pre-Depends. */
  dependsOn: string[];
  /** Overrides the default purpose (lib* → LIBRARY, base-files → OPERATING_SYSTEM, else APPLICATION). */
  purpose?: PackagePurpose;
  /** A note for readers (the SPDX package comment): what of the package's postinst alba made and did not make. */
  comment?: string;
}

/** A user file the recipe put into the image. */
export interface SbomFile {
  /** Absolute path inside the image. */
  path: string;
  /** Hex sha256 of the content. */
  sha256: string;
  /** A note for readers (the SPDX package comment), e.g. what alba made the file from. */
  comment?: string;
}

/** Digest and size of a manifest or index. */
export interface ManifestRef {
  digest: Digest;
  size: number;
}

/** Naming shared by image and index documents. */
export interface SbomImageName {
  /** alba's version, written as `Tool: alba-<version>`. */
  toolVersion: string;
  /** Image name, e.g. `ghcr.io/acme/app` (the purl name is its last segment, lowercased). */
  name: string;
  tag?: string | undefined;
  /** purl `repository_url` qualifier, e.g. `ghcr.io/acme/app`. */
  repositoryUrl?: string;
  /** SOURCE_DATE_EPOCH, in seconds. */
  created: number;
}

/** Everything the SPDX document of one platform image is built from. */
export interface ImageSbomInput extends SbomImageName {
  arch: TargetArch;
  manifest: ManifestRef;
  packages: SbomPackage[];
  files: SbomFile[];
  /** purl `distro` qualifier, e.g. `debian-12`. */
  distro: string;
}

/** One platform image of an index, with the bytes of its serialized SPDX document. */
export interface IndexSbomImage {
  arch: TargetArch;
  manifest: ManifestRef;
  /** serializeSbom(imageSbom(…)) of this image. */
  sbom: Uint8Array;
}

/** Everything the SPDX document of a multi-arch index is built from. */
export interface IndexSbomInput extends SbomImageName {
  index: ManifestRef;
  images: IndexSbomImage[];
}
