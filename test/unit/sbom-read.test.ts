import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { findArch } from '../../src/debian/arch.js';
import { isAlbaError, type ErrorCode } from '../../src/errors.js';
import { digestOf } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor } from '../../src/oci/types.js';
import { readSbom, type ReadSbomOptions } from '../../src/sbom/read.js';
import { sbomReferrer, sbomTitle } from '../../src/sbom/referrer.js';

const REF_NAME = 'org.opencontainers.image.ref.name';
const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

/** A blob and its descriptor. */
function blob(mediaType: string, content: string | Buffer, extra: Partial<Descriptor> = {}): { bytes: Buffer; descriptor: Descriptor } {
  const bytes = Buffer.from(content);
  return { bytes, descriptor: { mediaType, digest: digestOf(bytes), size: bytes.length, ...extra } };
}

interface Fixture {
  dir: string;
  sbomOf: Record<'amd64' | 'arm64' | 'index', Buffer>;
}

/**
 * An OCI layout like `alba build` writes: one multi-arch index tagged `tag`, two platform manifests,
 * an SBOM referrer for each and for the index. `listReferrers` puts the referrers in index.json.
 */
async function layout(
  options: { listReferrers: boolean; tag?: string; extraIndexEntries?: Descriptor[] } = { listReferrers: true },
): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'alba-sbom-read-'));
  roots.push(dir);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = async (b: { bytes: Buffer; descriptor: Descriptor }): Promise<Descriptor> => {
    await writeFile(join(dir, 'blobs', 'sha256', b.descriptor.digest.slice(7)), b.bytes);
    return b.descriptor;
  };
  const images: Descriptor[] = [];
  for (const name of ['amd64', 'arm64'] as const) {
    const manifest = blob(MediaType.manifest, JSON.stringify({ schemaVersion: 2, name }), { platform: findArch(name)!.platform });
    images.push(await put(manifest));
  }
  const index = await put(blob(MediaType.index, JSON.stringify({ schemaVersion: 2, mediaType: MediaType.index, manifests: images })));
  const sbomOf = {
    amd64: Buffer.from('{"doc":"amd64"}\n'),
    arm64: Buffer.from('{"doc":"arm64"}\n'),
    index: Buffer.from('{"doc":"index"}\n'),
  };
  const referrers: Descriptor[] = [];
  for (const [subject, key] of [
    [images[0], 'amd64'],
    [images[1], 'arm64'],
    [index, 'index'],
  ] as const) {
    assert.ok(subject);
    const r = sbomReferrer({ sbom: sbomOf[key], subject, created: 0, title: sbomTitle(key === 'index' ? undefined : key) });
    await put(r.sbom);
    referrers.push(await put(r.manifest));
  }
  const entries = [
    { ...index, annotations: { [REF_NAME]: options.tag ?? '1.2.3' } },
    ...(options.listReferrers ? referrers : []),
    ...(options.extraIndexEntries ?? []),
  ];
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.index, manifests: entries }));
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  return { dir, sbomOf };
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isAlbaError(err, code), `expected ${code}, got ${String(err)}`);
    return true;
  });
}

