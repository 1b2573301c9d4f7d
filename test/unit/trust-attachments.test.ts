import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { attachmentTag, Cosign, mergeAttachment } from '../../src/oci/cosign.js';
import { digestOf, type Digest } from '../../src/oci/digest.js';
import { memoryBlob, type Blob, type ImageGraph } from '../../src/oci/graph.js';
import { imageIndexBlob } from '../../src/oci/image-index.js';
import { jsonBlob } from '../../src/oci/json.js';
import { artifactManifestBlob, imageManifestBlob } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor } from '../../src/oci/types.js';
import { publish } from '../../src/sink/publish.js';
import type { Sink, StoreOutcome } from '../../src/sink/sink.js';
import { loadSigningKey } from '../../src/trust/keys.js';
import { signGraph } from '../../src/trust/sign-graph.js';
import type { VerifyReport } from '../../src/trust/verify.js';
import { repoRoot } from '../helpers/repo-root.js';

// Signatures as graph nodes: merged with what the tag holds (a second signer appends, the same
// signer's payload is not added twice), stored by the one walk after the images and before the tags.

const keyFile = (name: string) => join(repoRoot(), 'test', 'unit', 'trust-keys', name);

function graph(): ImageGraph {
  const layer = memoryBlob({
    bytes: Buffer.from('layer'),
    descriptor: { mediaType: MediaType.layerGzip, digest: digestOf('layer'), size: 5 },
  });
  const config = memoryBlob(jsonBlob({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } }, MediaType.config));
  const manifest = memoryBlob(
    imageManifestBlob({ config: config.descriptor, layers: [layer.descriptor] }, { os: 'linux', architecture: 'amd64' }),
  );
  const root = memoryBlob(imageIndexBlob({ manifests: [manifest.descriptor] }));
  return { root, images: [{ manifest, blobs: [config, layer] }], referrers: [] };
}

/** A registry-like sink in memory that records the order of calls. */
function memorySink(): Sink & { calls: string[]; tags: Map<string, Buffer> } {
  const calls: string[] = [];
  const tags = new Map<string, Buffer>();
  const stored = new Map<string, Blob>();
  const put = async (b: Blob): Promise<StoreOutcome> => (
    calls.push(`put ${b.descriptor.digest}`),
    stored.set(b.descriptor.digest, b),
    'sent'
  );
  return {
    name: 'memory',
    calls,
    tags,
    holdsComplete: async () => false,
    putBlob: put,
    putManifest: put,
    linkReferrers: async () => undefined,
    readTag: async (tag) => tags.get(tag),
    tagAttachment: async (tag, m) => void (calls.push(`attach ${tag}`), tags.set(tag, m.bytes!)),
    tag: async (tag, root) => (calls.push(`tag ${tag}`), tags.set(tag, root.bytes!), 'sent'),
    finish: async () => undefined,
  };
}

const layersOf = (bytes: Buffer | undefined): Descriptor[] => (JSON.parse(bytes!.toString()) as { layers: Descriptor[] }).layers;

/**
 * alba verify of a root image manifest (no layers) whose `.sig`/`.att` tags and their blobs come
 * from `tag` and `blob`, as a registry would serve them, with the test key.
 */
async function verifyStub(serve: { tag: (tag: string) => Buffer | undefined; blob: () => Buffer }): Promise<VerifyReport> {
  const { verifyImage } = await import('../../src/trust/verify.js');
  const { AlbaError } = await import('../../src/errors.js');
  const { loadPublicKey } = await import('../../src/trust/keys.js');
  const key = await loadPublicKey(keyFile('cosign-test.pub'));
  const rootBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.manifest,
      config: { mediaType: MediaType.config, digest: digestOf('{}'), size: 2 },
      layers: [],
    }),
  );
  const root = digestOf(rootBytes);
  return verifyImage(
    {
      name: 'host/app',
      root,
      tag: async (tag: string) => serve.tag(tag),
      reader: {
        manifest: async (d: string) => (d === root ? rootBytes : undefined),
        referrers: async () => ({ entries: [] }),
        invalid: (digest: string, why: string) => new AlbaError('REGISTRY', `${digest}: ${why}`),
        blob: async () => serve.blob(),
      },
    },
    key,
  );
}

