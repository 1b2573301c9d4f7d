import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, test, type TestContext } from 'node:test';
import { findArch, type TargetArch } from '../../src/debian/arch.js';
import { platformRefName } from '../../src/sink/layout/layout-refs.js';
import type { LockedPackage, LockFile } from '../../src/lock/lock-types.js';
import { repoRoot } from '../helpers/repo-root.js';
import { unpackImage, type Bundle } from '../helpers/rootfs.js';
import { runAlba, type AlbaRun } from '../helpers/run-alba.js';
import { cyclonedxProblems } from '../helpers/cyclonedx-schema.js';
import { spdxProblems } from '../helpers/spdx-schema.js';
import { requireTool } from '../helpers/tools.js';
import { schemasAvailable } from '../helpers/schemas.js';

// The SBOMs of a real-mirror build of recipes/base.yaml (`--mirror apt`), checked against what the
// build placed: the dpkg status.d entries of the unpacked rootfs, the lock, the .debs in the cache,
// the copyright files. Outside CI an unreachable mirror skips these tests; with CI=true it fails them.

const work = await mkdtemp(join(tmpdir(), 'alba-sbom-real-'));
const cache = join(work, 'cache');
const recipeDir = join(work, 'base');
const recipePath = join(recipeDir, 'base.yaml');
const lockPath = join(recipeDir, 'base.lock.json');
const layout = join(work, 'out-1');
after(() => rm(work, { recursive: true, force: true }));

const ARCHS = ['amd64', 'arm64'].map((a) => findArch(a) as TargetArch);
const TAG = 'latest';
const STATIC_BINARY = '/bin/busybox';

/** Set by the `before` hook: the lock, or why the tests are skipped. */
let lock: LockFile | undefined;
let skipReason: string | undefined;

/** `alba ARGS --mirror apt --cache CACHE`; throws unless it succeeds (or the mirror is unreachable outside CI: then undefined). */
async function alba(args: string[]): Promise<AlbaRun | undefined> {
  const run = await runAlba([...args, '--mirror', 'apt', '--cache', cache], { timeoutMs: 600_000 });
  if (run.status === 0) return run;
  if (/error\[(NETWORK|APT_SOURCES)\]/.test(run.stderr) && process.env.CI !== 'true') {
    skipReason = `the host's Debian mirror is not usable: ${run.stderr.split('\n').find((l) => l.includes('error[')) ?? ''}`;
    return undefined;
  }
  throw new Error(`alba ${args.join(' ')} --mirror apt failed (status ${run.status}):\n${run.stderr}`);
}

// Lock a copy of recipes/base.yaml (no lock file lands in the repository), then build it once.
before(async () => {
  await mkdir(recipeDir);
  await copyFile(join(repoRoot(), 'recipes', 'base.yaml'), recipePath);
  if ((await alba(['lock', recipePath])) === undefined) return;
  if ((await alba(['build', recipePath, '--out', layout])) === undefined) return;
  lock = JSON.parse(await readFile(lockPath, 'utf8')) as LockFile;
});

/** The lock of the shared build; undefined (test skipped) when the mirror was unreachable outside CI. */
function lockOrSkip(t: TestContext): LockFile | undefined {
  if (lock === undefined) t.skip(skipReason ?? 'the shared build did not run');
  return lock;
}

interface SpdxPackage {
  name: string;
  SPDXID: string;
  versionInfo?: string;
  downloadLocation: string;
  packageFileName?: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  licenseDeclared: string;
  externalRefs?: { referenceType: string; referenceLocator: string }[];
  primaryPackagePurpose?: string;
}

