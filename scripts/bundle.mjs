// The CLI as CommonJS bundles (`npm run build`), which bin/alba.cjs runs through V8's code cache
// (src/cli/code-cache.ts; docs/architecture.md, "Start-up"):
// - dist/alba/alba.cjs: the CLI, from dist/src/cli/main.js;
// - dist/alba/vendor-<name>.cjs: each module of dist/src/vendor/ (the AWS SDK, OpenPGP.js) with
//   what it needs, required by alba.cjs only when a command uses it;
// - dist/alba/code-cache.cjs: the loader; dist/alba/warm.cjs: src/cli/warm-entry.ts, which
//   bin/alba.cjs runs first (a warm `alba build` answered before the CLI is loaded).
// Input: tsc's output, so tsc stays the type checker.
import { readdirSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
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
  // text V8 holds as one byte per character
  charset: 'ascii',
  // ES builds first where a package has both (the AWS SDK's dist-es): esbuild drops what alba never imports
  mainFields: ['module', 'main'],
  // warm-build.ts finds alba's code from its own URL (its code identity), version.ts package.json: the bundle's
  define: { 'import.meta.url': 'albaModuleUrl' },
  banner: { js: "const albaModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
};
/**
 * The bundles run as scripts (node:vm), where `import()` has no loader: a dynamic import of one of
 * Node's built-ins becomes a require of it, and any import of a module of dist/src/vendor/ a
 * require of its own bundle (./vendor-<name>.cjs, which bin/alba.cjs's loader runs).
 */
const requires = {
  name: 'requires',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'dynamic-import' && isBuiltin(args.path)) return { path: args.path, namespace: 'require' };
      const path = resolve(args.resolveDir, args.path);
      if (b.initialOptions.outfile.endsWith('/alba.cjs') && path.startsWith(vendorDir) && path.endsWith('.js'))
        return { path: `./vendor-${basename(path, '.js')}.cjs`, namespace: 'require' };
      return undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'require' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});` }));
    b.onResolve({ filter: /^\.\/vendor-[^/]+\.cjs$/, namespace: 'require' }, (args) => ({ path: args.path, external: true }));
  },
};

/** The bundles code-cache.ts runs: a function expression of CommonJS's parameters, compiled as is (no copy of the text wrapped). */
const asFunction = {
  banner: { js: `(function (exports, require, module, __filename, __dirname) {${common.banner.js}` },
  footer: { js: '})' },
};

/** Bundles `entry` into `outfile` (`run`: as code-cache.ts runs it); fails when an `import()` is left in it. */
async function bundle(entry, outfile, run = false) {
  const options = { ...common, ...(run ? asFunction : {}), entryPoints: [entry], outfile, plugins: [requires], metafile: true };
  const { metafile } = await build(options);
  for (const [out, { imports }] of Object.entries(metafile.outputs)) {
    const left = imports.filter((i) => i.kind === 'dynamic-import' && i.external).map((i) => i.path);
    if (left.length > 0) throw new Error(`${out}: import() of ${left.join(', ')} left in a bundle run as a script`);
  }
}

rmSync(outdir, { recursive: true, force: true });
await bundle(compiled('cli/main.js'), `${outdir}alba.cjs`, true);
for (const file of readdirSync(vendorDir).filter((f) => f.endsWith('.js'))) {
  await bundle(`${vendorDir}${file}`, `${outdir}vendor-${basename(file, '.js')}.cjs`, true);
}
await bundle(compiled('cli/code-cache.js'), `${outdir}code-cache.cjs`);
await bundle(compiled('cli/warm-entry.js'), `${outdir}warm.cjs`);