describe('readSbom', () => {
  const found: { options: ReadSbomOptions; want: 'amd64' | 'arm64' | 'index' }[] = [
    { options: {}, want: 'index' },
    { options: { platform: 'arm64' }, want: 'arm64' },
    { options: { platform: 'linux/arm64' }, want: 'arm64' },
    { options: { platform: 'linux/arm64/v8' }, want: 'arm64' },
    { options: { platform: 'amd64' }, want: 'amd64' },
    { options: { platform: 'x86_64', ref: '1.2.3' }, want: 'amd64' },
  ];
  for (const listReferrers of [true, false]) {
    for (const c of found) {
      it(`${JSON.stringify(c.options)} → the ${c.want} document (referrers ${listReferrers ? 'in index.json' : 'only in blobs'})`, async () => {
        const fixture = await layout({ listReferrers });
        assert.deepEqual(await readSbom(fixture.dir, c.options), fixture.sbomOf[c.want]);
      });
    }
  }

  it('prefers the newest of several referrers of one subject', async () => {
    const fixture = await layout({ listReferrers: true });
    const index = await readSbom(fixture.dir);
    assert.deepEqual(index, fixture.sbomOf.index);
    // A newer SBOM for arm64, written as a plain blob by a later build.
    const layoutIndex = JSON.parse(await readFile(join(fixture.dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    const rootIndex = JSON.parse(
      (await readFile(join(fixture.dir, 'blobs', 'sha256', (layoutIndex.manifests[0] as Descriptor).digest.slice(7)))).toString(),
    ) as { manifests: Descriptor[] };
    const newer = Buffer.from('{"doc":"arm64 v2"}\n');
    const r = sbomReferrer({ sbom: newer, subject: rootIndex.manifests[1] as Descriptor, created: 100, title: 'arm64.spdx.json' });
    await writeFile(join(fixture.dir, 'blobs', 'sha256', r.sbom.descriptor.digest.slice(7)), r.sbom.bytes);
    await writeFile(join(fixture.dir, 'blobs', 'sha256', r.manifest.descriptor.digest.slice(7)), r.manifest.bytes);
    layoutIndex.manifests.push(r.manifest.descriptor);
    await writeFile(join(fixture.dir, 'index.json'), JSON.stringify(layoutIndex));
    assert.deepEqual(await readSbom(fixture.dir, { platform: 'arm64' }), newer);
  });

  it('fails with SBOM_NOT_FOUND for a platform the index lacks', async () => {
    await rejectsWith(readSbom((await layout()).dir, { platform: 'riscv64' }), 'SBOM_NOT_FOUND');
  });

  it('fails with SBOM_NOT_FOUND when no referrer describes the subject', async () => {
    const fixture = await layout({ listReferrers: true });
    const layoutIndex = JSON.parse(await readFile(join(fixture.dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    for (const d of layoutIndex.manifests.slice(1)) await unlink(join(fixture.dir, 'blobs', 'sha256', d.digest.slice(7)));
    layoutIndex.manifests = layoutIndex.manifests.slice(0, 1);
    await writeFile(join(fixture.dir, 'index.json'), JSON.stringify(layoutIndex));
    await rejectsWith(readSbom(fixture.dir, { platform: 'amd64' }), 'SBOM_NOT_FOUND');
    await rejectsWith(readSbom(fixture.dir), 'SBOM_NOT_FOUND');
  });

  it('fails with USAGE for an unknown tag, and when several indexes need a tag to choose (as container push)', async () => {
    await rejectsWith(readSbom((await layout()).dir, { ref: 'nope' }), 'USAGE');
    const other = blob(MediaType.index, '{"other":true}', { annotations: { [REF_NAME]: 'other' } });
    const fixture = await layout({ listReferrers: true, extraIndexEntries: [other.descriptor] });
    await rejectsWith(readSbom(fixture.dir), 'USAGE');
    assert.deepEqual(await readSbom(fixture.dir, { ref: '1.2.3' }), fixture.sbomOf.index);
  });

  it('fails with LAYOUT_INVALID without index.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alba-sbom-read-'));
    roots.push(dir);
    await rejectsWith(readSbom(dir), 'LAYOUT_INVALID');
  });

  it('fails with DIGEST_MISMATCH when the SBOM blob was altered', async () => {
    const fixture = await layout({ listReferrers: true });
    await writeFile(join(fixture.dir, 'blobs', 'sha256', digestOf(fixture.sbomOf.arm64).slice(7)), '{"doc":"tampered"}\n');
    await rejectsWith(readSbom(fixture.dir, { platform: 'arm64' }), 'DIGEST_MISMATCH');
  });

  it('fails with DIGEST_MISMATCH when a referrer manifest was altered, LAYOUT_INVALID when its layer is missing', async () => {
    const fixture = await layout({ listReferrers: false });
    const names = await readdir(join(fixture.dir, 'blobs', 'sha256'));
    const referrer = (
      await Promise.all(names.map(async (n) => [n, await readFile(join(fixture.dir, 'blobs', 'sha256', n), 'utf8')] as const))
    ).find(([, text]) => text.includes('"subject"') && text.includes('"doc"') === false && text.includes(digestOf(fixture.sbomOf.arm64)));
    assert.ok(referrer);
    await writeFile(join(fixture.dir, 'blobs', 'sha256', referrer[0]), referrer[1].replace('"schemaVersion":2', '"schemaVersion":2 '));
    await rejectsWith(readSbom(fixture.dir, { platform: 'arm64' }), 'DIGEST_MISMATCH');
    const again = await layout({ listReferrers: false });
    await unlink(join(again.dir, 'blobs', 'sha256', digestOf(again.sbomOf.amd64).slice(7)));
    await rejectsWith(readSbom(again.dir, { platform: 'amd64' }), 'LAYOUT_INVALID');
  });

  it('fails with USAGE for a platform it cannot parse', async () => {
    await rejectsWith(readSbom((await layout()).dir, { platform: 'nonsense' }), 'USAGE');
  });
});
