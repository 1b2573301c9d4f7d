// The CLI as CommonJS bundles (`npm run build`), which bin/alba.cjs runs through V8's code cache
// (src/cli/code-cache.ts; docs/architecture.md, "Start-up"):
// - dist/alba/alba.cjs: the CLI, from dist/src/cli/main.js;
// - dist/alba/vendor-<name>.cjs: each module of dist/src/vendor/ (the AWS SDK, OpenPGP.js) with
//   what it needs, required by alba.cjs only when a command uses it;
// - dist/alba/code-cache.cjs: the loader; dist/alba/warm.cjs: src/cli/warm-entry.ts, which
//   bin/alba.cjs runs first (a warm `alba build` answered before the CLI is loaded).
// alba.cjs is written last: bin/alba.cjs runs it only when it is newer than dist/src.
// Input: tsc's output, so tsc stays the type checker.
import { readdirSync, rmSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { build } from 'esbuild';

const outdir = new URL('../dist/alba/', import.meta.url).pathname;
const compiled = (path) => new URL(`../dist/src/${path}`, import.meta.url).pathname;
const vendorDir = compiled('vendor/');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
  // the bundles run as scripts (node:vm), where `import()` has no loader: esbuild makes each one a require
  supported: { 'dynamic-import': false },
  // text V8 holds as one byte per character
  charset: 'ascii',
  // ES builds first where a package has both (the AWS SDK's dist-es): esbuild drops what alba never imports
  mainFields: ['module', 'main'],
  // warm-build.ts finds alba's code from its own URL (its code identity), version.ts package.json: the bundle's
  define: { 'import.meta.url': 'albaModuleUrl' },
  // strict, as the ES modules it is made of (a "use strict" after another statement is no directive)
  banner: { js: `"use strict";const albaModuleUrl = require('node:url').pathToFileURL(__filename).href;` },
};
/** An import of a module of dist/src/vendor/ in the CLI becomes a require of that module's own bundle (./vendor-<name>.cjs). */
const vendorsApart = {
  name: 'vendors-apart',
  setup(b) {
    b.onResolve({ filter: /\/vendor\/[^/]+\.js$/ }, (args) => {
      const path = resolve(args.resolveDir, args.path);
      if (!path.startsWith(vendorDir)) return undefined;
      return { path: `./vendor-${basename(path, '.js')}.cjs`, namespace: 'vendor' };
    });
    b.onLoad({ filter: /.*/, namespace: 'vendor' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});` }));
    b.onResolve({ filter: /^\.\/vendor-[^/]+\.cjs$/, namespace: 'vendor' }, (args) => ({ path: args.path, external: true }));
  },
};

/** The bundles code-cache.ts runs: a function expression of CommonJS's parameters, compiled as is (no copy of the text wrapped). */
const asFunction = {
  banner: { js: `(function (exports, require, module, __filename, __dirname) {${common.banner.js}` },
  footer: { js: '})' },
};

rmSync(outdir, { recursive: true, force: true });
for (const file of readdirSync(vendorDir).filter((f) => f.endsWith('.js'))) {
  await build({ ...common, ...asFunction, entryPoints: [`${vendorDir}${file}`], outfile: `${outdir}vendor-${basename(file, '.js')}.cjs` });
}
await build({ ...common, entryPoints: [compiled('cli/code-cache.js')], outfile: `${outdir}code-cache.cjs` });
await build({ ...common, entryPoints: [compiled('cli/warm-entry.js')], outfile: `${outdir}warm.cjs` });
// last: bin/alba.cjs runs dist/src while this file is missing or older (a build cut short)
await build({ ...common, ...asFunction, entryPoints: [compiled('cli/main.js')], outfile: `${outdir}alba.cjs`, plugins: [vendorsApart] });
