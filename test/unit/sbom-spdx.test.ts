import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { digestOf } from '../../src/oci/digest.js';
import { parseDep5 } from '../../src/sbom/dep5.js';
import { assignIds, supplierFromMaintainer, type SpdxDocument } from '../../src/sbom/spdx-model.js';
import { imageSbom, indexSbom, serializeSbom } from '../../src/sbom/spdx.js';
import type { SbomPackage } from '../../src/sbom/types.js';
import { arch, deb, EPOCH, FORMAT, input, MIRROR, PACKAGES } from '../helpers/sbom-facts.js';
import { spdxProblems } from '../helpers/spdx-schema.js';
import { schemasAvailable } from '../helpers/schemas.js';

function shuffled<T>(items: T[]): T[] {
  return [...items].reverse();
}

function pkg(doc: SpdxDocument, name: string): SpdxDocument['packages'][number] {
  const found = doc.packages.find((p) => p.name === name);
  assert.ok(found, `package ${name}`);
  return found;
}

describe('imageSbom', () => {
  it("versionInfo is the binary package's version, not its source's (a binNMU)", () => {
    const binnmu = deb('libfoo1', { version: '1.2-3+b1', source: 'foo', sourceVersion: '1.2-3' });
    const doc = imageSbom(input({ packages: [...PACKAGES, binnmu] }));
    const pkg = doc.packages.find((p) => p.name === 'libfoo1');
    assert.equal(pkg?.versionInfo, '1.2-3+b1');
    assert.equal(pkg?.sourceInfo, 'built package from: foo 1.2-3');
    assert.match(pkg?.externalRefs?.[0]?.referenceLocator ?? '', /^pkg:deb\/debian\/libfoo1@1\.2-3%2Bb1\?/);
  });

  it('is valid SPDX 2.3 (schema and references)', (t) => {
    if (schemasAvailable(t)) assert.deepEqual(spdxProblems(JSON.parse(serializeSbom(imageSbom(input())).toString())), []);
  });

  it('is byte-identical for the same input and for any package, file or dependency order', () => {
    const a = serializeSbom(imageSbom(input()));
    assert.deepEqual(serializeSbom(imageSbom(input())), a);
    const reordered = input({
      packages: shuffled(PACKAGES).map((p) => ({ ...p, dependsOn: shuffled(p.dependsOn) })),
      files: shuffled(input().files),
    });
    assert.deepEqual(serializeSbom(imageSbom(reordered)), a);
  });

  it('writes the document header from the input', () => {
    const doc = imageSbom(input());
    assert.equal(doc.spdxVersion, 'SPDX-2.3');
    assert.equal(doc.dataLicense, 'CC0-1.0');
    assert.equal(doc.SPDXID, 'SPDXRef-DOCUMENT');
    assert.equal(doc.name, 'ghcr.io/acme/app:1.2.3 linux/arm64/v8');
    assert.deepEqual(doc.creationInfo, { created: '2024-02-10T23:13:13Z', creators: ['Tool: alba-0.1.0'] });
    assert.equal(doc.documentNamespace, `https://alba.dev/spdx/ghcr.io/acme/app/${input().manifest.digest.slice(7)}`);
  });

  it('describes the image as a CONTAINER package with its oci purl', () => {
    const doc = imageSbom(input());
    const image = doc.packages[0];
    assert.equal(image?.SPDXID, 'SPDXRef-Image');
    assert.equal(image?.primaryPackagePurpose, 'CONTAINER');
    assert.equal(image?.versionInfo, input().manifest.digest);
    assert.deepEqual(image?.checksums, [{ algorithm: 'SHA256', checksumValue: input().manifest.digest.slice(7) }]);
    assert.equal(
      image?.externalRefs?.[0]?.referenceLocator,
      `pkg:oci/app@sha256%3A${input().manifest.digest.slice(7)}?arch=arm64&repository_url=ghcr.io/acme/app&tag=1.2.3`,
    );
    assert.deepEqual(doc.relationships[0], {
      spdxElementId: 'SPDXRef-DOCUMENT',
      relationshipType: 'DESCRIBES',
      relatedSpdxElement: 'SPDXRef-Image',
    });
  });

  it('records each Debian package with origin, checksum, source, supplier, purl and licence', () => {
    const libssl = pkg(imageSbom(input()), 'libssl3');
    assert.deepEqual(libssl, {
      name: 'libssl3',
      SPDXID: 'SPDXRef-deb-libssl3-arm64',
      versionInfo: '3.0.11-1~deb12u2',
      supplier: 'Organization: Debian OpenSSL Team (pkg-openssl-devel@alioth-lists.debian.net)',
      downloadLocation: `${MIRROR}/pool/main/l/libssl3/libssl3_3.0.11-1~deb12u2_arm64.deb`,
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: createHash('sha256').update('libssl3').digest('hex') }],
      sourceInfo: 'built package from: openssl 3.0.11-1~deb12u2',
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'Apache-2.0',
      copyrightText: 'NOASSERTION',
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: 'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=arm64&distro=debian-12&upstream=openssl',
        },
      ],
      primaryPackagePurpose: 'LIBRARY',
    });
  });

  it('says NOASSERTION for packages without a DEP-5 licence, and defines every LicenseRef', () => {
    const doc = imageSbom(input());
    assert.equal(pkg(doc, 'base-files').licenseDeclared, 'NOASSERTION');
    assert.equal(pkg(doc, 'base-files').primaryPackagePurpose, 'OPERATING_SYSTEM');
    assert.equal(pkg(doc, 'base-files').supplier, 'Person: Santiago Vila (sanvila@debian.org)');
    assert.equal(pkg(doc, 'tzdata').licenseDeclared, 'LicenseRef-public-domain');
    assert.deepEqual(doc.hasExtractedLicensingInfos, [
      { licenseId: 'LicenseRef-public-domain', name: 'public-domain', extractedText: 'This database is in the public domain.' },
    ]);
  });

  it('lists packages by name then architecture, then the files by path', () => {
    const doc = imageSbom(input());
    assert.deepEqual(
      doc.packages.map((p) => p.name),
      ['ghcr.io/acme/app', 'base-files', 'curl', 'libc6', 'libssl3', 'netbase', 'tzdata', '/etc/app/config.yaml', '/usr/local/bin/app'],
    );
    const file = pkg(doc, '/usr/local/bin/app');
    assert.equal(file.SPDXID, 'SPDXRef-File-usr-local-bin-app');
    assert.equal(file.primaryPackagePurpose, 'FILE');
    assert.deepEqual(file.checksums, [{ algorithm: 'SHA256', checksumValue: createHash('sha256').update('app').digest('hex') }]);
  });

  it('relates the image to every package and each package to what it depends on', () => {
    const rel = imageSbom(input()).relationships.map((r) => `${r.spdxElementId} ${r.relationshipType} ${r.relatedSpdxElement}`);
    assert.deepEqual(rel, [
      'SPDXRef-DOCUMENT DESCRIBES SPDXRef-Image',
      'SPDXRef-Image CONTAINS SPDXRef-File-etc-app-config.yaml',
      'SPDXRef-Image CONTAINS SPDXRef-File-usr-local-bin-app',
      'SPDXRef-Image CONTAINS SPDXRef-deb-base-files-arm64',
      'SPDXRef-Image CONTAINS SPDXRef-deb-curl-arm64',
      'SPDXRef-Image CONTAINS SPDXRef-deb-libc6-arm64',
      'SPDXRef-Image CONTAINS SPDXRef-deb-libssl3-arm64',
      'SPDXRef-Image CONTAINS SPDXRef-deb-netbase-all',
      'SPDXRef-Image CONTAINS SPDXRef-deb-tzdata-all',
      'SPDXRef-deb-curl-arm64 DEPENDS_ON SPDXRef-deb-libc6-arm64',
      'SPDXRef-deb-curl-arm64 DEPENDS_ON SPDXRef-deb-libssl3-arm64',
      'SPDXRef-deb-libssl3-arm64 DEPENDS_ON SPDXRef-deb-libc6-arm64',
    ]);
  });

  it('renames a LicenseRef whose text differs between packages, whatever the order', (t) => {
    const pd = (text: string): SbomPackage['license'] => parseDep5(`${FORMAT}Files: *\nCopyright: x\nLicense: public-domain\n ${text}\n`);
    const packages = [deb('a', { license: pd('text A') }), deb('b', { license: pd('text B') }), deb('c', { license: pd('text A') })];
    const doc = imageSbom(input({ packages, files: [] }));
    if (schemasAvailable(t)) assert.deepEqual(spdxProblems(doc), []);
    const idA = `LicenseRef-public-domain-${createHash('sha256').update('text A').digest('hex').slice(0, 8)}`;
    const idB = `LicenseRef-public-domain-${createHash('sha256').update('text B').digest('hex').slice(0, 8)}`;
    assert.deepEqual(
      ['a', 'b', 'c'].map((n) => pkg(doc, n).licenseDeclared),
      [idA, idB, idA],
    );
    assert.deepEqual(
      doc.hasExtractedLicensingInfos?.map((e) => [e.licenseId, e.extractedText]),
      [
        [idA, 'text A'],
        [idB, 'text B'],
      ].sort(),
    );
    assert.deepEqual(serializeSbom(imageSbom(input({ packages: shuffled(packages), files: [] }))), serializeSbom(doc));
  });

  it('keeps SPDXIDs unique when names sanitize alike', (t) => {
    const doc = imageSbom(input({ packages: [deb('a+b'), deb('a.b'), deb('a-b')], files: [] }));
    if (schemasAvailable(t)) assert.deepEqual(spdxProblems(doc), []);
    assert.deepEqual(
      doc.packages.slice(1).map((p) => [p.name, p.SPDXID]),
      [
        ['a+b', 'SPDXRef-deb-a-b-arm64-1'],
        ['a-b', 'SPDXRef-deb-a-b-arm64-2'],
        ['a.b', 'SPDXRef-deb-a.b-arm64'],
      ],
    );
  });

  it('refuses a dependency on a package the image does not hold', () => {
    assert.throws(() => imageSbom(input({ packages: [deb('curl', { dependsOn: ['libssl3'] })] })), /curl depends on libssl3/);
  });
});

