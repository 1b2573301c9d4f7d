import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestOf, parseDigest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor } from '../../src/oci/types.js';
import { EMPTY_DESCRIPTOR as EMPTY_CONFIG } from '../../src/oci/manifest.js';
import { referrersIndex, referrersTag } from '../../src/oci/referrers.js';
import { sbomReferrer, sbomTitle } from '../../src/sbom/referrer.js';
import { OciSchema, validateOci } from '../helpers/oci-schemas.js';
import { schemasAvailable } from '../helpers/schemas.js';

const SBOM = Buffer.from('{\n  "spdxVersion": "SPDX-2.3"\n}\n');
const SUBJECT: Descriptor = {
  mediaType: MediaType.manifest,
  digest: digestOf('platform manifest'),
  size: 812,
  platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  annotations: { 'org.opencontainers.image.ref.name': '1.2.3' },
};

describe('sbomReferrer', () => {
  const referrer = sbomReferrer({ sbom: SBOM, subject: SUBJECT, created: 1707606793, title: sbomTitle('arm64') });
  const manifest = JSON.parse(referrer.manifest.bytes.toString('utf8')) as Record<string, unknown>;

  it('is a valid OCI 1.1 image manifest', (t) => {
    if (schemasAvailable(t)) assert.deepEqual(validateOci(OciSchema.manifest, manifest), []);
  });

  it('the validator rejects a manifest without config (so the check above means something)', (t) => {
    const { config: _config, ...withoutConfig } = manifest;
    if (schemasAvailable(t)) assert.notDeepEqual(validateOci(OciSchema.manifest, withoutConfig), []);
  });

  it('is the SPDX artifact with the empty config, the document as layer and the image as subject', () => {
    assert.deepEqual(manifest, {
      schemaVersion: 2,
      mediaType: MediaType.manifest,
      artifactType: 'application/spdx+json',
      config: {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
        size: 2,
        data: 'e30=',
      },
      layers: [
        {
          mediaType: 'application/spdx+json',
          digest: digestOf(SBOM),
          size: SBOM.length,
          annotations: { 'org.opencontainers.image.title': 'arm64.spdx.json' },
        },
      ],
      subject: { mediaType: MediaType.manifest, digest: SUBJECT.digest, size: 812 },
      annotations: { 'org.opencontainers.image.created': '2024-02-10T23:13:13Z' },
    });
  });

  it('the empty config descriptor matches the bytes `{}`', () => {
    assert.equal(EMPTY_CONFIG.digest, digestOf('{}'));
    assert.equal(Buffer.from(EMPTY_CONFIG.data ?? '', 'base64').toString(), '{}');
  });

  it('is canonical JSON, and its descriptor matches its bytes', () => {
    assert.equal(referrer.manifest.bytes.toString(), JSON.stringify(manifest));
    assert.deepEqual(referrer.manifest.descriptor, {
      mediaType: MediaType.manifest,
      digest: digestOf(referrer.manifest.bytes),
      size: referrer.manifest.bytes.length,
      artifactType: 'application/spdx+json',
      annotations: { 'org.opencontainers.image.created': '2024-02-10T23:13:13Z' },
    });
    assert.deepEqual(referrer.sbom.bytes, SBOM);
    assert.equal(referrer.sbom.descriptor.digest, digestOf(SBOM));
  });

  it('is the same bytes for the same input', () => {
    const again = sbomReferrer({ sbom: SBOM, subject: SUBJECT, created: 1707606793, title: sbomTitle('arm64') });
    assert.deepEqual(again.manifest.bytes, referrer.manifest.bytes);
  });
});

describe('sbomTitle', () => {
  it('names platform and index documents', () => {
    assert.equal(sbomTitle('arm-v7'), 'arm-v7.spdx.json');
    assert.equal(sbomTitle(), 'index.spdx.json');
  });
});

describe('referrers tag schema fallback', () => {
  it('tags the index sha256-<hex>', () => {
    const hex = 'a'.repeat(64);
    assert.equal(referrersTag(parseDigest(`sha256:${hex}`)), `sha256-${hex}`);
  });

  it('builds a valid image index of the referrers, deduplicated and sorted by digest', (t) => {
    const a = sbomReferrer({ sbom: Buffer.from('a'), subject: SUBJECT, created: 0, title: 'a' }).manifest.descriptor;
    const b = sbomReferrer({ sbom: Buffer.from('b'), subject: SUBJECT, created: 0, title: 'b' }).manifest.descriptor;
    const index = referrersIndex([b, a, b]);
    const parsed = JSON.parse(index.bytes.toString()) as { manifests: Descriptor[] };
    if (schemasAvailable(t)) assert.deepEqual(validateOci(OciSchema.index, parsed), []);
    assert.deepEqual(
      parsed.manifests.map((m) => m.digest),
      [a.digest, b.digest].sort(),
    );
    assert.equal(parsed.manifests[0]?.artifactType, 'application/spdx+json');
    assert.deepEqual(index.descriptor, { mediaType: MediaType.index, digest: digestOf(index.bytes), size: index.bytes.length });
    assert.deepEqual(referrersIndex([a, b]).bytes, index.bytes);
  });
});
