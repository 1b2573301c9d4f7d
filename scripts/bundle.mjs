// The CLI as one bundle (`npm run build`): dist/alba/alba.js and the chunks of what it loads lazily
// (the AWS SDK, OpenPGP.js, …). Loading it takes a few file reads instead of ~250 module
// resolutions (docs/architecture.md, "Where the time goes"). bin/alba.js runs it unless tsc has
// written dist/src since. Input: tsc's output, so tsc stays the type checker.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const outdir = new URL('../dist/alba/', import.meta.url).pathname;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { alba: new URL('../dist/src/cli/main.js', import.meta.url).pathname },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  // the CommonJS packages of the bundle (undici, the AWS SDK) call require() for Node's built-ins
  banner: { js: "import { createRequire as albaCreateRequire } from 'node:module'; const require = albaCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
