import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ajvDraft04Module from 'ajv-draft-04';
import { schemasDir } from './schemas.js';

// ajv-draft-04 is CommonJS: under NodeNext its class is the `default` member of the default import.
const Ajv04 = ajvDraft04Module.default;
type Ajv04 = InstanceType<typeof Ajv04>;

/** The OCI image-spec v1.1.1 JSON schemas (see schemas.ts for where they are read from). */
const ociSchemaDir = (): string => join(schemasDir(), 'oci-image-spec-v1.1.1');

/** Schema files to validate each kind of document against. */
export const OciSchema = {
  manifest: 'image-manifest-schema.json',
  index: 'image-index-schema.json',
  config: 'config-schema.json',
  layout: 'image-layout-schema.json',
} as const;

let ajv: Ajv04 | undefined;

/**
 * Validates `value` against one OCI schema; returns the error list ([] when valid).
 * Every schema file of the folder is added first. Their `id`s (URLs that do not match the
 * relative `$ref` file names) are dropped, so each schema is known by its file name and
 * `$ref: "defs-descriptor.json#/…"` resolves to the file beside it.
 */
export function validateOci(schema: (typeof OciSchema)[keyof typeof OciSchema], value: unknown): string[] {
  ajv ??= loadSchemas();
  const validate = ajv.getSchema(schema);
  if (validate === undefined) throw new Error(`no OCI schema ${schema} in ${ociSchemaDir()}`);
  if (validate(value)) return [];
  return (validate.errors ?? []).map(
    (e: { instancePath: string; message?: string; params: unknown }) =>
      `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}

function loadSchemas(): Ajv04 {
  const instance = new Ajv04({ allErrors: true, strict: false, validateFormats: false });
  const dir = ociSchemaDir();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    instance.addSchema(dropIds(JSON.parse(readFileSync(join(dir, file), 'utf8'))) as object, file);
  }
  return instance;
}

function dropIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(dropIds);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'id' && typeof value === 'string') continue;
    out[key] = dropIds(value);
  }
  return out;
}
