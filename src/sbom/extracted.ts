import { createHash } from 'node:crypto';
import type { DeclaredLicense } from './types.js';

/** One `hasExtractedLicensingInfos` entry of an SPDX document. */
export interface ExtractedLicensingInfo {
  licenseId: string;
  name: string;
  extractedText: string;
}

/** Declared licences of a document's packages, with LicenseRef ids made unique across the document. */
export interface MergedLicenses {
  /** `licenseDeclared` per input licence, in input order; NOASSERTION for undefined. */
  declared: string[];
  /** Sorted by licenseId. */
  infos: ExtractedLicensingInfo[];
}

/**
 * Merges the LicenseRefs of several packages into one document.
 * Packages sharing a LicenseRef with the same text share one entry; when texts differ, every variant
 * is renamed `<id>-<first 8 hex of sha256(text)>` so the result does not depend on package order.
 */
export function mergeLicenses(licenses: (DeclaredLicense | undefined)[]): MergedLicenses {
  const texts = new Map<string, Set<string>>();
  for (const license of licenses) {
    for (const e of license?.extracted ?? []) texts.set(e.id, (texts.get(e.id) ?? new Set()).add(e.text));
  }
  const infos = new Map<string, ExtractedLicensingInfo>();
  const declared = licenses.map((license) => {
    if (license === undefined) return 'NOASSERTION';
    let expression = license.expression;
    for (const e of license.extracted) {
      const conflicting = (texts.get(e.id)?.size ?? 0) > 1;
      const id = conflicting ? `${e.id}-${createHash('sha256').update(e.text).digest('hex').slice(0, 8)}` : e.id;
      if (conflicting) expression = replaceRef(expression, e.id, id);
      infos.set(id, { licenseId: id, name: e.name, extractedText: e.text });
    }
    return expression;
  });
  const sorted = [...infos.values()].sort((a, b) => (a.licenseId < b.licenseId ? -1 : a.licenseId > b.licenseId ? 1 : 0));
  return { declared, infos: sorted };
}

/** Replaces whole-token occurrences of licence id `from` in an SPDX expression. */
function replaceRef(expression: string, from: string, to: string): string {
  const escaped = from.replace(/[.]/g, '\\.');
  return expression.replace(new RegExp(`(?<![A-Za-z0-9.-])${escaped}(?![A-Za-z0-9.-])`, 'g'), to);
}
