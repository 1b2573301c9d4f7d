import { createHash } from 'node:crypto';
import { archSlug } from '../debian/arch.js';
import { digestHex } from '../oci/digest.js';
import { platformString } from '../oci/manifest-json.js';
import { mergeLicenses } from './extracted.js';
import { ociPurl, packagePurl } from './purl.js';
import {
  assignIds,
  compareRelationships,
  creationInfo,
  documentNamespace,
  sanitizeId,
  supplierFromMaintainer,
  type SpdxDocument,
  type SpdxPackage,
  type SpdxRelationship,
} from './spdx-model.js';
import type { ImageSbomInput, IndexSbomInput, PackagePurpose, SbomPackage } from './types.js';

/** SPDXID of the image package in a per-platform document. */
export const IMAGE_SPDXID = 'SPDXRef-Image';
/** SPDXID of the index package in an index document. */
export const INDEX_SPDXID = 'SPDXRef-Index';

const NONE = 'NOASSERTION';

/**
 * The SPDX 2.3 document of one platform image.
 * Debian packages are SPDX packages (sorted by name, architecture, version) with purl, .deb URL and
 * sha256, source and DEP-5 licence; the recipe's files are packages of purpose FILE with their sha256
 * (SPDX File elements would require a SHA1). The image CONTAINS every package; each Debian package
 * DEPENDS_ON the packages that satisfied its Depends/Pre-Depends.
 */
export function imageSbom(input: ImageSbomInput): SpdxDocument {
  const debs = [...input.packages].sort(comparePackages);
  const files = [...input.files].sort((a, b) => compareText(a.path, b.path));
  const debIds = assignIds(
    'deb',
    debs.map((p) => `${p.name}-${p.architecture}`),
  );
  const fileIds = assignIds(
    'File',
    files.map((f) => f.path.replace(/^\/+/, '')),
  );
  const licenses = mergeLicenses(debs.map((p) => p.license));

  const imagePurl = ociPurl({ ...purlName(input), digest: input.manifest.digest, arch: input.arch.platform.architecture });
  const image = ociPackage(input.name, IMAGE_SPDXID, input.manifest.digest, imagePurl);
  const debPackages = debs.map((p, i): SpdxPackage => ({
    name: p.name,
    SPDXID: debIds[i] as string,
    versionInfo: p.version,
    supplier: supplierFromMaintainer(p.maintainer),
    downloadLocation: p.downloadUrl,
    filesAnalyzed: false,
    checksums: [{ algorithm: 'SHA256', checksumValue: p.sha256 }],
    sourceInfo: `built package from: ${p.source} ${p.sourceVersion}`,
    licenseConcluded: NONE,
    licenseDeclared: licenses.declared[i] as string,
    copyrightText: NONE,
    externalRefs: [purlRef(packagePurl(p, input.distro))],
    primaryPackagePurpose: p.purpose ?? defaultPurpose(p.name),
    ...(p.comment === undefined ? {} : { comment: p.comment }),
  }));
  const filePackages = files.map((f, i): SpdxPackage => ({
    name: f.path,
    SPDXID: fileIds[i] as string,
    packageFileName: f.path,
    downloadLocation: NONE,
    filesAnalyzed: false,
    checksums: [{ algorithm: 'SHA256', checksumValue: f.sha256 }],
    licenseConcluded: NONE,
    licenseDeclared: NONE,
    copyrightText: NONE,
    primaryPackagePurpose: 'FILE',
    ...(f.comment === undefined ? {} : { comment: f.comment }),
  }));

  const relationships: SpdxRelationship[] = [describes(IMAGE_SPDXID)];
  for (const pkg of [...debPackages, ...filePackages]) relationships.push(relation(IMAGE_SPDXID, 'CONTAINS', pkg.SPDXID));
  relationships.push(...dependencies(debs, debIds));

  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${imageLabel(input)} ${platformString(input.arch.platform)}`,
    documentNamespace: documentNamespace(input.name, digestHex(input.manifest.digest)),
    creationInfo: creationInfo(input.created, input.toolVersion),
    packages: [image, ...debPackages, ...filePackages],
    ...(licenses.infos.length > 0 ? { hasExtractedLicensingInfos: licenses.infos } : {}),
    relationships: relationships.sort(compareRelationships),
  };
}

/**
 * The SPDX 2.3 document of a multi-arch index: the index and each platform image as packages
 * (index CONTAINS image), and each image DESCRIBED_BY its per-platform document, referenced through
 * `externalDocumentRefs` (`DocumentRef-<arch slug>`, with the SHA1 of that document's bytes).
 */
export function indexSbom(input: IndexSbomInput): SpdxDocument {
  const images = [...input.images].sort((a, b) => compareText(a.arch.name, b.arch.name));
  const slugs = images.map((img) => sanitizeId(archSlug(img.arch)));
  const index = ociPackage(input.name, INDEX_SPDXID, input.index.digest, ociPurl({ ...purlName(input), digest: input.index.digest }));
  const imagePackages = images.map((img, i) => {
    const purl = ociPurl({ ...purlName(input), digest: img.manifest.digest, arch: img.arch.platform.architecture });
    return ociPackage(input.name, `SPDXRef-Image-${slugs[i]}`, img.manifest.digest, purl);
  });
  const externalDocumentRefs = images.map((img, i) => ({
    externalDocumentId: `DocumentRef-${slugs[i]}`,
    spdxDocument: namespaceOf(img.sbom),
    checksum: { algorithm: 'SHA1' as const, checksumValue: createHash('sha1').update(img.sbom).digest('hex') },
  }));
  const relationships: SpdxRelationship[] = [describes(INDEX_SPDXID)];
  imagePackages.forEach((pkg, i) => {
    relationships.push(relation(INDEX_SPDXID, 'CONTAINS', pkg.SPDXID));
    relationships.push(relation(pkg.SPDXID, 'DESCRIBED_BY', `DocumentRef-${slugs[i]}:SPDXRef-DOCUMENT`));
  });
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${imageLabel(input)} index`,
    documentNamespace: documentNamespace(input.name, digestHex(input.index.digest)),
    creationInfo: creationInfo(input.created, input.toolVersion),
    externalDocumentRefs,
    packages: [index, ...imagePackages],
    relationships: relationships.sort(compareRelationships),
  };
}