interface SpdxDocument {
  packages: SpdxPackage[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
  hasExtractedLicensingInfos?: { licenseId: string; extractedText: string }[];
  externalDocumentRefs?: { externalDocumentId: string; checksum: { algorithm: string; checksumValue: string } }[];
}

/** A Debian package of an SBOM, with its arch from the purl. */
interface SbomDeb {
  spdx: SpdxPackage;
  name: string;
  version: string;
  architecture: string;
  sha256: string;
}

function sbomPath(out: string, arch?: TargetArch): string {
  return join(out, 'sbom', `${arch === undefined ? 'index' : arch.name}.spdx.json`);
}

async function readSbom(out: string, arch?: TargetArch): Promise<SpdxDocument> {
  return JSON.parse(await readFile(sbomPath(out, arch), 'utf8')) as SpdxDocument;
}

/** The packages of a per-arch SBOM that carry a `pkg:deb/` purl. */
function debsOf(doc: SpdxDocument): SbomDeb[] {
  return doc.packages.flatMap((p) => {
    const purl = p.externalRefs?.find((r) => r.referenceType === 'purl')?.referenceLocator ?? '';
    if (!purl.startsWith('pkg:deb/')) return [];
    const architecture = new URL(`http://x/?${purl.split('?')[1] ?? ''}`).searchParams.get('arch') ?? '';
    const sha256 = p.checksums?.find((c) => c.algorithm === 'SHA256')?.checksumValue ?? '';
    return [{ spdx: p, name: p.name, version: p.versionInfo ?? '', architecture, sha256 }];
  });
}

function lockedOf(lockFile: LockFile, arch: TargetArch): Map<string, LockedPackage> {
  return new Map((lockFile.archs[arch.name] ?? []).map((p) => [p.name, p]));
}

const bundles = new Map<string, Promise<Bundle>>();

/** umoci-unpacks one platform of a layout, once. */
function unpacked(out: string, arch: TargetArch): Promise<Bundle> {
  const ref = platformRefName(TAG, arch.platform);
  const key = `${out}:${ref}`;
  let pending = bundles.get(key);
  if (pending === undefined) {
    pending = unpackImage(out, ref, `${out}-bundle-${arch.name}`);
    bundles.set(key, pending);
  }
  return pending;
}

/** `name → {version, architecture}` of every dpkg status.d entry of a rootfs (the .md5sums files are not entries). */
async function statusEntries(rootfs: string): Promise<Map<string, { version: string; architecture: string }>> {
  const dir = join(rootfs, 'var/lib/dpkg/status.d');
  const entries = new Map<string, { version: string; architecture: string }>();
  for (const file of (await readdir(dir)).filter((f) => !f.endsWith('.md5sums')).sort()) {
    const text = await readFile(join(dir, file), 'utf8');
    const field = (name: string): string => new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1] ?? '';
    assert.equal(field('Package'), file, `status.d/${file} is named after its package`);
    assert.equal(field('Status'), 'install ok installed', `status.d/${file}`);
    entries.set(field('Package'), { version: field('Version'), architecture: field('Architecture') });
  }
  return entries;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function sbomFiles(out: string): Promise<Map<string, Buffer>> {
  const dir = join(out, 'sbom');
  const names = (await readdir(dir)).sort();
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n))] as [string, Buffer])));
}

interface CdxDocument {
  components: {
    name: string;
    version?: string;
    purl?: string;
    hashes?: { alg: string; content: string }[];
    licenses?: { expression: string }[];
  }[];
}

