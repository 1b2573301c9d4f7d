import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './repo-root.js';

/**
 * The folder of reference schemas (SPDX 2.3, OCI image-spec): `$ALBA_SCHEMAS_DIR` when set,
 * else `../shared/schemas` beside the repository. They are not copied into the repository.
 */
export function schemasDir(): string {
  return process.env.ALBA_SCHEMAS_DIR ?? join(repoRoot(), '..', 'shared', 'schemas');
}

const HOW =
  'set ALBA_SCHEMAS_DIR to a folder holding spdx-2.3.schema.json and oci-image-spec-v1.1.1/ (the SPDX and OCI image-spec JSON schemas), or put them in ../shared/schemas';

/**
 * True when the schemas can be read. When they are missing: with CI=true this throws (schema
 * checks must run in CI); otherwise it marks the test skipped with a message saying how to get
 * them, and returns false, so the caller leaves out only its schema assertions.
 */
export function schemasAvailable(t: { skip(message?: string): void }): boolean {
  const dir = schemasDir();
  if (existsSync(join(dir, 'spdx-2.3.schema.json')) && existsSync(join(dir, 'oci-image-spec-v1.1.1'))) return true;
  if (process.env.CI === 'true') throw new Error(`the reference schemas are required in CI but ${dir} has none: ${HOW}`);
  t.skip(`schema checks skipped: no schemas in ${dir}; ${HOW}`);
  return false;
}
