import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule.default;

/**
 * The folder of CycloneDX JSON schemas bundled with the pinned devDependency
 * @cyclonedx/cyclonedx-library (res/schema/), read where npm installed it: never copied here.
 */
export function cyclonedxSchemaDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')), 'res', 'schema');
}

let compiled: ValidateFunction | undefined;

/**
 * The CycloneDX 1.6 JSON schema (draft-07) compiled with ajv + ajv-formats, with the SPDX licence
 * id and JSF schemas it references registered under the names its `$ref`s use.
 */
export function cyclonedxSchemaValidator(): ValidateFunction {
  if (compiled === undefined) {
    const dir = cyclonedxSchemaDir();
    const read = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    // the two formats of the schema ajv-formats lacks (ajv-formats-draft2019 has them): checked loosely rather than ignored
    ajv.addFormat('iri-reference', /^[^\s<>"{}|\\^`]*$/u);
    ajv.addFormat('idn-email', /^[^\s@]+@[^\s@]+$/u);
    for (const name of ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json']) {
      ajv.addSchema({ ...read(name), $id: `http://cyclonedx.org/schema/${name}` });
    }
    compiled = ajv.compile(read('bom-1.6.SNAPSHOT.schema.json'));
  }
  return compiled;
}

interface Component {
  'bom-ref'?: string;
  components?: Component[];
}
interface Doc {
  specVersion?: string;
  metadata?: { component?: Component };
  components?: Component[];
  dependencies?: { ref: string; dependsOn?: string[] }[];
}

/**
 * Every problem of a CycloneDX 1.6 document: schema errors, then what the schema cannot say —
 * specVersion 1.6, every bom-ref unique, every dependency node and edge naming a bom-ref of the
 * document, at most one node per ref.
 */
export function cyclonedxProblems(doc: unknown): string[] {
  const validate = cyclonedxSchemaValidator();
  const problems = validate(doc) ? [] : (validate.errors ?? []).map((e) => `schema: ${e.instancePath} ${e.message ?? ''}`);
  const d = doc as Doc;
  if (d.specVersion !== '1.6') problems.push(`specVersion ${String(d.specVersion)}`);
  const refs: string[] = [];
  const walk = (c: Component): void => {
    if (c['bom-ref'] !== undefined) refs.push(c['bom-ref']);
    c.components?.forEach(walk);
  };
  if (d.metadata?.component !== undefined) walk(d.metadata.component);
  d.components?.forEach(walk);
  if (new Set(refs).size !== refs.length) problems.push('duplicate bom-refs');
  const known = new Set(refs);
  const nodes = (d.dependencies ?? []).map((n) => n.ref);
  if (new Set(nodes).size !== nodes.length) problems.push('several dependency nodes for one ref');
  for (const node of d.dependencies ?? []) {
    for (const ref of [node.ref, ...(node.dependsOn ?? [])]) if (!known.has(ref)) problems.push(`dependency names unknown ref ${ref}`);
  }
  return problems;
}
