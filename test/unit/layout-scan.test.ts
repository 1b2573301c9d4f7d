// The layout's referrer scan (source/oci-layout.ts): every blob that may be a referrer manifest
// is read, anything else among the blobs (a FIFO, a directory, a layer) is passed over without
// hanging or failing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { digestOf } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';

test('the referrer scan finds a referrer manifest and passes over a FIFO, a directory and a layer among the blobs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'alba-layout-scan-'));
  try {
    const blobs = join(dir, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.index, manifests: [] }));
    const empty = { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(Buffer.from('{}')), size: 2 };
    const subject = { mediaType: MediaType.manifest, digest: digestOf(Buffer.from('subject')), size: 7 };
    const referrer = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.manifest,
        artifactType: MediaType.spdx,
        config: empty,
        layers: [empty],
        subject,
      }),
    );
    await writeFile(join(blobs, digestOf(referrer).slice(7)), referrer);
    await writeFile(join(blobs, digestOf(Buffer.from('{}')).slice(7)), '{}');
    await writeFile(join(blobs, 'a'.repeat(64)), Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]));
    await mkdir(join(blobs, 'b'.repeat(64)));
    const fifo = join(blobs, 'c'.repeat(64));
    const made = spawnSync('mkfifo', [fifo]);
    assert.equal(made.status, 0, `mkfifo: ${made.stderr}`);
    // in a process of its own: a scan stuck on the FIFO is killed, and fails the test, rather than hanging the suite
    const scan = `const { readLayout } = await import(${JSON.stringify(new URL('../../src/source/oci-layout.js', import.meta.url).href)});
      const found = await (await readLayout(${JSON.stringify(dir)})).referrers();
      console.log(JSON.stringify(found.map((r) => [r.descriptor.digest, r.descriptor.artifactType, r.manifest.subject.digest])));`;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', scan], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(res.status, 0, `the scan ended (signal ${res.signal}): ${res.stderr}`);
    assert.deepEqual(JSON.parse(res.stdout), [[digestOf(referrer), MediaType.spdx, subject.digest]]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