describe('indexSbom', () => {
  const images = ['amd64', 'arm64', 'arm/v7'].map((name) => {
    const a = arch(name);
    const manifest = { digest: digestOf(`${name} manifest`), size: 500 };
    return { arch: a, manifest, sbom: serializeSbom(imageSbom(input({ arch: a, manifest }))) };
  });
  const indexInput = {
    toolVersion: '0.1.0',
    name: 'ghcr.io/acme/app',
    tag: '1.2.3',
    created: EPOCH,
    index: { digest: digestOf('index'), size: 900 },
    images,
  };

  it('is valid SPDX 2.3 and independent of the order of the images', (t) => {
    const doc = indexSbom(indexInput);
    if (schemasAvailable(t)) assert.deepEqual(spdxProblems(JSON.parse(serializeSbom(doc).toString())), []);
    assert.deepEqual(serializeSbom(indexSbom({ ...indexInput, images: shuffled(images) })), serializeSbom(doc));
  });

  it('refers to each platform document by namespace and SHA1 of its bytes', () => {
    const doc = indexSbom(indexInput);
    const arm = images[2];
    assert.ok(arm);
    assert.deepEqual(
      doc.externalDocumentRefs?.find((r) => r.externalDocumentId === 'DocumentRef-arm-v7'),
      {
        externalDocumentId: 'DocumentRef-arm-v7',
        spdxDocument: `https://alba.dev/spdx/ghcr.io/acme/app/${arm.manifest.digest.slice(7)}`,
        checksum: { algorithm: 'SHA1', checksumValue: createHash('sha1').update(arm.sbom).digest('hex') },
      },
    );
    assert.equal(doc.documentNamespace, `https://alba.dev/spdx/ghcr.io/acme/app/${indexInput.index.digest.slice(7)}`);
  });

  it('describes the index, which contains each image, each described by its document', () => {
    const doc = indexSbom(indexInput);
    assert.deepEqual(
      doc.relationships.map((r) => `${r.spdxElementId} ${r.relationshipType} ${r.relatedSpdxElement}`),
      [
        'SPDXRef-DOCUMENT DESCRIBES SPDXRef-Index',
        'SPDXRef-Image-amd64 DESCRIBED_BY DocumentRef-amd64:SPDXRef-DOCUMENT',
        'SPDXRef-Image-arm-v7 DESCRIBED_BY DocumentRef-arm-v7:SPDXRef-DOCUMENT',
        'SPDXRef-Image-arm64 DESCRIBED_BY DocumentRef-arm64:SPDXRef-DOCUMENT',
        'SPDXRef-Index CONTAINS SPDXRef-Image-amd64',
        'SPDXRef-Index CONTAINS SPDXRef-Image-arm-v7',
        'SPDXRef-Index CONTAINS SPDXRef-Image-arm64',
      ],
    );
    assert.equal(
      doc.packages[0]?.externalRefs?.[0]?.referenceLocator,
      `pkg:oci/app@sha256%3A${indexInput.index.digest.slice(7)}?tag=1.2.3`,
    );
    assert.equal(
      doc.packages.find((p) => p.SPDXID === 'SPDXRef-Image-arm-v7')?.externalRefs?.[0]?.referenceLocator,
      `pkg:oci/app@sha256%3A${images[2]?.manifest.digest.slice(7)}?arch=arm&tag=1.2.3`,
    );
  });
});

