import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

// alba's own cache files (a cached resolution, a layer's record, mount hints, a scanned index)
// read when a FIFO or a device was planted in their place: no entry, or a corrupt one to fetch
// again, at once — never a read waiting for a writer. In a child with a timeout: a regression
// would hang a pool thread, and the test runner with it.

const dir = mkdtempSync(join(tmpdir(), 'alba-cache-specials-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('cache entries that are FIFOs or devices are no entries, at once', () => {
  const url = (path: string): string => JSON.stringify(new URL(`../../src/${path}`, import.meta.url).href);
  const script = `
    import { mkdirSync, symlinkSync } from 'node:fs';
    import { execFileSync } from 'node:child_process';
    import { dirname, join } from 'node:path';
    const { readResolution } = await import(${url('lock/resolution-cache.js')});
    const { readLayerRecord } = await import(${url('builder/layer-cache.js')});
    const { loadMountHints } = await import(${url('sink/registry/mount-hints.js')});
    const { openCachedTable, indexCachePath } = await import(${url('debian/index-cache.js')});
    const cache = ${JSON.stringify(dir)};
    const fifo = (path) => { mkdirSync(dirname(path), { recursive: true }); execFileSync('mkfifo', [path]); return path; };
    const zero = (path) => { mkdirSync(dirname(path), { recursive: true }); symlinkSync('/dev/zero', path); return path; };
    const out = [];
    for (const plant of [fifo, zero]) {
      const sub = join(cache, plant.name);
      const key = 'k'.repeat(64);
      plant(join(sub, 'resolutions', key + '.json'));
      out.push(String(await readResolution(sub, key)));
      out.push(String(await readLayerRecord(plant(join(sub, 'layers', 'x.json')), 1)));
      plant(join(sub, 'mounts', 'reg.example.json'));
      out.push((await loadMountHints(join(sub, 'mounts'), 'reg.example')).sources('sha256:' + 'a'.repeat(64), 'x').length);
      out.push(openCachedTable(sub, plant(indexCachePath(sub, 'b'.repeat(64))) && 'b'.repeat(64), 'where'));
    }
    console.log(out.join(' '));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(child.signal, null, `killed at its timeout: a read waited (${child.stderr})`);
  assert.equal(child.stdout.trim(), 'undefined undefined 0 corrupt undefined undefined 0 corrupt', child.stderr);
});

test('mount hints of another shape are no hints: a push using them neither fails nor mounts from them', async () => {
  const { loadMountHints } = await import('../../src/sink/registry/mount-hints.js');
  const mounts = join(dir, 'shapes');
  mkdirSync(mounts, { recursive: true });
  const digest = 'sha256:' + 'c'.repeat(64);
  for (const text of ['null', '"text"', '[]', `{"${digest}": "repo"}`, `{"${digest}": [1, "repo"]}`]) {
    writeFileSync(join(mounts, 'reg.example.json'), text);
    const hints = await loadMountHints(mounts, 'reg.example');
    assert.deepEqual(hints.sources(digest, 'other'), [], text);
    hints.record(digest, 'mine');
    await hints.save();
    assert.deepEqual((await loadMountHints(mounts, 'reg.example')).sources(digest, 'other'), ['mine'], text);
  }
});
