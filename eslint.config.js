// Lint rules of alba (`npm run lint`). Formatting is Prettier's (`npm run format`), not ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The folder import rules of docs/architecture.md (also checked by test/unit/architecture.test.ts). */
const FORBIDDEN = {
  builder: ['sink', 'cli'],
  sink: ['debian', 'layer', 'recipe', 'sbom', 'builder', 'lock', 'cli', 'source'],
  source: ['debian', 'layer', 'recipe', 'sbom', 'builder', 'lock', 'cli', 'sink'],
  oci: ['debian', 'layer', 'recipe', 'sbom', 'builder', 'lock', 'cli', 'sink', 'source', 'http'],
  http: ['debian', 'layer', 'recipe', 'sbom', 'builder', 'lock', 'cli', 'sink', 'source', 'oci'],
  debian: ['sink', 'builder', 'cli', 'sbom', 'source'],
};

const folderRules = Object.entries(FORBIDDEN).map(([folder, forbidden]) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: `^(\\.\\./)+(${forbidden.join('|')})/`,
            message: `src/${folder}/ must not import from ${forbidden.join(', ')} (docs/architecture.md)`,
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'snapshots/', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test()/describe() return promises the runner awaits itself
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always'],
    },
  },
  ...folderRules,
);
