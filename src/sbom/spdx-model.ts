import { rfc3339 } from '../oci/config.js';
import type { PackagePurpose } from './types.js';

/** An SPDX 2.3 checksum. */
export interface SpdxChecksum {
  algorithm: 'SHA1' | 'SHA256';
  checksumValue: string;
}

/** An SPDX 2.3 package, with the fields alba writes. */
export interface SpdxPackage {
  name: string;
  SPDXID: string;
  versionInfo?: string;
  packageFileName?: string;
  supplier?: string;
  downloadLocation: string;
  filesAnalyzed: false;
  checksums?: SpdxChecksum[];
  sourceInfo?: string;
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: string;
  externalRefs?: { referenceCategory: 'PACKAGE-MANAGER'; referenceType: 'purl'; referenceLocator: string }[];
  primaryPackagePurpose: PackagePurpose;
  comment?: string;
}

/** An SPDX 2.3 relationship. */
export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: 'DESCRIBES' | 'CONTAINS' | 'DEPENDS_ON' | 'DESCRIBED_BY';
  relatedSpdxElement: string;
}

/** An SPDX 2.3 document as alba writes it. */
export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  externalDocumentRefs?: { externalDocumentId: string; spdxDocument: string; checksum: SpdxChecksum }[];
  packages: SpdxPackage[];
  hasExtractedLicensingInfos?: { licenseId: string; name: string; extractedText: string }[];
  relationships: SpdxRelationship[];
}

/** Where alba's SPDX document namespaces live; a document is `<base>/<image name>/<manifest or index digest hex>`. */
export const NAMESPACE_BASE = 'https://alba.dev/spdx';

/** Stable namespace of the document describing the manifest or index `digestHex` of image `name`. */
export function documentNamespace(name: string, digestHex: string): string {
  const path = name.split('/').map(encodeURIComponent).join('/');
  return `${NAMESPACE_BASE}/${path}/${digestHex}`;
}

/** The document's creation info: SOURCE_DATE_EPOCH as `YYYY-MM-DDThh:mm:ssZ`, alba as the tool. */
export function creationInfo(created: number, toolVersion: string): SpdxDocument['creationInfo'] {
  return { created: rfc3339(created), creators: [`Tool: alba-${toolVersion}`] };
}

/** An SPDX id body: every character outside [A-Za-z0-9.-] becomes `-`. */
export function sanitizeId(text: string): string {
  return text.replace(/[^A-Za-z0-9.-]/g, '-');
}

/**
 * `SPDXRef-<prefix>-<sanitized key>` for each key, in order; keys that sanitize to the same id get
 * `-2`, `-3`… in the given order, so ids stay unique and deterministic for a sorted input.
 */
export function assignIds(prefix: string, keys: string[]): string[] {
  const natural = keys.map((key) => `SPDXRef-${prefix}-${sanitizeId(key)}`);
  const counts = new Map<string, number>();
  for (const id of natural) counts.set(id, (counts.get(id) ?? 0) + 1);
  const used = new Set(natural.filter((id) => counts.get(id) === 1));
  return natural.map((id) => {
    if (counts.get(id) === 1) return id;
    let n = 1;
    while (used.has(`${id}-${n}`)) n++;
    used.add(`${id}-${n}`);
    return `${id}-${n}`;
  });
}

/** An SPDX agent from a Debian Maintainer field: `Organization: Team (list@…)` or `Person: Name (mail)`. */
export function supplierFromMaintainer(maintainer: string | undefined): string {
  if (maintainer === undefined || maintainer.trim() === '') return 'NOASSERTION';
  const match = /^(.*?)\s*<([^>]*)>\s*$/.exec(maintainer.trim());
  const name = (match?.[1] ?? maintainer).trim();
  const email = match?.[2]?.trim();
  const team =
    /\b(maintainers|team|group|developers|packagers|project)\b/i.test(name) ||
    (email !== undefined && /(@lists\.|^team\+|@tracker\.debian\.org$)/i.test(email));
  return `${team ? 'Organization' : 'Person'}: ${name}${email ? ` (${email})` : ''}`;
}

/** Orders relationships: DESCRIBES first, then by element, type and related element. */
export function compareRelationships(a: SpdxRelationship, b: SpdxRelationship): number {
  const key = (r: SpdxRelationship): string[] => [
    r.relationshipType === 'DESCRIBES' ? '0' : '1',
    r.spdxElementId,
    r.relationshipType,
    r.relatedSpdxElement,
  ];
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < ka.length; i++) {
    const x = ka[i] as string;
    const y = kb[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
