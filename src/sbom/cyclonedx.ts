/**
 * CycloneDX 1.6 documents beside the SPDX ones, from the same facts (ImageSbomInput): the same
 * packages, purls and DEP-5 licences (mergeLicenses, so LicenseRef ids match the SPDX document),
 * each .deb's sha256 and URL, the Depends graph. Written by hand rather than with
 * @cyclonedx/cyclonedx-library (7 MB, optional peers for purls and licences) so that the same
 * input gives the same bytes: members in a fixed order, components sorted, the timestamp is
 * SOURCE_DATE_EPOCH and the serialNumber is derived from the image name and digest.
 */
import { createHash } from 'node:crypto';
import { archSlug, type TargetArch } from '../debian/arch.js';
import { rfc3339 } from '../oci/config.js';
import type { Digest } from '../oci/digest.js';
import { digestHex } from '../oci/digest.js';
import { platformString } from '../oci/manifest-json.js';
import type { CdxComponent, CdxDependency, CdxDocument, CdxProperty } from './cyclonedx-model.js';
import { mergeLicenses } from './extracted.js';
import { ociPurl, packagePurl } from './purl.js';
import type { ImageSbomInput, IndexSbomInput, ManifestRef, SbomImageName, SbomPackage } from './types.js';

/** One platform image of an index, with the bytes of its serialized CycloneDX document. */
export interface IndexCdxImage {
  arch: TargetArch;
  manifest: ManifestRef;
  /** serializeCyclonedx(imageCyclonedx(…)) of this image. */
  bom: Uint8Array;
}

/** Everything the CycloneDX document of a multi-arch index is built from. */
export type IndexCdxInput = Omit<IndexSbomInput, 'images'> & { images: IndexCdxImage[] };

/**
 * The CycloneDX 1.6 document of one platform image. metadata.component is the image (its name,
 * its tag or else its digest as version, the manifest digest as SHA-256, its oci purl); each Debian
 * package is a component (bom-ref = its purl) with the .deb's SHA-256, its download URL, the
 * declared DEP-5 licence expression and its source package; recipe files are `file` components;
 * `dependencies` has the image depending on every component and each package on the packages that
 * satisfied its Depends/Pre-Depends.
 */
export function imageCyclonedx(input: ImageSbomInput): CdxDocument {
  const debs = [...input.packages].sort(comparePackages);
  const files = [...input.files].sort((a, b) => compareText(a.path, b.path));
  const licenses = mergeLicenses(debs.map((p) => p.license));
  const purls = debs.map((p) => packagePurl(p, input.distro));
  const debRefs = uniqueRefs(purls);
  const debComponents = debs.map((p, i): CdxComponent => {
    const declared = licenses.declared[i] as string;
    const supplier = supplierOf(p.maintainer);
    return {
      type: componentType(p),
      'bom-ref': debRefs[i] as string,
      ...(supplier === undefined ? {} : { supplier }),
      name: p.name,
      version: p.version,
      hashes: [sha256(p.sha256)],
      ...(declared === 'NOASSERTION' ? {} : { licenses: [{ expression: declared, acknowledgement: 'declared' as const }] }),
      purl: purls[i] as string,
      externalReferences: [{ type: 'distribution', url: p.downloadUrl, hashes: [sha256(p.sha256)] }],
      properties: [
        { name: 'alba:deb:architecture', value: p.architecture },
        { name: 'alba:deb:source', value: `${p.source} ${p.sourceVersion}` },
      ],
    };
  });
  const fileRefs = uniqueRefs(files.map((f) => `file:${f.path}`));
  const fileComponents = files.map((f, i): CdxComponent => ({
    type: 'file',
    'bom-ref': fileRefs[i] as string,
    name: f.path,
    hashes: [sha256(f.sha256)],
  }));
  const image = ociComponent(input, input.manifest.digest, input.arch.platform.architecture);
  const dependencies: CdxDependency[] = [
    { ref: image['bom-ref'], dependsOn: sorted([...debRefs, ...fileRefs]) },
    ...debDependencies(debs, debRefs),
  ];
  return document(input, input.manifest.digest, image, [...debComponents, ...fileComponents], dependencies, [
    { name: 'alba:oci:platform', value: platformString(input.arch.platform) },
  ]);
}

/**
 * The CycloneDX 1.6 document of a multi-arch index: metadata.component is the index, each platform
 * image a `container` component linking to its own document by BOM-Link (`urn:cdx:<serial>/1`,
 * with the SHA-256 of that document's bytes); the index depends on each image.
 */