describe('signatures in the publish walk', () => {
  test('stored after the root, before the tags; a second signer appends; the same key again adds nothing', async () => {
    const g = graph();
    const alice = await loadSigningKey(keyFile('p256.pem'), {});
    const bob = await loadSigningKey(keyFile('cosign-test.key'), { ALBA_SIGN_PASSWORD: 'unit test only' });
    const sink = memorySink();
    await publish(await signGraph(g, { key: alice, identity: 'r.example/app' }), sink, ['1.0']);
    const sigTag = attachmentTag(g.root.descriptor.digest as Digest, 'sig');
    const rootAt = sink.calls.indexOf(`put ${g.root.descriptor.digest}`);
    const attachAt = sink.calls.indexOf(`attach ${sigTag}`);
    assert.ok(rootAt >= 0 && attachAt > rootAt && attachAt < sink.calls.indexOf('tag 1.0'), sink.calls.join('\n'));
    assert.equal(layersOf(sink.tags.get(sigTag)).length, 1);
    await publish(await signGraph(g, { key: bob, identity: 'r.example/app' }), sink, ['1.0']);
    assert.equal(layersOf(sink.tags.get(sigTag)).length, 2, 'a second signer appends');
    await publish(await signGraph(g, { key: alice, identity: 'r.example/app' }), sink, ['1.0']);
    assert.equal(layersOf(sink.tags.get(sigTag)).length, 2, 'the same signer signing the same payload again adds no layer');
    const platformTag = attachmentTag(g.images[0]!.manifest.descriptor.digest as Digest, 'sig');
    assert.equal(layersOf(sink.tags.get(platformTag)).length, 2, 'the platform manifest is signed too');
  });

  test('an unsigned graph has no attachments: the walk stores what it stored before', async () => {
    const sink = memorySink();
    await publish(graph(), sink, ['1.0']);
    assert.ok(!sink.calls.some((c) => c.startsWith('attach')));
  });

  test('the same signer replaces its earlier attestation of a type; others are kept', () => {
    const subject = graph().root.descriptor;
    const layer = (text: string, signer: string): Blob =>
      memoryBlob({
        bytes: Buffer.from(text),
        descriptor: {
          mediaType: Cosign.dsse,
          digest: digestOf(text),
          size: text.length,
          annotations: { [Cosign.predicateType]: 'p', [Cosign.signer]: signer },
        },
      });
    const att = (blob: Blob) => ({
      tag: 't',
      subject,
      layers: [
        {
          blob,
          present: (d: Descriptor) => d.digest === blob.descriptor.digest,
          replaces: (d: Descriptor) => d.annotations?.[Cosign.signer] === blob.descriptor.annotations?.[Cosign.signer],
        },
      ],
    });
    const first = mergeAttachment(undefined, att(layer('a1', 'alice')))!;
    const second = mergeAttachment(first.manifest.bytes, att(layer('b1', 'bob')))!;
    const third = mergeAttachment(second.manifest.bytes, att(layer('a2', 'alice')))!;
    assert.deepEqual(
      layersOf(third.manifest.bytes).map((l) => l.digest),
      [digestOf('b1'), digestOf('a2')],
    );
    assert.equal(mergeAttachment(third.manifest.bytes, att(layer('a2', 'alice'))), undefined, 'nothing new: nothing stored');
  });
});

