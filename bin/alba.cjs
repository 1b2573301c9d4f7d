#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4 --heap-growing-percent=20 --liftoff-only
// The bundle (dist/alba/, `npm run build`) unless a `tsc`-only rebuild left it older than dist/src.
// MALLOC_MMAP_THRESHOLD_=131072: glibc serves every block of 128 KiB or more with mmap, instead of
// raising that threshold to the largest block freed so far (compiling the bundle frees a few MB at
// once), after which a build's 1 MiB buffers fragment the heap (docs/architecture.md, "Peak RSS").
// --max-semi-space-size=4 --heap-growing-percent=20: peak RSS under 128 MB (docs/architecture.md, "Peak RSS");
// --liftoff-only: WebAssembly (undici's HTTP parser, the xz decoder) is not recompiled by TurboFan,
// whose compile of the HTTP parser took ~30 MB for a moment and ~0.2 CPU-s in every push (same page).
// `alba build` with nothing changed is answered by dist/alba/warm.cjs (src/cli/warm-entry.ts) before
// the CLI is loaded; the CLI's bundle runs through V8's code cache (dist/alba/code-cache.cjs,
// src/cli/code-cache.ts); a tsc-only rebuild (dist/src newer) runs as ES modules.
'use strict';
const { statSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const mtime = (path) => statSync(join(__dirname, path), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundle = '../dist/alba/alba.cjs';
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
if (!bundled) import(pathToFileURL(join(__dirname, compiled)).href);
else if (!(process.argv.includes('build') && answered())) {
  const { commandOf, loadBundle } = require('../dist/alba/code-cache.cjs');
  loadBundle(join(__dirname, bundle), commandOf(process.argv.slice(2)));
}
