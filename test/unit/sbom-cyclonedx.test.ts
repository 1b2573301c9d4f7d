import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { digestOf } from '../../src/oci/digest.js';
import { imageCyclonedx, indexCyclonedx, serialUuid, serializeCyclonedx } from '../../src/sbom/cyclonedx.js';
import type { CdxDocument } from '../../src/sbom/cyclonedx-model.js';
import { parseDep5 } from '../../src/sbom/dep5.js';
import { imageSbom } from '../../src/sbom/spdx.js';
import type { ImageSbomInput, SbomPackage } from '../../src/sbom/types.js';
import { cyclonedxProblems } from '../helpers/cyclonedx-schema.js';
import { arch, deb, FORMAT, input as factsInput, PACKAGES as SPDX_PACKAGES } from '../helpers/sbom-facts.js';

// The CycloneDX 1.6 writer: schema-valid (the schema bundled with @cyclonedx/cyclonedx-library),
// deterministic, and saying what the SPDX document of the same input says.

/** The facts of the SPDX tests, plus a LicenseRef with another text than tzdata's and a maintainer without address. */
const PACKAGES: SbomPackage[] = [
  ...SPDX_PACKAGES,
  deb('other-pd', { license: parseDep5(`${FORMAT}Files: *\nCopyright: y\nLicense: public-domain\n Another text.\n`) }),
  deb('no-mail', { maintainer: 'Santiago Vila' }),
];

function input(overrides: Partial<ImageSbomInput> = {}): ImageSbomInput {
  return factsInput({ packages: PACKAGES, ...overrides });
}

function purlOf(p: { externalRefs?: { referenceLocator: string }[] }): string {
  return p.externalRefs?.[0]?.referenceLocator ?? '';
}

