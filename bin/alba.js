#!/usr/bin/env -S node --max-semi-space-size=4
// The bundle (dist/alba/, `npm run build`) unless a `tsc`-only rebuild left it older than dist/src.
// --max-semi-space-size=4: peak RSS under 128 MB (docs/architecture.md, "Peak RSS").
import { statSync } from 'node:fs';

const mtime = (path) => statSync(new URL(path, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundle = '../dist/alba/alba.js';
const compiled = '../dist/src/cli/main.js';
await import(mtime(bundle) >= mtime(compiled) ? bundle : compiled);