describe('supplierFromMaintainer', () => {
  const cases: [string | undefined, string][] = [
    ['GNU Libc Maintainers <debian-glibc@lists.debian.org>', 'Organization: GNU Libc Maintainers (debian-glibc@lists.debian.org)'],
    ['Debian Python Team <team+python@tracker.debian.org>', 'Organization: Debian Python Team (team+python@tracker.debian.org)'],
    ['Josue Ortega <josue@debian.org>', 'Person: Josue Ortega (josue@debian.org)'],
    ['Some Body', 'Person: Some Body'],
    [undefined, 'NOASSERTION'],
  ];
  for (const [maintainer, supplier] of cases)
    it(`${String(maintainer)} → ${supplier}`, () => assert.equal(supplierFromMaintainer(maintainer), supplier));
});

describe('assignIds', () => {
  it('suffixes only the ids that collide, skipping suffixes already taken', () => {
    assert.deepEqual(assignIds('deb', ['x+1', 'x-1', 'x-1-1', 'y']), [
      'SPDXRef-deb-x-1-2',
      'SPDXRef-deb-x-1-3',
      'SPDXRef-deb-x-1-1',
      'SPDXRef-deb-y',
    ]);
  });
});

describe('spdxProblems (the validator the tests above rely on)', () => {
  it('reports schema errors, dangling relationships and undefined LicenseRefs', (t) => {
    const doc = JSON.parse(serializeSbom(imageSbom(input())).toString()) as Record<string, unknown> & SpdxDocument;
    const broken = {
      ...doc,
      packages: doc.packages.map((p, i) => (i === 1 ? { ...p, downloadLocation: undefined, licenseDeclared: 'LicenseRef-nowhere' } : p)),
      relationships: [
        ...doc.relationships,
        { spdxElementId: 'SPDXRef-Image', relationshipType: 'CONTAINS', relatedSpdxElement: 'SPDXRef-missing' },
      ],
    };
    if (!schemasAvailable(t)) return;
    const problems = spdxProblems(JSON.parse(JSON.stringify(broken)));
    assert.ok(
      problems.some((p) => p.startsWith('schema:') && p.includes('downloadLocation')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.startsWith('dangling relationship')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.includes('LicenseRef-nowhere has no extracted licensing info')),
      problems.join('\n'),
    );
  });
});
