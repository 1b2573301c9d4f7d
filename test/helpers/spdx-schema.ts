import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { schemasDir } from './schemas.js';

const addFormats = addFormatsModule.default;

let compiled: ValidateFunction | undefined;

/** The SPDX 2.3 JSON schema (draft-07) compiled with ajv + ajv-formats. */
export function spdxSchemaValidator(): ValidateFunction {
  if (compiled === undefined) {
    const schema = JSON.parse(readFileSync(join(schemasDir(), 'spdx-2.3.schema.json'), 'utf8')) as object;
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    compiled = ajv.compile(schema);
  }
  return compiled;
}

interface Doc {
  SPDXID?: string;
  packages?: { SPDXID: string; licenseDeclared?: string; licenseConcluded?: string }[];
  relationships?: { spdxElementId: string; relatedSpdxElement: string; relationshipType: string }[];
  externalDocumentRefs?: { externalDocumentId: string }[];
  hasExtractedLicensingInfos?: { licenseId: string }[];
}

/**
 * Every problem of an SPDX 2.3 document: schema errors, then what the schema cannot say — SPDXIDs
 * well-formed and unique, relationships pointing at elements of this document or of a declared
 * DocumentRef, every LicenseRef used defined in hasExtractedLicensingInfos, a DESCRIBES relationship.
 */
export function spdxProblems(doc: unknown): string[] {
  const validate = spdxSchemaValidator();
  const problems = validate(doc) ? [] : (validate.errors ?? []).map((e) => `schema: ${e.instancePath} ${e.message ?? ''}`);
  const d = doc as Doc;
  const ids = [d.SPDXID ?? '', ...(d.packages ?? []).map((p) => p.SPDXID)];
  for (const id of ids) if (!/^SPDXRef-[A-Za-z0-9.-]+$/.test(id)) problems.push(`bad SPDXID ${id}`);
  if (new Set(ids).size !== ids.length) problems.push('duplicate SPDXIDs');
  const docRefs = new Set((d.externalDocumentRefs ?? []).map((r) => r.externalDocumentId));
  for (const ref of docRefs) if (!/^DocumentRef-[A-Za-z0-9.+-]+$/.test(ref)) problems.push(`bad externalDocumentId ${ref}`);
  const known = (id: string): boolean => {
    const colon = id.indexOf(':');
    return colon === -1 ? ids.includes(id) : docRefs.has(id.slice(0, colon)) && /^SPDXRef-[A-Za-z0-9.-]+$/.test(id.slice(colon + 1));
  };
  for (const r of d.relationships ?? []) {
    if (!known(r.spdxElementId) || !known(r.relatedSpdxElement)) problems.push(`dangling relationship ${JSON.stringify(r)}`);
  }
  if (!(d.relationships ?? []).some((r) => r.spdxElementId === 'SPDXRef-DOCUMENT' && r.relationshipType === 'DESCRIBES')) {
    problems.push('no DESCRIBES relationship');
  }
  const defined = new Set((d.hasExtractedLicensingInfos ?? []).map((e) => e.licenseId));
  for (const p of d.packages ?? []) {
    for (const ref of `${p.licenseDeclared ?? ''} ${p.licenseConcluded ?? ''}`.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? []) {
      if (!defined.has(ref)) problems.push(`${p.SPDXID}: ${ref} has no extracted licensing info`);
    }
  }
  return problems;
}