describe('garbage where a signed document or an attested SBOM should be', () => {
  test('an envelope or a statement that is JSON null, or a subject that is null: ATTESTATION_INVALID or nothing named, never a TypeError', async () => {
    const { parseEnvelope, parseStatement } = await import('../../src/trust/dsse.js');
    const { isAlbaError } = await import('../../src/errors.js');
    for (const parse of [() => parseEnvelope(Buffer.from('null'), 'x'), () => parseStatement(Buffer.from('null'), 'x')])
      assert.throws(parse, (err: unknown) => isAlbaError(err, 'ATTESTATION_INVALID'));
    const statement = parseStatement(
      Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', predicateType: 'p', subject: [null, { name: 'a' }] })),
      'x',
    );
    assert.deepEqual(statement.subject, []);
  });

  test("an image layer that is not a tar (or not gzip) is the store's error naming the manifest and the layer, never a zlib or tar-stream Error", async () => {
    const { installedPackages } = await import('../../src/trust/installed.js');
    const { AlbaError, isAlbaError } = await import('../../src/errors.js');
    for (const [mediaType, bytes] of [
      [MediaType.layerGzip, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.from('not deflate at all')])],
      [MediaType.layerTar, Buffer.from('not a tar archive '.repeat(40))],
    ] as const) {
      const layer = { mediaType, digest: digestOf(bytes), size: bytes.length };
      const reader = {
        manifest: async () => undefined,
        referrers: async () => ({ entries: [] }),
        invalid: (digest: string, why: string) => new AlbaError('LAYOUT_INVALID', `${digest}: ${why}`),
        blob: async () => bytes,
      };
      await assert.rejects(
        installedPackages(reader, { layers: [layer] }, digestOf('manifest')),
        (err: unknown) =>
          isAlbaError(err, 'LAYOUT_INVALID') && err.message.includes(digestOf('manifest')) && err.message.includes(layer.digest),
      );
    }
  });

  test('an SBOM whose packages or purls are garbage (null, not lists, bad %-escapes) lists what it can, never a TypeError or URIError', async () => {
    const { sbomPackages } = await import('../../src/trust/installed.js');
    const ref = (locator: unknown) => ({ referenceLocator: locator });
    assert.deepEqual(
      sbomPackages({
        packages: [
          null,
          7,
          { externalRefs: 'x' },
          { externalRefs: [null, ref('pkg:deb/debian/a%ZZ@1')] },
          { externalRefs: [ref('pkg:deb/debian/b@2')] },
        ],
      }),
      new Set(['b 2']),
    );
    assert.deepEqual(
      sbomPackages({ components: [null, 'x', { purl: 'pkg:deb/debian/c@%E0%A4%A' }, { purl: 'pkg:deb/debian/d@3' }] }),
      new Set(['d 3']),
    );
  });

  test("a root the store does not hold is the store's error (a layout's LAYOUT_INVALID), not REGISTRY", async () => {
    const { verifyImage } = await import('../../src/trust/verify.js');
    const { AlbaError, isAlbaError } = await import('../../src/errors.js');
    const { loadPublicKey } = await import('../../src/trust/keys.js');
    const key = await loadPublicKey(keyFile('cosign-test.pub'));
    const root = digestOf('a root that is not there');
    const source = {
      name: '/a/layout',
      root,
      tag: async () => undefined,
      reader: {
        manifest: async () => undefined,
        referrers: async () => ({ entries: [] }),
        invalid: (digest: string, why: string) => new AlbaError('LAYOUT_INVALID', `${digest}: ${why}`),
        blob: async () => Buffer.alloc(0),
      },
    };
    await assert.rejects(verifyImage(source, key), (err: unknown) => isAlbaError(err, 'LAYOUT_INVALID') && err.message.includes(root));
  });

  test(
    'an envelope of 100 000 signatures over a 1 MB payload is ATTESTATION_INVALID at once, not each checked over the payload',
    { timeout: 60_000 },
    async () => {
      // each signature was checked over its own copy of the PAE: 100 000 x 1 MB hashed, a bucket's
      // 384 MB payload with as many signatures kept alba verify at it for hours
      const envelope = Buffer.from(
        JSON.stringify({
          payloadType: 'application/vnd.in-toto+json',
          payload: Buffer.alloc(1024 * 1024, 0x61).toString('base64'),
          signatures: Array.from({ length: 100_000 }, () => ({ keyid: '', sig: 'MEUCIQ' + 'A'.repeat(90) })),
        }),
      );
      const layer = { mediaType: Cosign.dsse, digest: digestOf(envelope), size: envelope.length };
      const att = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.manifest, layers: [layer] }));
      const report = await verifyStub({ tag: (tag) => (tag.endsWith('.att') ? att : undefined), blob: () => envelope });
      assert.ok(
        report.failures.some(
          (f) => f.code === 'ATTESTATION_INVALID' && /100000 signatures/.test(f.message) && f.message.includes(layer.digest),
        ),
        JSON.stringify(report.failures),
      );
      assert.deepEqual(report.subjects[0]?.attestations, []);
    },
  );

  test('a .sig of 2000 layers, or an .att whose layers add up past 512 MiB, fails before a layer is read', async () => {
    // each layer was fetched whole in turn (up to 512 MiB each): a 4 MiB manifest of 25 000 layers
    // naming 100 MB blobs is 2.5 TB to read
    const manifest = (layers: object[]): Buffer => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.manifest, layers }));
    const sig = manifest(
      Array.from({ length: 2000 }, (_, i) => ({
        mediaType: Cosign.simpleSigning,
        digest: digestOf(`payload ${i}`),
        size: 100 * 1024 * 1024,
        annotations: { [Cosign.signature]: 'bad' },
      })),
    );
    const att = manifest([0, 1].map((i) => ({ mediaType: Cosign.dsse, digest: digestOf(`envelope ${i}`), size: 300 * 1024 * 1024 })));
    let read = 0;
    const report = await verifyStub({ tag: (tag) => (tag.endsWith('.att') ? att : sig), blob: () => (read++, Buffer.from('{}')) });
    assert.equal(read, 0, 'no layer was read');
    const codes = report.failures.map((f) => f.code).sort();
    assert.deepEqual(codes, ['ATTESTATION_INVALID', 'SIGNATURE_INVALID'], JSON.stringify(report.failures));
    assert.match(report.failures.map((f) => f.message).join('\n'), /2000 layers/);
    assert.deepEqual(report.subjects[0]?.signatures, 0);
  });

  test('a .sig layer whose signature annotation is no string (a number, an object) or whose annotations are not an object is SIGNATURE_INVALID, never a TypeError', async () => {
    for (const annotations of [{ [Cosign.signature]: 5 }, { [Cosign.signature]: { a: 1 } }, null, 'x']) {
      const sig = Buffer.from(
        JSON.stringify({ schemaVersion: 2, layers: [{ mediaType: Cosign.simpleSigning, digest: digestOf('p'), size: 1, annotations }] }),
      );
      const report = await verifyStub({ tag: (tag) => (tag.endsWith('.sig') ? sig : undefined), blob: () => Buffer.from('p') });
      assert.deepEqual(
        report.failures.map((f) => f.code),
        ['SIGNATURE_INVALID'],
        JSON.stringify(annotations),
      );
    }
  });

  test('signing an image whose SPDX document is not JSON is ATTESTATION_INVALID naming its blob', async () => {
    const { isAlbaError } = await import('../../src/errors.js');
    const g = graph();
    const sbom = memoryBlob({
      bytes: Buffer.from('{not json'),
      descriptor: { mediaType: MediaType.spdx, digest: digestOf('{not json'), size: 9 },
    });
    const subject = g.images[0]!.manifest.descriptor;
    const referrer = memoryBlob(artifactManifestBlob({ artifactType: MediaType.spdx, layers: [sbom.descriptor], subject }));
    const withSbom: ImageGraph = {
      ...g,
      referrers: [{ manifest: referrer, blobs: [sbom], subject }],
    };
    const alice = await loadSigningKey(keyFile('p256.pem'), {});
    await assert.rejects(
      signGraph(withSbom, { key: alice, identity: 'r.example/app' }),
      (err: unknown) => isAlbaError(err, 'ATTESTATION_INVALID') && err.message.includes(sbom.descriptor.digest),
    );
  });
});
