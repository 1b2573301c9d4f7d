import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeFixtureDistro, writeFixtureProject } from '../helpers/fixture-distro.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { serveDir } from '../helpers/repo-server.js';
import { explainRun, runAlba } from '../helpers/run-alba.js';
import { requireTool } from '../helpers/tools.js';
import { sigstorePull, trixieTools, type TrixieTools } from '../helpers/trixie-tools.js';

// Signatures and attestations alba writes, checked by tools nobody here wrote (cosign 2.5, skopeo
// 1.18 from Debian 13) against a CNCF distribution registry, and cosign's read by `alba verify`.

const PASSWORD = 'correct horse battery staple';
const tools = requireTool('docker-registry') ? trixieTools() : 'docker-registry is not installed';
const needs = typeof tools === 'string' ? { skip: tools } : {};
const { cosign, skopeo } = typeof tools === 'string' ? ({} as TrixieTools) : tools;

const work = await mkdtemp(join(tmpdir(), 'alba-trust-'));
const env = { DOCKER_CONFIG: join(work, 'no-docker-config'), ALBA_SIGN_PASSWORD: PASSWORD, COSIGN_PASSWORD: PASSWORD };
let registry: RegistryServer;
let closeRepo: () => Promise<void>;
let recipe: string;
let lockPath: string;
let layout: string;
let built: { index: { digest: string }; manifests: { platform: string; digest: string }[] };
const cache = join(work, 'cache');
const key = join(work, 'cosign.key');
const pub = join(work, 'cosign.pub');
const otherKey = join(work, 'other.pem');
const otherPub = join(work, 'other.pub');

before(async () => {
  if (typeof tools === 'string') return;
  registry = await startRegistry();
  const repo = await makeFixtureDistro(join(work, 'repo'));
  const server = await serveDir(repo.dir);
  closeRepo = () => server.close();
  const project = await writeFixtureProject(join(work, 'project'), { url: server.url, keyring: repo.keyringPath, tag: 'signed' });
  recipe = project.recipe;
  lockPath = project.lock;
  layout = join(work, 'out');
  run(cosign, ['generate-key-pair', '--output-key-prefix', join(work, 'cosign')], { COSIGN_PASSWORD: PASSWORD });
  run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', otherKey]);
  run('openssl', ['pkey', '-in', otherKey, '-pubout', '-out', otherPub]);
  const lock = await runAlba(['lock', recipe, '--cache', cache]);
  assert.equal(lock.status, 0, explainRun(lock));
  const build = await runAlba(
    ['build', recipe, '--cache', cache, '--out', layout, '--push', `docker://${registry.host}/fixture/app`, '--sign-key', key, '--json'],
    { env },
  );
  assert.equal(build.status, 0, explainRun(build));
  built = JSON.parse(build.stdout) as typeof built;
  await assertNoSecret(build.stdout + build.stderr, 'alba build --push --sign-key');
});
after(async () => {
  await registry?.close();
  await closeRepo?.();
  await rm(work, { recursive: true, force: true });
});

function run(file: string, args: string[], extra: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(file, args, { encoding: 'utf8', env: { ...process.env, ...extra }, cwd: work, timeout: 120_000 });
  assert.equal(r.status, 0, `${file} ${args.join(' ')}: ${r.stderr}`);
  return r;
}

function tryRun(
  file: string,
  args: string[],
  extra: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(file, args, { encoding: 'utf8', env: { ...process.env, ...extra }, cwd: work, timeout: 120_000 });
}

/** The private key's secrets: the passphrase, the PEM bodies, the scalar. */
async function secrets(): Promise<string[]> {
  const pem = await readFile(key, 'utf8');
  const body = pem.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
  const other = (await readFile(otherKey, 'utf8')).split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
  const { createPrivateKey } = await import('node:crypto');
  const d = createPrivateKey(await readFile(otherKey)).export({ format: 'jwk' }).d as string;
  return [PASSWORD, ...body, ...other, d, Buffer.from(d, 'base64url').toString('hex')];
}

async function assertNoSecret(text: string, what: string): Promise<void> {
  for (const s of await secrets()) assert.ok(!text.includes(s), `${what} printed key material`);
}

const ref = (digest: string, repo = 'fixture/app'): string => `${registry.host}/${repo}@${digest}`;
const allDigests = (): string[] => [built.index.digest, ...built.manifests.map((m) => m.digest)];
const cosignVerify = (digest: string, publicKey = pub, repo = 'fixture/app') =>
  tryRun(cosign, ['verify', '--key', publicKey, '--insecure-ignore-tlog', '--allow-http-registry', ref(digest, repo)]);

