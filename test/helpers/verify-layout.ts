import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { requireTool } from './tools.js';

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
}

/**
 * Checks an OCI layout without alba's own reader: `sha256sum` (coreutils) hashes every blob to its
 * file name, and every descriptor reachable from index.json (indexes, manifests, configs, layers,
 * subjects) names a blob that is there with that size. Throws an assertion error otherwise.
 */
export async function verifyLayoutExternally(dir: string): Promise<void> {
  requireTool('sha256sum');
  const blobs = join(dir, 'blobs', 'sha256');
  const names = (await readdir(blobs)).sort();
  const res = spawnSync('sha256sum', names, { cwd: blobs, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(res.status, 0, res.stderr);
  for (const line of res.stdout.trim().split('\n').filter(Boolean)) {
    const [hash, name] = line.split(/\s+\*?/);
    assert.equal(hash, name, `blobs/sha256/${name} hashes to ${hash}`);
  }
  const seen = new Set<string>();
  const visit = async (d: Descriptor): Promise<void> => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    const path = join(blobs, d.digest.replace(/^sha256:/, ''));
    assert.equal((await stat(path).catch(() => undefined))?.size, d.size, `${d.digest} (${d.mediaType}) is there with ${d.size} bytes`);
    if (!/manifest|index/.test(d.mediaType ?? '')) return;
    const doc = JSON.parse(await readFile(path, 'utf8')) as {
      manifests?: Descriptor[];
      config?: Descriptor;
      layers?: Descriptor[];
      subject?: Descriptor;
    };
    for (const child of [
      ...(doc.manifests ?? []),
      ...(doc.config === undefined ? [] : [doc.config]),
      ...(doc.layers ?? []),
      ...(doc.subject === undefined ? [] : [doc.subject]),
    ])
      await visit(child);
  };
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  for (const d of index.manifests) await visit(d);
}
