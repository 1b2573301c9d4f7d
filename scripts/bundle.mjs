// The CLI as one bundle (`npm run build`): dist/alba/alba.js and the chunks of what it loads lazily
// (the AWS SDK, OpenPGP.js, …). Loading it takes a few file reads instead of ~250 module
// resolutions (docs/architecture.md, "Where the time goes"). bin/alba.cjs runs it unless tsc has
// written dist/src since. Input: tsc's output, so tsc stays the type checker.
// Beside it, dist/alba/warm.cjs: src/cli/warm-entry.ts as CommonJS, which bin/alba.cjs runs first
// (a warm `alba build` answered without Node's ESM loader).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const outdir = new URL('../dist/alba/', import.meta.url).pathname;
const compiled = (path) => new URL(`../dist/src/${path}`, import.meta.url).pathname;
const common = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning' };
rmSync(outdir, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: { alba: compiled('cli/main.js') },
  outdir,
  splitting: true,
  format: 'esm',
  chunkNames: 'chunk-[hash]',
  // ES builds first where a package has both (the AWS SDK's dist-es): esbuild drops the ~100 S3 commands alba never sends
  mainFields: ['module', 'main'],
  // the CommonJS packages of the bundle (undici, the AWS SDK) call require() for Node's built-ins
  banner: { js: "import { createRequire as albaCreateRequire } from 'node:module'; const require = albaCreateRequire(import.meta.url);" },
});
await build({
  ...common,
  entryPoints: [compiled('cli/warm-entry.js')],
  outfile: `${outdir}warm.cjs`,
  format: 'cjs',
  // warm-build.ts finds alba's code from its own URL (its code identity): this file's
  define: { 'import.meta.url': 'albaModuleUrl' },
  banner: { js: "const albaModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
