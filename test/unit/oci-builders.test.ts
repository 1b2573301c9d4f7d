import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { imageConfig, imageConfigBlob, rfc3339 } from '../../src/oci/config.js';
import { digestOf, parseDigest } from '../../src/oci/digest.js';
import { imageIndex, imageIndexBlob } from '../../src/oci/image-index.js';
import { canonicalJson, descriptorJson, sortedRecord } from '../../src/oci/json.js';
import { artifactManifest, artifactManifestBlob, EMPTY_DESCRIPTOR, imageManifest, imageManifestBlob } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor } from '../../src/oci/types.js';
import { OciSchema, validateOci } from '../helpers/oci-schemas.js';
import { schemasAvailable } from '../helpers/schemas.js';

const d = (c: string): ReturnType<typeof parseDigest> => parseDigest(`sha256:${c.repeat(64)}`);
const layer: Descriptor = { mediaType: MediaType.layerGzip, digest: d('1'), size: 10 };

const configInput = {
  created: 1_700_000_000,
  platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
  user: '65532',
  env: { PATH: '/usr/bin:/bin', SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' },
  entrypoint: ['/app'],
  cmd: ['--help'],
  workingDir: '/home/nonroot',
  labels: { 'z.last': '1', 'a.first': '2' },
  stopSignal: 'SIGTERM',
  layers: [
    { diffId: d('a'), createdBy: 'alba: base files' },
    { diffId: d('b'), createdBy: 'alba: libc6 2.36-9+deb12u4', comment: 'libc6_2.36-9+deb12u4_arm64.deb' },
  ],
};

describe('canonical JSON', () => {
  test('no whitespace, undefined members dropped, user maps sorted', () => {
    assert.equal(canonicalJson({ b: 1, a: undefined, c: [1, 'x'] }), '{"b":1,"c":[1,"x"]}');
    assert.deepEqual(Object.keys(sortedRecord({ b: '1', a: '2', B: '3' }) ?? {}), ['B', 'a', 'b']);
    assert.equal(sortedRecord({}), undefined);
  });

  test('descriptors get one member order whatever the input order', () => {
    const shuffled = {
      size: 3,
      annotations: { b: '1', a: '2' },
      digest: d('c'),
      platform: { variant: 'v7', os: 'linux', architecture: 'arm' },
      mediaType: 'x/y',
    };
    assert.equal(
      canonicalJson(descriptorJson(shuffled as Descriptor)),
      `{"mediaType":"x/y","digest":"${d('c')}","size":3,"platform":{"architecture":"arm","os":"linux","variant":"v7"},"annotations":{"a":"2","b":"1"}}`,
    );
  });

  test('rfc3339 has no fractional seconds', () => {
    assert.equal(rfc3339(0), '1970-01-01T00:00:00Z');
    assert.equal(rfc3339(1_700_000_000), '2023-11-14T22:13:20Z');
  });
});

describe('image config', () => {
  test('exact bytes', () => {
    assert.equal(
      imageConfigBlob(configInput).bytes.toString(),
      '{"created":"2023-11-14T22:13:20Z","architecture":"arm64","os":"linux","variant":"v8",' +
        '"config":{"User":"65532","Env":["PATH=/usr/bin:/bin","SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"],' +
        '"Entrypoint":["/app"],"Cmd":["--help"],"WorkingDir":"/home/nonroot","Labels":{"a.first":"2","z.last":"1"},"StopSignal":"SIGTERM"},' +
        `"rootfs":{"type":"layers","diff_ids":["${d('a')}","${d('b')}"]},` +
        '"history":[{"created":"2023-11-14T22:13:20Z","created_by":"alba: base files"},' +
        '{"created":"2023-11-14T22:13:20Z","created_by":"alba: libc6 2.36-9+deb12u4","comment":"libc6_2.36-9+deb12u4_arm64.deb"}]}',
    );
  });

  test('minimal config: empty config object, no variant', () => {
    const value = imageConfig({
      created: 0,
      platform: { os: 'linux', architecture: 'amd64' },
      layers: [{ diffId: d('a'), createdBy: 'x' }],
    });
    assert.equal(
      canonicalJson(value),
      `{"created":"1970-01-01T00:00:00Z","architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["${d('a')}"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"x"}]}`,
    );
  });

  test('valid against the OCI schema; the blob descriptor matches the bytes', (t) => {
    const blob = imageConfigBlob(configInput);
    if (schemasAvailable(t)) assert.deepEqual(validateOci(OciSchema.config, JSON.parse(blob.bytes.toString())), []);
    assert.equal(blob.descriptor.digest, digestOf(blob.bytes));
    assert.equal(blob.descriptor.size, blob.bytes.length);
    assert.equal(blob.descriptor.mediaType, MediaType.config);
  });
});

describe('manifests and index', () => {
  const config = imageConfigBlob(configInput).descriptor;

  test('image manifest: exact bytes and schema-valid', (t) => {
    const blob = imageManifestBlob({ config, layers: [layer] }, configInput.platform);
    assert.equal(
      blob.bytes.toString(),
      `{"schemaVersion":2,"mediaType":"${MediaType.manifest}","config":{"mediaType":"${MediaType.config}","digest":"${config.digest}","size":${config.size}},` +
        `"layers":[{"mediaType":"${MediaType.layerGzip}","digest":"${d('1')}","size":10}]}`,
    );
    assert.deepEqual(blob.descriptor.platform, configInput.platform);
    if (schemasAvailable(t)) assert.deepEqual(validateOci(OciSchema.manifest, JSON.parse(blob.bytes.toString())), []);
  });

  test('image index: platforms in order, annotations sorted, schema-valid', (t) => {
    const amd = { ...imageManifestBlob({ config, layers: [layer] }, { os: 'linux', architecture: 'amd64' }).descriptor };
    const arm = { ...imageManifestBlob({ config, layers: [layer] }, configInput.platform).descriptor };
    const value = imageIndex({
      manifests: [amd, arm],
      annotations: { 'org.opencontainers.image.version': '1', 'org.opencontainers.image.created': 'x' },
    });
    assert.deepEqual(Object.keys(value), ['schemaVersion', 'mediaType', 'manifests', 'annotations']);
    assert.deepEqual(Object.keys((value.annotations ?? {}) as object), [
      'org.opencontainers.image.created',
      'org.opencontainers.image.version',
    ]);
    const blob = imageIndexBlob({ manifests: [amd, arm] });
    const parsed = JSON.parse(blob.bytes.toString()) as { manifests: Descriptor[] };
    assert.deepEqual(
      parsed.manifests.map((m) => m.platform),
      [
        { architecture: 'amd64', os: 'linux' },
        { architecture: 'arm64', os: 'linux', variant: 'v8' },
      ],
    );
    if (schemasAvailable(t)) assert.deepEqual(validateOci(OciSchema.index, parsed), []);
    assert.equal(blob.descriptor.mediaType, MediaType.index);
  });

  test('artifact manifest: empty config, artifactType, subject; schema-valid', (t) => {
    assert.equal(EMPTY_DESCRIPTOR.digest, 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    assert.equal(EMPTY_DESCRIPTOR.size, 2);
    const sbom: Descriptor = { mediaType: MediaType.spdx, digest: d('5'), size: 99 };
    const subject = imageIndexBlob({ manifests: [] }).descriptor;
    const input = {
      artifactType: MediaType.spdx,
      layers: [sbom],
      subject,
      annotations: { 'org.opencontainers.image.created': '2023-11-14T22:13:20Z' },
    };
    const value = artifactManifest(input);
    assert.deepEqual(Object.keys(value), ['schemaVersion', 'mediaType', 'artifactType', 'config', 'layers', 'subject', 'annotations']);
    assert.deepEqual(value.config, EMPTY_DESCRIPTOR);
    const blob = artifactManifestBlob(input);
    assert.equal(blob.descriptor.artifactType, MediaType.spdx);
    assert.deepEqual(blob.descriptor.annotations, input.annotations);
    if (schemasAvailable(t)) assert.deepEqual(validateOci(OciSchema.manifest, JSON.parse(blob.bytes.toString())), []);
  });

  test('subject goes after layers in an image manifest, and the schema catches a broken manifest', (t) => {
    const subject = { mediaType: MediaType.manifest, digest: d('9'), size: 1 };
    assert.deepEqual(Object.keys(JSON.parse(canonicalJson(imageManifest({ config, layers: [layer], subject }))) as object), [
      'schemaVersion',
      'mediaType',
      'config',
      'layers',
      'subject',
    ]);
    if (schemasAvailable(t))
      assert.notDeepEqual(validateOci(OciSchema.manifest, { ...imageManifest({ config, layers: [layer] }), schemaVersion: 1 }), []);
  });
});
