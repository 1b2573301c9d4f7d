#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=20 --liftoff-only
// The bundle (dist/alba/, `npm run build`) unless a `tsc`-only rebuild left it older than dist/src.
// --max-semi-space-size=4 --heap-growing-percent=20: peak RSS under 128 MB (docs/architecture.md, "Peak RSS");
// --liftoff-only: WebAssembly (undici's HTTP parser, the xz decoder) is not recompiled by TurboFan,
// whose compile of the HTTP parser took ~30 MB for a moment and ~0.2 CPU-s in every push (same page).
// CommonJS, so that `alba build` with nothing changed is answered (dist/alba/warm.cjs,
// src/cli/warm-entry.ts) before Node's ESM loader starts; the CLI itself is ESM.
'use strict';
const { statSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const mtime = (path) => statSync(join(__dirname, path), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundle = '../dist/alba/alba.js';
const compiled = '../dist/src/cli/main.js';
const bundled = mtime(bundle) >= mtime(compiled);
/** True when warm.cjs answered; a bundle without it (a build of an older alba, cut short) leaves it to the CLI. */
function answered() {
  let warm;
  try {
    warm = require('../dist/alba/warm.cjs');
  } catch (err) {
    if (err?.code === 'MODULE_NOT_FOUND') return false;
    throw err;
  }
  return warm.answerWarmBuild(process.argv.slice(2));
}
if (!(bundled && process.argv.includes('build') && answered())) {
  import(pathToFileURL(join(__dirname, bundled ? bundle : compiled)).href);
}