export function indexCyclonedx(input: IndexCdxInput): CdxDocument {
  const images = [...input.images].sort((a, b) => compareText(a.arch.name, b.arch.name));
  const index = ociComponent(input, input.index.digest);
  const components = images.map((img): CdxComponent => {
    const component = ociComponent(input, img.manifest.digest, img.arch.platform.architecture);
    return {
      ...component,
      'bom-ref': `${component['bom-ref']}#${archSlug(img.arch)}`,
      version: img.manifest.digest,
      externalReferences: [
        {
          type: 'bom',
          url: `urn:cdx:${serialUuid(input.name, img.manifest.digest)}/1`,
          hashes: [sha256(createHash('sha256').update(img.bom).digest('hex'))],
        },
      ],
      properties: [{ name: 'alba:oci:platform', value: platformString(img.arch.platform) }],
    };
  });
  const dependencies: CdxDependency[] = [{ ref: index['bom-ref'], dependsOn: sorted(components.map((c) => c['bom-ref'])) }];
  return document(input, input.index.digest, index, components, dependencies, []);
}

/** The bytes of a CycloneDX document as stored and hashed: 2-space indented JSON and a final newline. */
export function serializeCyclonedx(doc: CdxDocument): Buffer {
  return Buffer.from(`${JSON.stringify(doc, null, 2)}\n`, 'utf8');
}

/** The UUID of the document describing `digest` of image `name`: the first 128 bits of a SHA-256, as an RFC 9562 version 8 UUID. */
export function serialUuid(name: string, digest: Digest): string {
  const hex = createHash('sha256').update(`alba cyclonedx\0${name}\0${digest}`).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function document(
  naming: SbomImageName,
  digest: Digest,
  component: CdxComponent,
  components: CdxComponent[],
  dependencies: CdxDependency[],
  properties: CdxProperty[],
): CdxDocument {
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${serialUuid(naming.name, digest)}`,
    version: 1,
    metadata: {
      timestamp: rfc3339(naming.created),
      tools: { components: [{ type: 'application', name: 'alba', version: naming.toolVersion }] },
      component,
      ...(properties.length === 0 ? {} : { properties }),
    },
    components,
    dependencies,
  };
}

/** The component of an OCI index or image: version is the tag, else the digest; the digest is its SHA-256 and in its purl. */
function ociComponent(naming: SbomImageName, digest: Digest, arch?: string): CdxComponent {
  const purl = ociPurl({
    name: naming.name,
    digest,
    ...(arch === undefined ? {} : { arch }),
    ...(naming.tag === undefined ? {} : { tag: naming.tag }),
    ...(naming.repositoryUrl === undefined ? {} : { repositoryUrl: naming.repositoryUrl }),
  });
  return {
    type: 'container',
    'bom-ref': purl,
    name: naming.name,
    version: naming.tag ?? digest,
    hashes: [sha256(digestHex(digest))],
    purl,
  };
}

/** Each package's node: the refs of the packages that satisfied its Depends (itself left out); a name the image lacks is an internal error. */
function debDependencies(debs: SbomPackage[], refs: string[]): CdxDependency[] {
  const byName = new Map<string, string[]>();
  debs.forEach((p, i) => byName.set(p.name, [...(byName.get(p.name) ?? []), refs[i] as string]));
  return debs.map((p, i) => {
    const targets = [...new Set(p.dependsOn)].flatMap((dep) => {
      const found = byName.get(dep);
      if (found === undefined) throw new Error(`SBOM: ${p.name} depends on ${dep}, which is not in the image`);
      return found.filter((t) => t !== refs[i]);
    });
    return { ref: refs[i] as string, dependsOn: sorted([...new Set(targets)]) };
  });
}

/** The package's purpose as a CycloneDX type: base-files → operating-system, lib* → library, else application (SPDX: OTHER → library). */
function componentType(p: SbomPackage): CdxComponent['type'] {
  switch (p.purpose) {
    case 'OPERATING_SYSTEM':
      return 'operating-system';
    case 'APPLICATION':
      return 'application';
    case 'LIBRARY':
    case 'OTHER':
      return 'library';
    default:
      if (p.name === 'base-files') return 'operating-system';
      return p.name.startsWith('lib') ? 'library' : 'application';
  }
}

/** The Maintainer field as an organizational entity: its name, and its address as contact. */
function supplierOf(maintainer: string | undefined): CdxComponent['supplier'] {
  if (maintainer === undefined || maintainer.trim() === '') return undefined;
  const match = /^(.*?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(maintainer.trim());
  if (match === null) return { name: maintainer.trim() };
  return { name: (match[1] as string).trim() || (match[2] as string), contact: [{ email: match[2] as string }] };
}

/** The refs as given, with `#2`, `#3`… on repeats so every bom-ref is unique. */
function uniqueRefs(refs: string[]): string[] {
  const seen = new Map<string, number>();
  return refs.map((ref) => {
    const n = (seen.get(ref) ?? 0) + 1;
    seen.set(ref, n);
    return n === 1 ? ref : `${ref}#${n}`;
  });
}

function sha256(hex: string): { alg: 'SHA-256'; content: string } {
  return { alg: 'SHA-256', content: hex };
}

function sorted(values: string[]): string[] {
  return [...values].sort(compareText);
}

function comparePackages(a: SbomPackage, b: SbomPackage): number {
  return compareText(a.name, b.name) || compareText(a.architecture, b.architecture) || compareText(a.version, b.version);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
