import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { ARTIFACT_KINDS, findArtifact, MAX_ARTIFACT_BYTES, readArtifact, SPDX_SBOM, type ArtifactReader } from '../../src/oci/artifacts.js';
import { digestOf, type Digest } from '../../src/oci/digest.js';
import { Annotation, isDescriptor, parseManifestJson, platformString } from '../../src/oci/manifest-json.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor } from '../../src/oci/types.js';
import { sbomReferrer } from '../../src/sbom/referrer.js';

// The shared reading vocabulary (manifest-json.ts) and the one referrer finder (artifacts.ts),
// over a store in memory: what every medium's reader gives the finder.

class Invalid extends Error {}
const fail = (why: string): Error => new Invalid(why);

test("parseManifestJson: garbage is the caller's error, naming why; a manifest and an index parse", () => {
  const cases: [string, RegExp][] = [
    ['not json', /not JSON/],
    ['[1]', /not a JSON object/],
    ['null', /not a JSON object/],
    ['{"manifests":{}}', /not descriptors/],
    ['{"layers":[{"digest":"sha256:x"}]}', /not descriptors/],
    ['{"config":{"mediaType":"a","digest":"d","size":-1}}', /not descriptors/],
    ['{"subject":"sha256:x"}', /not descriptors/],
    ['{"artifactType":1}', /artifactType is not a string/],
    ['{"annotations":{"a":1}}', /annotations are not a map of strings/],
  ];
  for (const [text, why] of cases)
    assert.throws(
      () => parseManifestJson(Buffer.from(text), fail),
      (err: unknown) => err instanceof Invalid && why.test(err.message),
      text,
    );
  const d: Descriptor = { mediaType: MediaType.manifest, digest: digestOf('x'), size: 1 };
  assert.deepEqual(parseManifestJson(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [d] })), fail).manifests, [d]);
  assert.ok(isDescriptor(d) && !isDescriptor({ ...d, size: '1' }) && !isDescriptor([d]));
  assert.equal(platformString({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'linux/arm/v7');
  assert.equal(platformString({ os: 'linux', architecture: 'amd64' }), 'linux/amd64');
});

/** A store in memory: manifests and blobs by digest, referrers listed by subject (as a registry's API or a layout's scan gives them). */
function store(): {
  reader: ArtifactReader;
  put: (bytes: Buffer) => void;
  list: (subject: string, d: Descriptor) => void;
  blobs: Map<string, Buffer>;
} {
  const blobs = new Map<string, Buffer>();
  const listed = new Map<string, Descriptor[]>();
  const reader: ArtifactReader = {
    manifest: async (d) => blobs.get(d),
    referrers: async (subject) => ({ entries: listed.get(subject) ?? [] }),
    invalid: (d, why) => new Invalid(`${d}: ${why}`),
    blob: async (d) => blobs.get(d.digest) ?? assert.fail(`blob ${d.digest} read`),
  };
  return {
    reader,
    blobs,
    put: (bytes) => void blobs.set(digestOf(bytes), bytes),
    list: (subject, d) => void listed.set(subject, [...(listed.get(subject) ?? []), d]),
  };
}

const subject: Descriptor = { mediaType: MediaType.manifest, digest: digestOf('the image'), size: 9 };

function attach(s: ReturnType<typeof store>, text: string, created: number, to: Descriptor = subject): ReturnType<typeof sbomReferrer> {
  const r = sbomReferrer({ sbom: Buffer.from(text), subject: to, created, title: 'amd64.spdx.json' });
  s.put(r.sbom.bytes);
  s.put(r.manifest.bytes);
  s.list(subject.digest, r.manifest.descriptor);
  return r;
}

test('findArtifact: the newest referrer of the kind whose manifest names the subject; other types and subjects passed over', async () => {
  const s = store();
  assert.equal(await findArtifact(s.reader, subject.digest as Digest, SPDX_SBOM), undefined);
  attach(s, 'old', 100);
  const newest = attach(s, 'new', 200);
  // listed for the subject, but its manifest names another subject: not it
  attach(s, 'elsewhere', 300, { ...subject, digest: digestOf('another image') });
  // another artifact type, listed as such
  s.list(subject.digest, {
    mediaType: MediaType.manifest,
    digest: digestOf('sig'),
    size: 3,
    artifactType: 'application/vnd.dev.sigstore.bundle+json',
    annotations: { [Annotation.created]: '2099-01-01T00:00:00Z' },
  });
  const found = await findArtifact(s.reader, subject.digest as Digest, SPDX_SBOM);
  assert.equal(found?.descriptor.digest, newest.manifest.descriptor.digest);
  assert.deepEqual(await readArtifact(s.reader, found!), Buffer.from('new'));
  assert.ok(ARTIFACT_KINDS.includes(SPDX_SBOM));
});

test("findArtifact: a referrer manifest whose bytes are not its digest, or garbage, is the reader's error, not skipped", async () => {
  const s = store();
  const r = attach(s, 'doc', 100);
  s.blobs.set(r.manifest.descriptor.digest, Buffer.from(r.manifest.bytes.toString().replace('"schemaVersion":2', '"schemaVersion":2 ')));
  await assert.rejects(
    findArtifact(s.reader, subject.digest as Digest, SPDX_SBOM),
    (err: unknown) => err instanceof Invalid && /hashes to/.test(err.message),
  );
  const garbage = Buffer.from('{"layers":7}');
  const g = store();
  g.put(garbage);
  g.list(subject.digest, { mediaType: MediaType.manifest, digest: digestOf(garbage), size: garbage.length });
  await assert.rejects(
    findArtifact(g.reader, subject.digest as Digest, SPDX_SBOM),
    (err: unknown) => err instanceof Invalid && /not descriptors/.test(err.message),
  );
});

test('readArtifact: a layer over the cap is TOO_LARGE, refused before it is read', async () => {
  const s = store();
  const r = attach(s, 'doc', 100);
  const found = await findArtifact(s.reader, subject.digest as Digest, SPDX_SBOM);
  assert.ok(found);
  const reader: ArtifactReader = { ...s.reader, blob: async () => assert.fail('read') };
  await assert.rejects(
    readArtifact(reader, { ...found, layer: { ...found.layer, size: MAX_ARTIFACT_BYTES + 1 } }),
    (err: unknown) => isAlbaError(err, 'TOO_LARGE') && err.message.includes(r.manifest.descriptor.digest),
  );
});