/** Pushes the layout to `repo` (signed with `signKey` when given). */
async function pushLayout(repo: string, signKey?: string): Promise<void> {
  const res = await runAlba(
    [
      'container',
      'push',
      '--cache',
      cache,
      ...(signKey === undefined ? [] : ['--sign-key', signKey]),
      '--ref',
      'signed',
      layout,
      `docker://${registry.host}/${repo}:signed`,
    ],
    { env },
  );
  assert.equal(res.status, 0, explainRun(res));
}

async function registryJson(
  repo: string,
  reference: string,
): Promise<{ layers: { digest: string; annotations?: Record<string, string> }[] }> {
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${reference}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(res.status, 200, `GET ${repo}:${reference}`);
  return (await res.json()) as { layers: { digest: string; annotations?: Record<string, string> }[] };
}

async function putManifest(repo: string, reference: string, body: unknown): Promise<void> {
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201, `PUT ${repo}:${reference}: ${await res.text()}`);
}

const sigTag = (digest: string, kind = 'sig'): string => `sha256-${digest.slice('sha256:'.length)}.${kind}`;

describe('cosign reads what alba signed', needs, () => {
  test('cosign verify --key passes for the index and every platform digest, each payload naming that digest', () => {
    for (const digest of allDigests()) {
      const r = cosignVerify(digest);
      assert.equal(r.status, 0, `cosign verify ${digest}: ${r.stderr}`);
      const [claim] = JSON.parse(r.stdout) as { critical: { image: { 'docker-manifest-digest': string } } }[];
      assert.equal(claim?.critical.image['docker-manifest-digest'], digest);
    }
  });

  test('cosign verify fails with another key, and on an image alba did not sign', async () => {
    assert.notEqual(cosignVerify(built.index.digest, otherPub).status, 0);
    await pushLayout('fixture/unsigned');
    assert.notEqual(cosignVerify(built.manifests[0]!.digest, pub, 'fixture/unsigned').status, 0);
  });

  test('cosign verify-attestation finds spdxjson and cyclonedx per platform, equal to the documents alba wrote', async () => {
    for (const m of built.manifests) {
      const slug = m.platform.replace(/\//g, '-');
      for (const [type, file] of [
        ['spdxjson', `${slug}.spdx.json`],
        ['cyclonedx', `${slug}.cdx.json`],
      ] as const) {
        const r = tryRun(cosign, [
          'verify-attestation',
          '--key',
          pub,
          '--insecure-ignore-tlog',
          '--allow-http-registry',
          '--type',
          type,
          ref(m.digest),
        ]);
        assert.equal(r.status, 0, `cosign verify-attestation --type ${type} ${m.platform}: ${r.stderr}`);
        const files = await readdir(join(layout, 'sbom'));
        const name = file;
        assert.ok(files.includes(name), `no ${file} in ${files.join(', ')}`);
        const written = JSON.parse(await readFile(join(layout, 'sbom', name), 'utf8')) as unknown;
        const statement = statementOf(r.stdout);
        assert.deepEqual(statement.predicate, written, `the ${type} predicate of ${m.platform} is not sbom/${name}`);
        assert.equal(statement.subject[0]?.digest.sha256, m.digest.slice('sha256:'.length));
      }
    }
  });

  test('SLSA provenance v1 on the index and each platform names every .deb sha256 of the lock', async () => {
    const lock = JSON.parse(await readFile(lockPath, 'utf8')) as {
      archs: Record<string, { sha256: string }[]>;
      releases: { sha256: string }[];
    };
    const debs = new Set(Object.values(lock.archs).flatMap((ps) => ps.map((p) => p.sha256)));
    assert.ok(debs.size > 0);
    const recipeSha = createHash('sha256')
      .update(await readFile(recipe))
      .digest('hex');
    for (const digest of allDigests()) {
      const r = tryRun(cosign, [
        'verify-attestation',
        '--key',
        pub,
        '--insecure-ignore-tlog',
        '--allow-http-registry',
        '--type',
        'slsaprovenance1',
        ref(digest),
      ]);
      assert.equal(r.status, 0, `cosign verify-attestation --type slsaprovenance1 ${digest}: ${r.stderr}`);
      const { predicate, subject } = statementOf(r.stdout) as { predicate: Provenance; subject: { digest: { sha256: string } }[] };
      assert.equal(subject[0]?.digest.sha256, digest.slice('sha256:'.length));
      const named = new Set(predicate.buildDefinition.resolvedDependencies.map((d) => d.digest.sha256));
      for (const sha of debs) assert.ok(named.has(sha), `provenance of ${digest} lacks the .deb ${sha}`);
      for (const r of lock.releases) assert.ok(named.has(r.sha256), `provenance lacks the Release ${r.sha256}`);
      assert.equal(predicate.buildDefinition.externalParameters.recipe.digest.sha256, recipeSha);
      assert.match(predicate.runDetails.builder.id, /alba/);
    }
  });

  test('skopeo 1.18 with a sigstoreSigned policy pulls a signed platform and refuses an unsigned repository', async () => {
    const copy = (repo: string, digest: string) => sigstorePull(skopeo, work, ref(digest, repo), pub);
    const signed = await copy('fixture/app', built.manifests[0]!.digest);
    assert.equal(signed.status, 0, `skopeo copy of a signed platform: ${signed.stderr}`);
    await pushLayout('fixture/unsigned');
    const unsigned = await copy('fixture/unsigned', built.manifests[0]!.digest);
    assert.notEqual(unsigned.status, 0, 'skopeo pulled an unsigned image under a sigstoreSigned policy');
    assert.match(unsigned.stderr, /signature/i, unsigned.stderr);
  });
});

describe('alba verify', needs, () => {
  test('passes on what alba signed (human and --json), and reads no key material into its output', async () => {
    const human = await runAlba(['verify', `${registry.host}/fixture/app:signed`, '--key', pub]);
    assert.equal(human.status, 0, explainRun(human));
    assert.match(human.stdout, /^verified /);
    const json = await runAlba(['verify', `${registry.host}/fixture/app:signed`, '--key', pub, '--json']);
    assert.equal(json.status, 0, explainRun(json));
    const report = JSON.parse(json.stdout) as { ok: boolean; subjects: { signatures: number; attestations: string[] }[] };
    assert.equal(report.ok, true);
    assert.equal(report.subjects.length, 1 + built.manifests.length);
    for (const s of report.subjects) {
      assert.equal(s.signatures, 1);
      for (const t of ['https://spdx.dev/Document', 'https://cyclonedx.org/bom', 'https://slsa.dev/provenance/v1'])
        assert.ok(s.attestations.includes(t), `no ${t}`);
    }
  });

  test('reads a signature cosign made (cosign sign --recursive) on an alba image', async () => {
    await pushLayout('fixture/by-cosign');
    run(
      cosign,
      [
        'sign',
        '--key',
        key,
        '--recursive',
        '--tlog-upload=false',
        '--allow-http-registry',
        '-y',
        ref(built.index.digest, 'fixture/by-cosign'),
      ],
      { COSIGN_PASSWORD: PASSWORD },
    );
    const r = await runAlba(['verify', `${registry.host}/fixture/by-cosign:signed`, '--key', pub]);
    assert.equal(r.status, 0, explainRun(r));
  });

  test('a second signer appends: both keys verify; the same key pushing again adds nothing', async () => {
    await pushLayout('fixture/two', key);
    await pushLayout('fixture/two', otherKey);
    await pushLayout('fixture/two', otherKey);
    const sig = await registryJson('fixture/two', sigTag(built.index.digest));
    assert.equal(sig.layers.length, 2, 'two signers, two signature layers');
    for (const p of [pub, otherPub]) assert.equal(cosignVerify(built.index.digest, p, 'fixture/two').status, 0, `cosign verify with ${p}`);
    for (const p of [pub, otherPub]) {
      const r = await runAlba(['verify', `${registry.host}/fixture/two:signed`, '--key', p]);
      assert.equal(r.status, 0, explainRun(r));
    }
  });

  /** `alba container push --sign-key` of the built layout into the layout `dir`. */
  const pushSignedLayout = async (dir: string): Promise<void> => {
    const push = await runAlba(
      ['container', 'push', '--cache', cache, '--sign-key', key, '--ref', 'signed', '-t', 'signed', layout, `oci:${dir}`],
      { env },
    );
    assert.equal(push.status, 0, explainRun(push));
  };

  test('verifies a layout a signed push wrote (oci:DIR); signature tags are not image tags (ls, -t)', async () => {
    const dir = join(work, 'signed-layout');
    await pushSignedLayout(dir);
    const r = await runAlba(['verify', dir, '--key', pub, '--json']);
    assert.equal(r.status, 0, explainRun(r));
    assert.equal((JSON.parse(r.stdout) as { subjects: unknown[] }).subjects.length, 1 + built.manifests.length);
    const ls = await runAlba(['container', 'ls', '--class', 'all', '--json', '-t', 'fixture/app', `docker://${registry.host}`]);
    assert.equal(ls.status, 0, explainRun(ls));
    assert.ok(!/\.(sig|att)"/.test(ls.stdout), `alba container ls lists signature tags: ${ls.stdout}`);
    const bad = await runAlba(['container', 'push', '-t', `${sigTag(built.index.digest)}`, layout, `oci:${join(work, 'x')}`]);
    assert.equal(bad.status, 2, explainRun(bad));
    const unsignedBuild = await runAlba(['build', recipe, '--cache', cache, '--out', join(work, 'y'), '--sign-key', key], { env });
    assert.equal(unsignedBuild.status, 2, explainRun(unsignedBuild));
    assert.match(unsignedBuild.stderr, /--sign-key signs what --push publishes/);
  });

  test('an SPDX document attached later that is not JSON is ATTESTATION_INVALID, not a crash', async () => {
    const dir = join(work, 'signed-garbage');
    await pushSignedLayout(dir);
    // a newer SPDX referrer of a platform manifest, whose document is garbage (its blob well named)
    const blob = async (bytes: Buffer): Promise<{ digest: string; size: number }> => {
      const hex = createHash('sha256').update(bytes).digest('hex');
      await writeFile(join(dir, 'blobs', 'sha256', hex), bytes);
      return { digest: `sha256:${hex}`, size: bytes.length };
    };
    const subject = built.manifests[0]!.digest;
    const subjectSize = (await readFile(join(dir, 'blobs', 'sha256', subject.slice('sha256:'.length)))).length;
    const garbage = await blob(Buffer.from('{not json'));
    const spdx = 'application/spdx+json';
    const referrer = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: spdx,
      config: {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: `sha256:${createHash('sha256').update('{}').digest('hex')}`,
        size: 2,
      },
      layers: [{ mediaType: spdx, ...garbage }],
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject, size: subjectSize },
      annotations: { 'org.opencontainers.image.created': '9999-12-31T00:00:00Z' },
    };
    const attached = await blob(Buffer.from(JSON.stringify(referrer)));
    const r = await runAlba(['verify', dir, '--key', pub]);
    assert.equal(r.status, 1, explainRun(r));
    assert.match(r.stderr, new RegExp(`error\\[ATTESTATION_INVALID\\].*${attached.digest}\\) is not JSON`));
  });

  test("checks that a signed SBOM lists what the image's status.d says", async () => {
    const amd64 = built.manifests.find((m) => m.platform === 'amd64')!;
    const spdx = JSON.parse(await readFile(join(layout, 'sbom', 'amd64.spdx.json'), 'utf8')) as { packages: { name: string }[] };
    const attest = async (repo: string, predicate: unknown): Promise<void> => {
      // skopeo copies the image without alba's referrers: the signed SBOM is all there is to compare with status.d
      const copy = tryRun('skopeo', [
        'copy',
        '--all',
        '--dest-tls-verify=false',
        `oci:${layout}:signed`,
        `docker://${registry.host}/${repo}:signed`,
      ]);
      assert.equal(copy.status, 0, copy.stderr);
      const file = join(work, `${repo.replace('/', '-')}.json`);
      await writeFile(file, JSON.stringify(predicate));
      const common = ['--key', key, '--tlog-upload=false', '--allow-http-registry', '-y'];
      run(cosign, ['sign', ...common, '--recursive', ref(built.index.digest, repo)], { COSIGN_PASSWORD: PASSWORD });
      run(cosign, ['attest', ...common, '--type', 'spdxjson', '--predicate', file, ref(amd64.digest, repo)], { COSIGN_PASSWORD: PASSWORD });
    };
    await attest('fixture/sbom-ok', spdx);
    const good = await runAlba(['verify', `${registry.host}/fixture/sbom-ok:signed`, '--key', pub]);
    assert.equal(good.status, 0, explainRun(good));
    const dropped = spdx.packages.find((p) => p.name === 'tzdata');
    assert.ok(dropped !== undefined, 'the fixture SBOM lists tzdata');
    await attest('fixture/sbom-short', { ...spdx, packages: spdx.packages.filter((p) => p !== dropped) });
    const short = await runAlba(['verify', `${registry.host}/fixture/sbom-short:signed`, '--key', pub]);
    assert.equal(short.status, 1, explainRun(short));
    assert.match(short.stderr, /error\[ATTESTATION_INVALID\].*status\.d says \(missing tzdata /s);
  });

  test('refuses a wrong key, a tampered signature, a payload naming another image, an attestation about another image', async () => {
    const verify = (repo: string, publicKey = pub) => runAlba(['verify', `${registry.host}/${repo}:signed`, '--key', publicKey]);
    const wrong = await verify('fixture/app', otherPub);
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /error\[SIGNATURE_INVALID\]/);

    const [amd64, arm64] = built.manifests.map((m) => m.digest) as [string, string];
    await pushLayout('fixture/tampered', key);
    const sig = await registryJson('fixture/tampered', sigTag(amd64));
    const annotation = sig.layers[0]!.annotations!['dev.cosignproject.cosign/signature']!;
    const flipped = Buffer.from(annotation, 'base64');
    flipped[flipped.length - 1]! ^= 1;
    sig.layers[0]!.annotations!['dev.cosignproject.cosign/signature'] = flipped.toString('base64');
    await putManifest('fixture/tampered', sigTag(amd64), sig);
    const tampered = await verify('fixture/tampered');
    assert.equal(tampered.status, 1);
    assert.match(tampered.stderr, /error\[SIGNATURE_INVALID\].*none of the 1 signatures/s);

    await pushLayout('fixture/replayed', key);
    await putManifest('fixture/replayed', sigTag(arm64), await registryJson('fixture/replayed', sigTag(amd64)));
    const replayed = await verify('fixture/replayed');
    assert.equal(replayed.status, 1);
    assert.match(replayed.stderr, new RegExp(`error\\[SIGNATURE_INVALID\\].*names another image \\(${amd64}\\)`, 's'));

    await pushLayout('fixture/misattested', key);
    await putManifest('fixture/misattested', sigTag(arm64, 'att'), await registryJson('fixture/misattested', sigTag(amd64, 'att')));
    const misattested = await verify('fixture/misattested');
    assert.equal(misattested.status, 1);
    assert.match(misattested.stderr, /error\[ATTESTATION_INVALID\].*about another image/s);
    for (const r of [wrong, tampered, replayed, misattested]) await assertNoSecret(r.stdout + r.stderr, 'alba verify');
  });
});