/** The bytes of an SPDX document as stored and hashed: 2-space indented JSON and a final newline. */
export function serializeSbom(doc: SpdxDocument): Buffer {
  return Buffer.from(`${JSON.stringify(doc, null, 2)}\n`, 'utf8');
}

/** The package of an OCI manifest or index; its version is the digest. */
function ociPackage(name: string, spdxId: string, digest: ImageSbomInput['manifest']['digest'], purl: string): SpdxPackage {
  return {
    name,
    SPDXID: spdxId,
    versionInfo: digest,
    downloadLocation: NONE,
    filesAnalyzed: false,
    checksums: [{ algorithm: 'SHA256', checksumValue: digestHex(digest) }],
    licenseConcluded: NONE,
    licenseDeclared: NONE,
    copyrightText: NONE,
    externalRefs: [purlRef(purl)],
    primaryPackagePurpose: 'CONTAINER',
  };
}

/** `a DEPENDS_ON b` for every resolved dependency; a name the image lacks is an internal error. */
function dependencies(debs: SbomPackage[], ids: string[]): SpdxRelationship[] {
  const byName = new Map<string, string[]>();
  debs.forEach((p, i) => byName.set(p.name, [...(byName.get(p.name) ?? []), ids[i] as string]));
  return debs.flatMap((p, i) =>
    [...new Set(p.dependsOn)].flatMap((dep) => {
      const targets = byName.get(dep);
      if (targets === undefined) throw new Error(`SBOM: ${p.name} depends on ${dep}, which is not in the image`);
      return targets.filter((t) => t !== ids[i]).map((t) => relation(ids[i] as string, 'DEPENDS_ON', t));
    }),
  );
}

/** lib* → LIBRARY, base-files → OPERATING_SYSTEM, anything else → APPLICATION. */
function defaultPurpose(name: string): PackagePurpose {
  if (name === 'base-files') return 'OPERATING_SYSTEM';
  return name.startsWith('lib') ? 'LIBRARY' : 'APPLICATION';
}

/** The documentNamespace of a serialized per-platform document. */
function namespaceOf(sbom: Uint8Array): string {
  const parsed = JSON.parse(Buffer.from(sbom).toString('utf8')) as { documentNamespace?: unknown };
  if (typeof parsed.documentNamespace !== 'string') throw new Error('SBOM: a platform document has no documentNamespace');
  return parsed.documentNamespace;
}

function purlName(input: ImageSbomInput | IndexSbomInput): { name: string; tag?: string | undefined; repositoryUrl?: string | undefined } {
  return { name: input.name, tag: input.tag, repositoryUrl: input.repositoryUrl };
}

function imageLabel(input: ImageSbomInput | IndexSbomInput): string {
  return input.tag === undefined ? input.name : `${input.name}:${input.tag}`;
}

function purlRef(locator: string): NonNullable<SpdxPackage['externalRefs']>[number] {
  return { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: locator };
}

function describes(spdxId: string): SpdxRelationship {
  return relation('SPDXRef-DOCUMENT', 'DESCRIBES', spdxId);
}

function relation(from: string, type: SpdxRelationship['relationshipType'], to: string): SpdxRelationship {
  return { spdxElementId: from, relationshipType: type, relatedSpdxElement: to };
}

function comparePackages(a: SbomPackage, b: SbomPackage): number {
  return compareText(a.name, b.name) || compareText(a.architecture, b.architecture) || compareText(a.version, b.version);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