describe('CycloneDX 1.6 documents', () => {
  it('the image document is valid against the CycloneDX 1.6 schema', () => {
    const doc = imageCyclonedx(input());
    assert.deepEqual(cyclonedxProblems(JSON.parse(serializeCyclonedx(doc).toString('utf8'))), []);
  });

  it('the schema check fails on a document the schema refuses', () => {
    const doc = JSON.parse(serializeCyclonedx(imageCyclonedx(input())).toString('utf8')) as CdxDocument;
    (doc.components[0] as { hashes: unknown[] }).hashes = [{ alg: 'sha256', content: 'x' }];
    assert.notDeepEqual(cyclonedxProblems(doc), []);
    const mail = JSON.parse(serializeCyclonedx(imageCyclonedx(input())).toString('utf8')) as CdxDocument;
    (mail.components.find((c) => c.supplier?.contact !== undefined)?.supplier?.contact ?? [])[0] = { email: 'not an address' };
    assert.deepEqual(cyclonedxProblems(mail), ['schema: /components/0/supplier/contact/0/email must match format "idn-email"']);
    const refs = JSON.parse(serializeCyclonedx(imageCyclonedx(input())).toString('utf8')) as CdxDocument;
    refs.dependencies.push({ ref: 'nowhere', dependsOn: [] });
    assert.deepEqual(cyclonedxProblems(refs), ['dependency names unknown ref nowhere']);
  });

  it('same facts in another order give the same bytes; no wall-clock time, the serial number comes from name and digest', () => {
    const a = serializeCyclonedx(imageCyclonedx(input()));
    const b = serializeCyclonedx(imageCyclonedx(input({ packages: [...PACKAGES].reverse(), files: [...input().files].reverse() })));
    assert.ok(a.equals(b));
    const doc = JSON.parse(a.toString('utf8')) as CdxDocument;
    assert.equal(doc.metadata.timestamp, '2024-02-10T23:13:13Z');
    assert.equal(doc.serialNumber, `urn:uuid:${serialUuid('ghcr.io/acme/app', digestOf('arm64 manifest'))}`);
    assert.match(doc.serialNumber, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const other = imageCyclonedx(input({ manifest: { digest: digestOf('another manifest'), size: 1 } }));
    assert.notEqual(other.serialNumber, doc.serialNumber);
  });

  it('metadata: the image (name, tag, manifest digest, oci purl) and alba as the tool', () => {
    const doc = imageCyclonedx(input());
    const digest = digestOf('arm64 manifest');
    assert.deepEqual(doc.metadata.tools, { components: [{ type: 'application', name: 'alba', version: '0.1.0' }] });
    assert.equal(doc.metadata.component.type, 'container');
    assert.equal(doc.metadata.component.name, 'ghcr.io/acme/app');
    assert.equal(doc.metadata.component.version, '1.2.3');
    assert.deepEqual(doc.metadata.component.hashes, [{ alg: 'SHA-256', content: digest.slice(7) }]);
    assert.equal(doc.metadata.component.purl, imageSbom(input()).packages[0] && purlOf(imageSbom(input()).packages[0]!));
    assert.deepEqual(doc.metadata.properties, [{ name: 'alba:oci:platform', value: 'linux/arm64/v8' }]);
    assert.equal(imageCyclonedx(input({ tag: undefined })).metadata.component.version, digest);
  });

  it('components are the packages of the SPDX document: same purls, .deb sha256, URLs and declared licences', () => {
    const spdx = imageSbom(input());
    const cdx = imageCyclonedx(input());
    const spdxDebs = spdx.packages.filter((p) => purlOf(p).startsWith('pkg:deb/'));
    const cdxDebs = cdx.components.filter((c) => c.purl?.startsWith('pkg:deb/'));
    assert.deepEqual(
      cdxDebs.map((c) => [
        c.name,
        c.version,
        c.purl,
        c.hashes?.[0]?.content,
        c.externalReferences?.[0]?.url,
        c.licenses?.[0]?.expression ?? 'NOASSERTION',
      ]),
      spdxDebs.map((p) => [p.name, p.versionInfo, purlOf(p), p.checksums?.[0]?.checksumValue, p.downloadLocation, p.licenseDeclared]),
    );
    // conflicting LicenseRef texts are renamed exactly as in the SPDX document
    assert.match(cdxDebs.find((c) => c.name === 'tzdata')?.licenses?.[0]?.expression ?? '', /^LicenseRef-public-domain-[0-9a-f]{8}$/);
    assert.deepEqual(
      cdx.components.filter((c) => c.type === 'file').map((c) => [c.name, c.hashes?.[0]?.content]),
      spdx.packages.filter((p) => p.primaryPackagePurpose === 'FILE').map((p) => [p.name, p.checksums?.[0]?.checksumValue]),
    );
    assert.deepEqual(Object.fromEntries(cdxDebs.map((c) => [c.name, c.type])), {
      'base-files': 'operating-system',
      curl: 'application',
      libc6: 'library',
      libssl3: 'library',
      netbase: 'application',
      'no-mail': 'application',
      'other-pd': 'application',
      tzdata: 'application',
    });
    assert.deepEqual(cdxDebs.find((c) => c.name === 'libssl3')?.supplier, {
      name: 'Debian OpenSSL Team',
      contact: [{ email: 'pkg-openssl-devel@alioth-lists.debian.net' }],
    });
    assert.deepEqual(cdxDebs.find((c) => c.name === 'no-mail')?.supplier, { name: 'Santiago Vila' });
  });

  it('dependencies: the image on every component, each package on what satisfied its Depends (the SPDX DEPENDS_ON edges)', () => {
    const spdx = imageSbom(input());
    const cdx = imageCyclonedx(input());
    const purlById = new Map(spdx.packages.map((p) => [p.SPDXID, purlOf(p)]));
    const spdxEdges = spdx.relationships
      .filter((r) => r.relationshipType === 'DEPENDS_ON')
      .map((r) => `${purlById.get(r.spdxElementId)} -> ${purlById.get(r.relatedSpdxElement)}`)
      .sort();
    const image = cdx.metadata.component['bom-ref'];
    const cdxEdges = cdx.dependencies
      .filter((d) => d.ref !== image)
      .flatMap((d) => d.dependsOn.map((to) => `${d.ref} -> ${to}`))
      .sort();
    assert.deepEqual(cdxEdges, spdxEdges);
    assert.equal(cdxEdges.length, 3);
    assert.deepEqual(cdx.dependencies.find((d) => d.ref === image)?.dependsOn, cdx.components.map((c) => c['bom-ref']).sort());
    assert.throws(() => imageCyclonedx(input({ packages: [deb('x', { dependsOn: ['missing'] })] })), /x depends on missing/);
  });

  it('the index document: the index as component, each platform image linked to its document by BOM-Link and SHA-256', () => {
    const images = ['amd64', 'arm64'].map((name) => {
      const one = input({ arch: arch(name), manifest: { digest: digestOf(`${name} manifest`), size: 1 } });
      return { arch: one.arch, manifest: one.manifest, bom: serializeCyclonedx(imageCyclonedx(one)) };
    });
    const { packages: _p, files: _f, arch: _a, manifest: _m, distro: _d, ...naming } = input();
    const index = { digest: digestOf('index'), size: 2 };
    const doc = indexCyclonedx({ ...naming, index, images: [...images].reverse() });
    assert.deepEqual(cyclonedxProblems(JSON.parse(serializeCyclonedx(doc).toString('utf8'))), []);
    assert.deepEqual(doc.metadata.component.hashes, [{ alg: 'SHA-256', content: index.digest.slice(7) }]);
    assert.deepEqual(
      doc.components.map((c) => [c.version, c.externalReferences?.[0]]),
      images.map((img) => [
        img.manifest.digest,
        {
          type: 'bom',
          url: `urn:cdx:${(JSON.parse(img.bom.toString('utf8')) as CdxDocument).serialNumber.slice('urn:uuid:'.length)}/1`,
          hashes: [{ alg: 'SHA-256', content: createHash('sha256').update(img.bom).digest('hex') }],
        },
      ]),
    );
    assert.deepEqual(doc.dependencies, [
      { ref: doc.metadata.component['bom-ref'], dependsOn: doc.components.map((c) => c['bom-ref']).sort() },
    ]);
  });
});