for (const arch of ARCHS) {
  test(`real mirror: ${arch.name} CycloneDX is schema-valid; components ≡ SPDX packages ≡ status.d, with the lock's sha256`, async (t) => {
    const lockFile = lockOrSkip(t);
    if (lockFile === undefined || !requireTool('umoci', t)) return;
    const cdx = JSON.parse(await readFile(join(layout, 'sbom', `${arch.name}.cdx.json`), 'utf8')) as CdxDocument;
    assert.deepEqual(cyclonedxProblems(cdx), []);
    const components = cdx.components.filter((c) => c.purl?.startsWith('pkg:deb/'));
    const spdx = debsOf(await readSbom(layout, arch));
    assert.deepEqual(
      components.map((c) => [c.name, c.version, c.purl, c.hashes?.[0]?.content, c.licenses?.[0]?.expression ?? 'NOASSERTION']),
      spdx.map((d) => [
        d.name,
        d.version,
        d.spdx.externalRefs?.find((r) => r.referenceType === 'purl')?.referenceLocator,
        d.sha256,
        d.spdx.licenseDeclared,
      ]),
    );
    const status = await statusEntries((await unpacked(layout, arch)).rootfs);
    assert.deepEqual(components.map((c) => `${c.name} ${c.version}`).sort(), [...status].map(([name, s]) => `${name} ${s.version}`).sort());
    const locked = lockedOf(lockFile, arch);
    for (const c of components) assert.deepEqual(c.hashes, [{ alg: 'SHA-256', content: locked.get(c.name)?.sha256 }], c.name);
  });

  test(`real mirror: ${arch.name} SBOM lists exactly the status.d entries of the unpacked rootfs (name, Version, Architecture)`, async (t) => {
    if (!requireTool('umoci', t) || lockOrSkip(t) === undefined) return;
    const { rootfs } = await unpacked(layout, arch);
    const status = await statusEntries(rootfs);
    const debs = debsOf(await readSbom(layout, arch));
    assert.ok(debs.length >= 8, `only ${debs.length} Debian packages in the SBOM`);
    assert.deepEqual(new Map(debs.map((d) => [d.name, { version: d.version, architecture: d.architecture }])), status);
  });

  test(`real mirror: ${arch.name} SBOM checksums are the lock's sha256 and the sha256 of each cached .deb`, async (t) => {
    const lockFile = lockOrSkip(t);
    if (lockFile === undefined) return;
    const locked = lockedOf(lockFile, arch);
    const debs = debsOf(await readSbom(layout, arch));
    assert.deepEqual(debs.map((d) => d.name).sort(), [...locked.keys()].sort(), "the SBOM has the lock's packages");
    for (const deb of debs) {
      const pinned = locked.get(deb.name) as LockedPackage;
      assert.equal(deb.version, pinned.version, deb.name);
      assert.equal(deb.architecture, pinned.architecture, deb.name);
      assert.equal(deb.sha256, pinned.sha256, `${deb.name}: SBOM checksum vs lock`);
      assert.equal(
        await sha256File(join(cache, 'blobs', 'sha256', pinned.sha256)),
        deb.sha256,
        `${deb.name}: SBOM checksum vs the downloaded .deb`,
      );
      // Built with --mirror apt: the SBOM names the URL the .deb really came from, and it serves that .deb.
      assert.ok(deb.spdx.downloadLocation.endsWith(`/${pinned.filename}`), `${deb.name}: ${deb.spdx.downloadLocation}`);
      assert.ok(!deb.spdx.downloadLocation.startsWith(pinned.repo), `${deb.name}: names the snapshot, not the mirror used`);
      const head = await fetch(deb.spdx.downloadLocation, { method: 'HEAD' });
      assert.equal(head.status, 200, deb.spdx.downloadLocation);
      assert.equal(Number(head.headers.get('content-length')), pinned.size, deb.spdx.downloadLocation);
    }
  });

  test(`real mirror: ${arch.name} SBOM DEPENDS_ON relationships are exactly the lock's dependsOn (libssl3 → libc6, libc6 → libgcc-s1)`, async (t) => {
    const lockFile = lockOrSkip(t);
    if (lockFile === undefined) return;
    const doc = await readSbom(layout, arch);
    const nameOf = new Map(debsOf(doc).map((d) => [d.spdx.SPDXID, d.name]));
    const inSbom = doc.relationships
      .filter((r) => r.relationshipType === 'DEPENDS_ON')
      .map((r) => `${nameOf.get(r.spdxElementId) ?? r.spdxElementId} -> ${nameOf.get(r.relatedSpdxElement) ?? r.relatedSpdxElement}`)
      .sort();
    const inLock = [...lockedOf(lockFile, arch).values()].flatMap((p) => [...new Set(p.dependsOn)].map((d) => `${p.name} -> ${d}`)).sort();
    assert.deepEqual(inSbom, inLock);
    for (const edge of ['libssl3 -> libc6', 'libc6 -> libgcc-s1', 'libgcc-s1 -> gcc-12-base'])
      assert.ok(inSbom.includes(edge), `${arch.name}: ${edge}`);
  });
}

test('real mirror: SBOM licences: netbase and tzdata from their DEP-5 copyright, base-files and other non-DEP-5 ones never a guessed SPDX id', async (t) => {
  if (!requireTool('umoci', t) || lockOrSkip(t) === undefined) return;
  for (const arch of ARCHS) {
    const doc = await readSbom(layout, arch);
    const texts = new Map((doc.hasExtractedLicensingInfos ?? []).map((e) => [e.licenseId, e.extractedText]));
    const debs = new Map(debsOf(doc).map((d) => [d.name, d.spdx.licenseDeclared]));
    assert.match(debs.get('netbase') ?? '', /^GPL-2\.0-only$/, `${arch.name}: netbase (License: GPL-2)`);
    const tzdata = debs.get('tzdata') ?? '';
    assert.match(tzdata, /^LicenseRef-[A-Za-z0-9.-]+$/, `${arch.name}: tzdata (License: public-domain)`);
    assert.match(texts.get(tzdata) ?? '', /public domain/i, `${arch.name}: tzdata's licence text`);
    assert.equal(debs.get('base-files'), 'NOASSERTION', `${arch.name}: base-files' copyright is not DEP-5`);

    const { rootfs } = await unpacked(layout, arch);
    for (const [name, declared] of debs) {
      for (const ref of declared.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? [])
        assert.ok((texts.get(ref) ?? '').trim() !== '', `${arch.name} ${name}: ${ref} has its text`);
      const copyright = await readFile(join(rootfs, 'usr/share/doc', name, 'copyright'), 'utf8');
      if (/^Format: \S*copyright-format\/1\.0/.test(copyright)) {
        assert.notEqual(declared, 'NOASSERTION', `${arch.name} ${name}: a DEP-5 copyright gives a licence`);
      } else {
        assert.match(
          declared,
          /^(NOASSERTION|LicenseRef-[A-Za-z0-9.-]+)$/,
          `${arch.name} ${name}: not DEP-5, so no SPDX id may be guessed`,
        );
      }
    }
  }
});