describe('key material', needs, () => {
  test('is in no output, error or file alba writes', async () => {
    const bad = await runAlba(
      ['container', 'push', '--cache', cache, '--sign-key', key, '--ref', 'signed', layout, `docker://${registry.host}/fixture/nokey:1`],
      {
        env: { ...env, ALBA_SIGN_PASSWORD: `${PASSWORD} wrong` },
      },
    );
    assert.equal(bad.status, 1, explainRun(bad));
    assert.match(bad.stderr, /error\[SIGN_KEY\].*passphrase does not open/);
    const list = await secrets();
    for (const s of [...list, `${PASSWORD} wrong`]) assert.ok(!(bad.stdout + bad.stderr).includes(s), 'a refused key printed key material');
    const seen: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) seen.push(await readFile(p, 'latin1'));
      }
    };
    await walk(layout);
    await walk(join(cache, 'mounts')).catch(() => undefined);
    for (const text of seen) for (const s of list) assert.ok(!text.includes(s), 'a file alba wrote holds key material');
    // and what went to the registry: every attachment layer
    for (const digest of allDigests())
      for (const kind of ['sig', 'att']) {
        const m = await registryJson('fixture/app', sigTag(digest, kind));
        for (const l of m.layers) {
          const blob = await (await fetch(`${registry.url}/v2/fixture/app/blobs/${l.digest}`)).text();
          for (const s of list) assert.ok(!blob.includes(s) && !JSON.stringify(l).includes(s), 'a pushed attachment holds key material');
        }
      }
  });
});

interface Provenance {
  buildDefinition: {
    externalParameters: { recipe: { digest: { sha256: string } } };
    resolvedDependencies: { digest: { sha256: string } }[];
  };
  runDetails: { builder: { id: string } };
}

/** The in-toto statement of the first attestation cosign verify-attestation prints. */
function statementOf(stdout: string): { predicate: unknown; subject: { digest: { sha256: string } }[] } {
  const line = stdout.split('\n').find((l) => l.trim() !== '');
  assert.ok(line !== undefined, 'cosign printed no attestation');
  const envelope = JSON.parse(line) as { payload: string };
  return JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
    predicate: unknown;
    subject: { digest: { sha256: string } }[];
  };
}
