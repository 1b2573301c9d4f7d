import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FIXTURE_DEPENDS,
  FIXTURE_INSTALLED,
  FIXTURE_LICENSES,
  makeFixtureDistro,
  writeFixtureProject,
  type FixtureProject,
} from '../helpers/fixture-distro.js';
import type { Repo } from '../helpers/make-repo.js';
import { OciSchema, validateOci } from '../helpers/oci-schemas.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';
import { explainRun, runAlba } from '../helpers/run-alba.js';
import { cyclonedxProblems } from '../helpers/cyclonedx-schema.js';
import { spdxProblems } from '../helpers/spdx-schema.js';
import { requireTool } from '../helpers/tools.js';
import { schemasAvailable } from '../helpers/schemas.js';

// The SBOMs of a fixture build, end to end (the compiled CLI: run `tsc -p .` first): the files in
// <layout>/sbom/, `alba sbom`, the OCI referrer manifests among the blobs, and what the documents
// (SPDX 2.3 and CycloneDX 1.6) say against the fixture distro, each other and the unpacked images.

const TAG = 'sbom';
const ARCHS = ['amd64', 'arm64'] as const;
const SLUG_REFS: Record<string, string> = { amd64: `${TAG}-linux-amd64`, arm64: `${TAG}-linux-arm64-v8` };
const SPDX = 'application/spdx+json';
const CYCLONEDX = 'application/vnd.cyclonedx+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const REF_NAME = 'org.opencontainers.image.ref.name';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}
interface Referrer {
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
}
interface SpdxPackage {
  name: string;
  SPDXID: string;
  versionInfo?: string;
  downloadLocation: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  licenseDeclared: string;
  externalRefs?: { referenceType: string; referenceLocator: string }[];
  primaryPackagePurpose?: string;
}
interface SpdxDoc {
  documentNamespace: string;
  packages: SpdxPackage[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
  hasExtractedLicensingInfos?: { licenseId: string; extractedText: string; name?: string }[];
  externalDocumentRefs?: { externalDocumentId: string; spdxDocument: string; checksum: { algorithm: string; checksumValue: string } }[];
}

interface CdxComponent {
  type: string;
  'bom-ref': string;
  name: string;
  version?: string;
  hashes?: { alg: string; content: string }[];
  licenses?: { expression: string }[];
  purl?: string;
  externalReferences?: { type: string; url: string; hashes?: { alg: string; content: string }[] }[];
}
interface CdxDoc {
  serialNumber: string;
  metadata: { component: CdxComponent; tools: { components: { name: string; version: string }[] } };
  components: CdxComponent[];
  dependencies: { ref: string; dependsOn: string[] }[];
}

const work = await mkdtemp(join(tmpdir(), 'alba-sbom-fixture-'));
let repo: Repo;
let server: RepoServer;
let project: FixtureProject;
let layout: string;
/** Descriptors of index.json by ref name. */
const refs = new Map<string, Descriptor>();
before(async () => {
  repo = await makeFixtureDistro(join(work, 'repo'));
  server = await serveDir(repo.dir);
  project = await writeFixtureProject(join(work, 'project'), { url: server.url, keyring: repo.keyringPath, tag: TAG });
  const lock = await runAlba(['lock', project.recipe, '--cache', join(work, 'cache')]);
  assert.equal(lock.status, 0, explainRun(lock));
  layout = join(work, 'out');
  const build = await runAlba(['build', project.recipe, '--cache', join(work, 'cache'), '--out', layout]);
  assert.equal(build.status, 0, explainRun(build));
  const layoutIndex = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  for (const d of layoutIndex.manifests) refs.set(d.annotations?.[REF_NAME] ?? d.digest, d);
});
after(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function ref(name: string): Descriptor {
  const d = refs.get(name);
  assert.ok(d !== undefined, `index.json has no ref ${name}`);
  return d;
}

async function sbomFile(name: string): Promise<Buffer> {
  return readFile(join(layout, 'sbom', name));
}

async function sbomDoc(arch: string): Promise<SpdxDoc> {
  return JSON.parse((await sbomFile(`${arch}.spdx.json`)).toString('utf8')) as SpdxDoc;
}

async function cdxDoc(name: string): Promise<CdxDoc> {
  return JSON.parse((await sbomFile(`${name}.cdx.json`)).toString('utf8')) as CdxDoc;
}

/** Debian packages of a CycloneDX document (not the recipe's files). */
function cdxDebs(doc: CdxDoc): CdxComponent[] {
  return doc.components.filter((c) => c.purl?.startsWith('pkg:deb/'));
}

/** Debian packages of a document (not the image, not the recipe's files). */
function debPackages(doc: SpdxDoc): SpdxPackage[] {
  return doc.packages.filter((p) => p.externalRefs?.some((r) => r.referenceLocator.startsWith('pkg:deb/')));
}

/** Every blob of the layout that parses as a referrer manifest of `artifactType` (SPDX by default), by its digest. */
async function referrers(artifactType = SPDX): Promise<Map<string, { manifest: Referrer; bytes: Buffer }>> {
  const dir = join(layout, 'blobs', 'sha256');
  const out = new Map<string, { manifest: Referrer; bytes: Buffer }>();
  for (const name of await readdir(dir)) {
    const bytes = await readFile(join(dir, name));
    let parsed: Referrer;
    try {
      parsed = JSON.parse(bytes.toString('utf8')) as Referrer;
    } catch {
      continue;
    }
    if (parsed.artifactType === artifactType) out.set(`sha256:${name}`, { manifest: parsed, bytes });
  }
  return out;
}

const installed = new Map<string, Promise<string[]>>();

/** status.d stanzas of the unpacked image of `arch`: `name version` of every package (unpacked once). */
function installedPackages(arch: string): Promise<string[]> {
  if (!installed.has(arch)) installed.set(arch, unpackedPackages(arch));
  return installed.get(arch) as Promise<string[]>;
}

async function unpackedPackages(arch: string): Promise<string[]> {
  const bundle = join(work, `bundle-${arch}`);
  const rootless = process.getuid?.() === 0 ? [] : ['--rootless'];
  const run = spawnSync('umoci', ['unpack', ...rootless, '--image', `${layout}:${SLUG_REFS[arch]}`, bundle], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const dir = join(bundle, 'rootfs', 'var', 'lib', 'dpkg', 'status.d');
  const out: string[] = [];
  for (const name of (await readdir(dir)).filter((n) => !n.endsWith('.md5sums'))) {
    const stanza = await readFile(join(dir, name), 'utf8');
    const field = (key: string): string | undefined => new RegExp(`^${key}: (.*)$`, 'm').exec(stanza)?.[1];
    assert.equal(field('Package'), name, `status.d/${name} names another package`);
    out.push(`${field('Package')} ${field('Version')}`);
  }
  return out.sort();
}

describe('SBOMs of the fixture build', () => {
  test('every SPDX document in <layout>/sbom/ is valid SPDX 2.3', async (t) => {
    const names = (await readdir(join(layout, 'sbom'))).sort();
    assert.deepEqual(names, [
      'amd64.cdx.json',
      'amd64.spdx.json',
      'arm64.cdx.json',
      'arm64.spdx.json',
      'index.cdx.json',
      'index.spdx.json',
    ]);
    if (schemasAvailable(t))
      for (const name of names.filter((n) => n.endsWith('.spdx.json')))
        assert.deepEqual(spdxProblems(JSON.parse((await sbomFile(name)).toString('utf8'))), [], name);
  });

  test('every CycloneDX document in <layout>/sbom/ is valid CycloneDX 1.6 (the schema of @cyclonedx/cyclonedx-library)', async () => {
    for (const name of ['amd64', 'arm64', 'index']) assert.deepEqual(cyclonedxProblems(await cdxDoc(name)), [], name);
  });

  test('alba sbom prints the index document, and with --platform the platform one, byte for byte', async () => {
    const cases: [string[], string][] = [
      [[], 'index.spdx.json'],
      [['--platform', 'linux/arm64'], 'arm64.spdx.json'],
      [['--platform', 'amd64'], 'amd64.spdx.json'],
      [['--platform', 'linux/arm64/v8'], 'arm64.spdx.json'],
    ];
    for (const [args, file] of cases) {
      const run = await runAlba(['sbom', layout, ...args]);
      assert.equal(run.status, 0, explainRun(run));
      assert.ok(Buffer.from(run.stdout, 'utf8').equals(await sbomFile(file)), `alba sbom ${args.join(' ')} is not sbom/${file}`);
    }
    for (const [args, file] of [
      [[], 'index.cdx.json'],
      [['--platform', 'linux/arm64'], 'arm64.cdx.json'],
      [['--platform', 'amd64'], 'amd64.cdx.json'],
    ] as [string[], string][]) {
      const run = await runAlba(['sbom', layout, '--format', 'cyclonedx', ...args]);
      assert.equal(run.status, 0, explainRun(run));
      assert.ok(
        Buffer.from(run.stdout, 'utf8').equals(await sbomFile(file)),
        `alba sbom --format cyclonedx ${args.join(' ')} is not sbom/${file}`,
      );
    }
    const missing = await runAlba(['sbom', layout, '--platform', 'linux/s390x']);
    assert.equal(missing.status, 1, explainRun(missing));
    assert.match(missing.stderr, /^alba: error\[SBOM_NOT_FOUND\]: no images for platform linux\/s390x/m);
  });

  for (const [artifactType, ext] of [
    [SPDX, 'spdx'],
    [CYCLONEDX, 'cdx'],
  ] as const)
    test(`each image and the index have one ${ext} referrer manifest carrying their document`, async (t) => {
      const found = await referrers(artifactType);
      const subjects: [string, string][] = [
        [TAG, `index.${ext}.json`],
        ...ARCHS.map((a): [string, string] => [SLUG_REFS[a] as string, `${a}.${ext}.json`]),
      ];
      assert.equal(found.size, subjects.length);
      for (const [refName, file] of subjects) {
        const subject = ref(refName);
        const matching = [...found.entries()].filter(([, r]) => r.manifest.subject?.digest === subject.digest);
        assert.equal(matching.length, 1, `referrers of ${refName}`);
        const [digest, { manifest, bytes }] = matching[0] as [string, { manifest: Referrer; bytes: Buffer }];
        assert.equal(sha256(bytes), digest.slice('sha256:'.length));
        if (schemasAvailable(t)) assert.deepEqual(validateOci(OciSchema.manifest, manifest), [], `referrer of ${refName}`);
        assert.equal(manifest.mediaType, MANIFEST);
        assert.deepEqual(manifest.subject, { mediaType: subject.mediaType, digest: subject.digest, size: subject.size });
        assert.equal(manifest.config.mediaType, 'application/vnd.oci.empty.v1+json');
        assert.equal(await readFile(join(layout, 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8'), '{}');
        const document = await sbomFile(file);
        assert.deepEqual(
          manifest.layers.map((l) => [l.mediaType, l.digest, l.size, l.annotations?.['org.opencontainers.image.title']]),
          [[artifactType, `sha256:${sha256(document)}`, document.length, file]],
        );
        assert.ok((await readFile(join(layout, 'blobs', 'sha256', sha256(document)))).equals(document));
      }
    });

  for (const arch of ARCHS) {
    test(`${arch}: CycloneDX components ≡ SPDX packages ≡ status.d (name, version, purl, .deb sha256, URL, licence)`, async (t) => {
      const cdx = await cdxDoc(arch);
      const spdx = await sbomDoc(arch);
      const components = cdxDebs(cdx);
      assert.deepEqual(
        components.map((c) => [
          c.name,
          c.version,
          c.purl,
          c.hashes,
          c.externalReferences?.[0]?.url,
          c.licenses?.[0]?.expression ?? 'NOASSERTION',
        ]),
        debPackages(spdx).map((p) => [
          p.name,
          p.versionInfo,
          p.externalRefs?.find((r) => r.referenceType === 'purl')?.referenceLocator,
          p.checksums?.map((c) => ({ alg: 'SHA-256', content: c.checksumValue })),
          p.downloadLocation,
          p.licenseDeclared,
        ]),
      );
      for (const c of components) {
        const debArch = FIXTURE_INSTALLED[c.name]?.arch === 'all' ? 'all' : arch;
        const deb = repo.debs.find((d) => d.name === c.name && d.architecture === debArch);
        assert.ok(deb !== undefined, `${c.name} ${debArch} is not in the fixture`);
        assert.deepEqual(c.hashes, [{ alg: 'SHA-256', content: sha256(await readFile(join(repo.dir, deb.filename))) }], c.name);
        assert.match(c.purl ?? '', new RegExp(`^pkg:deb/debian/${c.name}@[^?]+\\?arch=${debArch}&distro=debian-12`));
      }
      assert.deepEqual(Object.fromEntries(components.map((c) => [c.name, c.licenses?.[0]?.expression ?? 'NOASSERTION'])), FIXTURE_LICENSES);
      const program = await readFile(project.programs.get(arch) as string);
      assert.deepEqual(
        cdx.components.filter((c) => c.type === 'file').map((c) => [c.name, c.hashes]),
        [['/usr/bin/app', [{ alg: 'SHA-256', content: sha256(program) }]]],
      );
      if (!requireTool('umoci', t)) return;
      assert.deepEqual(components.map((c) => `${c.name} ${c.version}`).sort(), await installedPackages(arch));
    });

    test(`${arch}: CycloneDX metadata is the image (manifest digest) and alba; dependencies are the fixture's`, async () => {
      const cdx = await cdxDoc(arch);
      const manifest = ref(SLUG_REFS[arch] as string);
      assert.deepEqual(cdx.metadata.component.hashes, [{ alg: 'SHA-256', content: manifest.digest.slice(7) }]);
      assert.equal(cdx.metadata.component.type, 'container');
      assert.match(cdx.metadata.component.purl ?? '', new RegExp(`@sha256%3A${manifest.digest.slice(7)}\\?arch=${arch}`));
      assert.deepEqual(
        cdx.metadata.tools.components.map((c) => c.name),
        ['alba'],
      );
      const names = new Map(cdx.components.map((c) => [c['bom-ref'], c.name]));
      const edges = cdx.dependencies
        .filter((d) => d.ref !== cdx.metadata.component['bom-ref'])
        .flatMap((d) => d.dependsOn.map((to) => `${names.get(d.ref)} -> ${names.get(to)}`))
        .sort();
      const expected = Object.entries(FIXTURE_DEPENDS)
        .flatMap(([from, tos]) => tos.map((to) => `${from} -> ${to}`))
        .sort();
      assert.deepEqual(edges, expected);
    });

    test(`${arch}: the SBOM lists exactly the packages of the image's status.d`, async (t) => {
      if (!requireTool('umoci', t)) return;
      const listed = debPackages(await sbomDoc(arch))
        .map((p) => `${p.name} ${p.versionInfo}`)
        .sort();
      assert.deepEqual(listed, await installedPackages(arch));
      assert.deepEqual(
        listed,
        Object.entries(FIXTURE_INSTALLED)
          .map(([n, p]) => `${n} ${p.version}`)
          .sort(),
      );
    });

    test(`${arch}: package checksums and download locations are those of the fixture .debs`, async () => {
      for (const p of debPackages(await sbomDoc(arch))) {
        const debArch = FIXTURE_INSTALLED[p.name]?.arch === 'all' ? 'all' : arch;
        const deb = repo.debs.find((d) => d.name === p.name && d.architecture === debArch);
        assert.ok(deb !== undefined, `${p.name} ${debArch} is not in the fixture`);
        assert.deepEqual(p.checksums, [{ algorithm: 'SHA256', checksumValue: sha256(await readFile(join(repo.dir, deb.filename))) }]);
        assert.equal(p.downloadLocation, `${server.url}/${deb.filename}`);
        assert.ok(
          p.externalRefs?.some((r) => r.referenceType === 'purl' && r.referenceLocator.includes(`arch=${debArch}`)),
          `${p.name} purl`,
        );
      }
    });

    test(`${arch}: DEP-5 licences are declared, other copyright files give NOASSERTION`, async () => {
      const doc = await sbomDoc(arch);
      const declared = Object.fromEntries(debPackages(doc).map((p) => [p.name, p.licenseDeclared]));
      assert.deepEqual(declared, FIXTURE_LICENSES);
      const extracted = doc.hasExtractedLicensingInfos ?? [];
      assert.deepEqual(
        extracted.map((e) => e.licenseId),
        ['LicenseRef-public-domain'],
      );
      assert.match(extracted[0]?.extractedText ?? '', /This database is in the public domain\./);
    });

    test(`${arch}: the recipe's file is listed with its sha256`, async () => {
      const files = (await sbomDoc(arch)).packages.filter((p) => p.primaryPackagePurpose === 'FILE');
      const program = await readFile(project.programs.get(arch) as string);
      assert.deepEqual(
        files.map((f) => [f.name, f.checksums]),
        [['/usr/bin/app', [{ algorithm: 'SHA256', checksumValue: sha256(program) }]]],
      );
    });

    test(`${arch}: DEPENDS_ON relationships are the fixture's dependencies`, async () => {
      const doc = await sbomDoc(arch);
      const names = new Map(doc.packages.map((p) => [p.SPDXID, p.name]));
      const edges = doc.relationships
        .filter((r) => r.relationshipType === 'DEPENDS_ON')
        .map((r) => `${names.get(r.spdxElementId)} -> ${names.get(r.relatedSpdxElement)}`)
        .sort();
      const expected = Object.entries(FIXTURE_DEPENDS)
        .flatMap(([from, tos]) => tos.map((to) => `${from} -> ${to}`))
        .sort();
      assert.deepEqual(edges, expected);
    });
  }

  test('the index document refers to each platform document by namespace and SHA1', async () => {
    const index = JSON.parse((await sbomFile('index.spdx.json')).toString('utf8')) as SpdxDoc;
    const expected = await Promise.all(
      ARCHS.map(async (arch) => {
        const bytes = await sbomFile(`${arch}.spdx.json`);
        return {
          externalDocumentId: `DocumentRef-${arch}`,
          spdxDocument: (JSON.parse(bytes.toString('utf8')) as SpdxDoc).documentNamespace,
          checksum: { algorithm: 'SHA1', checksumValue: createHash('sha1').update(bytes).digest('hex') },
        };
      }),
    );
    assert.deepEqual(index.externalDocumentRefs, expected);
    const images = index.packages.filter((p) => p.primaryPackagePurpose === 'CONTAINER').map((p) => p.versionInfo);
    assert.deepEqual(images, [ref(TAG).digest, ...ARCHS.map((a) => ref(SLUG_REFS[a] as string).digest)]);
  });

  test('the CycloneDX index document: the index digest, each platform image by digest and BOM-Link to its document', async () => {
    const index = await cdxDoc('index');
    assert.deepEqual(index.metadata.component.hashes, [{ alg: 'SHA-256', content: ref(TAG).digest.slice(7) }]);
    const expected = await Promise.all(
      ARCHS.map(async (arch) => {
        const bytes = await sbomFile(`${arch}.cdx.json`);
        const serial = (JSON.parse(bytes.toString('utf8')) as CdxDoc).serialNumber.slice('urn:uuid:'.length);
        return [
          ref(SLUG_REFS[arch] as string).digest,
          { type: 'bom', url: `urn:cdx:${serial}/1`, hashes: [{ alg: 'SHA-256', content: sha256(bytes) }] },
        ];
      }),
    );
    assert.deepEqual(
      index.components.map((c) => [c.version, c.externalReferences?.[0]]),
      expected,
    );
  });
});