test('real mirror: every SBOM document validates; the index SBOM holds the SHA1 of each platform document; each is also a layout blob', async (t) => {
  if (lockOrSkip(t) === undefined) return;
  const index = await readSbom(layout);
  if (schemasAvailable(t)) assert.deepEqual(spdxProblems(index), [], 'index.spdx.json');
  const refs = new Map((index.externalDocumentRefs ?? []).map((r) => [r.externalDocumentId, r.checksum]));
  assert.equal(refs.size, ARCHS.length);
  for (const arch of [undefined, ...ARCHS]) {
    const bytes = await readFile(sbomPath(layout, arch));
    if (arch !== undefined) {
      if (schemasAvailable(t)) assert.deepEqual(spdxProblems(JSON.parse(bytes.toString('utf8'))), [], `${arch.name}.spdx.json`);
      assert.deepEqual(refs.get(`DocumentRef-${arch.name}`), {
        algorithm: 'SHA1',
        checksumValue: createHash('sha1').update(bytes).digest('hex'),
      });
    }
    await access(join(layout, 'blobs', 'sha256', createHash('sha256').update(bytes).digest('hex')));
  }
});

test('real mirror: a second build into a fresh directory with the same cache writes byte-identical SBOMs and index.json', async (t) => {
  if (lockOrSkip(t) === undefined) return;
  const second = join(work, 'out-2');
  if ((await alba(['build', recipePath, '--out', second])) === undefined) return t.skip(skipReason);
  const first = await sbomFiles(layout);
  assert.deepEqual(
    [...first.keys()],
    ['amd64.cdx.json', 'amd64.spdx.json', 'arm64.cdx.json', 'arm64.spdx.json', 'index.cdx.json', 'index.spdx.json'],
  );
  assert.deepEqual(await sbomFiles(second), first);
  assert.deepEqual(await readFile(join(second, 'index.json')), await readFile(join(layout, 'index.json')));
});

test('real mirror: a static binary added with files: is in the amd64 SBOM with the sha256 of the file placed in the rootfs', async (t) => {
  if (!requireTool('umoci', t) || !requireTool('file', t) || lockOrSkip(t) === undefined) return;
  const kind = spawnSync('file', ['-L', STATIC_BINARY], { encoding: 'utf8' }).stdout;
  if (!/ELF 64-bit .*x86-64.*statically linked/.test(kind)) {
    if (process.env.CI === 'true')
      assert.fail(`${STATIC_BINARY} must be a static x86-64 binary (apt-get install busybox-static); file says: ${kind}`);
    return t.skip(`${STATIC_BINARY} is not a static x86-64 binary (install busybox-static): ${kind}`);
  }
  const dir = join(work, 'files');
  await mkdir(dir);
  const recipe = join(dir, 'base.yaml');
  const dst = '/usr/local/bin/busybox';
  await writeFile(recipe, `${await readFile(recipePath, 'utf8')}files:\n  - src: busybox-{debarch}\n    dst: ${dst}\n    mode: "0755"\n`);
  await copyFile(lockPath, join(dir, 'base.lock.json')); // files: are not resolution inputs: the lock stays valid
  await copyFile(STATIC_BINARY, join(dir, 'busybox-amd64'));
  const out = join(work, 'out-files');
  if ((await alba(['build', recipe, '--arch', 'amd64', '--out', out])) === undefined) return t.skip(skipReason);

  const expected = await sha256File(STATIC_BINARY);
  const amd64 = ARCHS[0] as TargetArch;
  const doc = await readSbom(out, amd64);
  if (schemasAvailable(t)) assert.deepEqual(spdxProblems(doc), []);
  const files = doc.packages.filter((p) => p.primaryPackagePurpose === 'FILE');
  assert.deepEqual(
    files.map((f) => [f.packageFileName, f.checksums]),
    [[dst, [{ algorithm: 'SHA256', checksumValue: expected }]]],
  );
  assert.ok(
    doc.relationships.some(
      (r) => r.spdxElementId === 'SPDXRef-Image' && r.relationshipType === 'CONTAINS' && r.relatedSpdxElement === files[0]?.SPDXID,
    ),
  );
  const { rootfs } = await unpacked(out, amd64);
  assert.equal(await sha256File(join(rootfs, dst)), expected, 'the SBOM checksum is that of the file in the image');
  assert.deepEqual(
    debsOf(doc).map((d) => [d.name, d.sha256]),
    debsOf(await readSbom(layout, amd64)).map((d) => [d.name, d.sha256]),
    'the Debian packages are those of the build without the file',
  );
});
