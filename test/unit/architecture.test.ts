import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../helpers/repo-root.js';

// The folders' import rules (docs/architecture.md): the builder never imports a sink; sinks and
// sources never know Debian, layers, recipes or SBOMs; the OCI vocabulary depends on nothing of alba's.

const SRC = join(repoRoot(), 'src');

/** Folders each folder must not import from (oci/ and http/: see the allow-list below). */
const FORBIDDEN: Record<string, string[]> = {
  builder: ['sink', 'cli'],
  sink: ['debian', 'layer', 'recipe', 'sbom', 'builder', 'lock', 'cli', 'source'],
  source: ['debian', 'layer', 'recipe', 'sbom', 'builder', 'lock', 'cli', 'sink'],
  debian: ['sink', 'builder', 'cli', 'sbom', 'source'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** `[importing file, imported file]` for every relative import of src/, as paths relative to src/. */
function edges(): [string, string][] {
  return files(SRC).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(/(?:from|import\(?)\s*'(\.{1,2}\/[^']+)'/g)].map(
      (m) => [relative(SRC, file), relative(SRC, resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts')))] as [string, string],
    );
  });
}

const topFolder = (path: string): string => path.split('/')[0] as string;

describe('architecture', () => {
  const all = edges();

  test('the import scan sees the imports (so the rules below can fail)', () => {
    assert.ok(all.some(([from, to]) => from === 'builder/build.ts' && to === 'oci/graph.ts'));
    assert.ok(all.some(([from, to]) => from === 'cli/push.ts' && topFolder(to) === 'sink'));
  });

  for (const folder of ['oci', 'http']) {
    test(`${folder}/ imports nothing of alba's but errors.ts and util/`, () => {
      const bad = all.filter(([from, to]) => topFolder(from) === folder && ![folder, 'util', 'errors.ts'].includes(topFolder(to)));
      assert.deepEqual(
        bad.map(([from, to]) => `${from} -> ${to}`),
        [],
      );
    });
  }

  for (const [folder, forbidden] of Object.entries(FORBIDDEN)) {
    test(`${folder}/ imports none of ${forbidden.join(', ')}`, () => {
      const bad = all.filter(([from, to]) => topFolder(from) === folder && forbidden.includes(topFolder(to)));
      assert.deepEqual(
        bad.map(([from, to]) => `${from} -> ${to}`),
        [],
      );
    });
  }
});
