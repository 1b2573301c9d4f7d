import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmod, copyFile, lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { findArch, type TargetArch } from '../../src/debian/arch.js';
import { pemBlocks } from '../../src/layer/ca-bundle.js';
import { platformRefName } from '../../src/sink/layout/layout-refs.js';
import { repoRoot } from '../helpers/repo-root.js';
import { describeResult, requireRoot, runInBundle, unpackImage, type Bundle, type CommandResult } from '../helpers/rootfs.js';
import { runAlba, type AlbaRun } from '../helpers/run-alba.js';
import { makeCa } from '../helpers/test-pki.js';
import { requireTool } from '../helpers/tools.js';

// The language recipes (recipes/java17.yaml, python3.yaml, nodejs.yaml), built against the host's
// Debian mirror (`--mirror apt`) with one extra CA added through `additional-ca-certificates`, then
// run: amd64 under runc as the image's nonroot user, arm64 under qemu-aarch64-static. Each runtime
// starts from its plain name on PATH; each language's HTTPS client completes a TLS handshake with a
// server on 127.0.0.1 whose certificate the extra CA signed, and refuses one signed by a CA the image
// does not hold. The .debs (~150 MB for the three) are cached in one directory kept between runs
// ($ALBA_LANG_TEST_CACHE, default $TMPDIR/alba-lang-test-cache). Outside CI an unreachable mirror
// skips these tests; with CI=true it fails them.

const work = await mkdtemp(join(tmpdir(), 'alba-lang-'));
const cache = process.env.ALBA_LANG_TEST_CACHE ?? join(tmpdir(), 'alba-lang-test-cache');
after(() => rm(work, { recursive: true, force: true }));

const AMD64 = findArch('amd64') as TargetArch;
const ARM64 = findArch('arm64') as TargetArch;
const QEMU_ARM64 = 'qemu-aarch64-static';
const NONROOT = { uid: 65532, gid: 65532 };

type Lang = 'java17' | 'python3' | 'nodejs';

/** Test PKI: `trusted` is added to the images by the recipe, `stranger` is not. */
interface Pki {
  caPem: string;
  servers: ChildProcess;
  url: { trusted: string; stranger: string };
}

let pki: Pki | undefined;

/**
 * The two HTTPS servers, in a child process: the tests run containers with spawnSync, which blocks
 * this process's event loop (a server here could not answer them).
 */
const SERVERS = `
const https = require('node:https'), fs = require('node:fs');
const [certA, keyA, certB, keyB] = process.argv.slice(1);
const start = (cert, key, body) => new Promise((ok) => { const s = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (q, r) => r.end(body)); s.listen(0, '127.0.0.1', () => ok(s.address().port)); });
Promise.all([start(certA, keyA, 'hello from the trusted server'), start(certB, keyB, 'hello from a stranger')]).then((ports) => console.log(JSON.stringify(ports)));
`;

async function serve(
  trusted: { cert: string; key: string },
  stranger: { cert: string; key: string },
): Promise<{ child: ChildProcess; ports: [number, number] }> {
  const child = spawn(process.execPath, ['-e', SERVERS, trusted.cert, trusted.key, stranger.cert, stranger.key], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', (code) => reject(new Error(`the test HTTPS servers exited (${code})`)));
  });
  return { child, ports: JSON.parse(line) as [number, number] };
}

before(async () => {
  if (spawnSync('sh', ['-c', 'command -v openssl'], { stdio: 'ignore' }).status !== 0) return;
  const dir = join(work, 'pki');
  await mkdir(dir);
  const trusted = makeCa(dir, 'trusted');
  const stranger = makeCa(dir, 'stranger');
  const { child, ports } = await serve(trusted, stranger);
  pki = {
    caPem: trusted.ca,
    servers: child,
    url: { trusted: `https://127.0.0.1:${ports[0]}/`, stranger: `https://127.0.0.1:${ports[1]}/` },
  };
});
after(() => {
  pki?.servers.kill();
});

interface Built {
  run: AlbaRun;
  layout: string;
  dir: string;
}

const builds = new Map<Lang, Promise<Built>>();

/** Builds a copy of recipes/<lang>.yaml with `additional-ca-certificates: [company-ca.pem]`, once. */
function build(lang: Lang): Promise<Built> {
  let pending = builds.get(lang);
  if (pending === undefined) {
    pending = (async () => {
      const dir = join(work, lang);
      await mkdir(dir);
      const recipe = join(dir, `${lang}.yaml`);
      await writeFile(
        recipe,
        `${await readFile(join(repoRoot(), 'recipes', `${lang}.yaml`), 'utf8')}additional-ca-certificates: [company-ca.pem]\n`,
      );
      await copyFile(pki!.caPem, join(dir, 'company-ca.pem'));
      const layout = join(dir, 'out');
      const run = await runAlba(['build', recipe, '--mirror', 'apt', '--cache', cache, '--out', layout], { timeoutMs: 900_000 });
      return { run, layout, dir };
    })();
    builds.set(lang, pending);
  }
  return pending;
}

async function builtOrSkip(t: TestContext, lang: Lang): Promise<Built | undefined> {
  if (!requireTool('openssl', t) || !requireTool('umoci', t)) return undefined;
  const built = await build(lang);
  if (built.run.status === 0) return built;
  if (/error\[(NETWORK|APT_SOURCES)\]/.test(built.run.stderr) && process.env.CI !== 'true') {
    t.skip(`the host's Debian mirror is not usable: ${built.run.stderr.split('\n').find((l) => l.includes('error[')) ?? ''}`);
    return undefined;
  }
  assert.fail(`alba build recipes/${lang}.yaml --mirror apt failed (status ${built.run.status}):\n${built.run.stderr}`);
}

const bundles = new Map<string, Promise<Bundle>>();

function bundleOf(built: Built, arch: TargetArch): Promise<Bundle> {
  const ref = platformRefName('latest', arch.platform);
  const key = `${built.layout}:${ref}`;
  let pending = bundles.get(key);
  if (pending === undefined) {
    pending = unpackImage(built.layout, ref, join(built.dir, `bundle-${arch.debian}`)).then((bundle) => {
      // the host network, so the container reaches the test servers on 127.0.0.1
      const linux = bundle.config.linux as { namespaces?: { type: string }[] } | undefined;
      if (linux?.namespaces !== undefined) linux.namespaces = linux.namespaces.filter((n) => n.type !== 'network');
      return bundle;
    });
    bundles.set(key, pending);
  }
  return pending;
}

/** Resolves a path inside a rootfs as the kernel would inside the container (absolute links are rootfs-relative). */
async function resolveInRootfs(rootfs: string, path: string, depth = 0): Promise<string> {
  if (depth > 40) throw new Error(`too many links resolving ${path}`);
  const parts = path.split('/').filter((p) => p !== '');
  let done = '';
  for (const [i, part] of parts.entries()) {
    const here = `${done}/${part}`;
    const st = await lstat(join(rootfs, here)).catch(() => undefined);
    if (st?.isSymbolicLink() === true) {
      const target = await readlink(join(rootfs, here));
      const rest = parts.slice(i + 1).join('/');
      const next = target.startsWith('/') ? target : `${done}/${target}`;
      return resolveInRootfs(rootfs, `${next}${rest === '' ? '' : `/${rest}`}`, depth + 1);
    }
    done = here;
  }
  return done;
}

/** Where `name` is found on the image's PATH, resolved inside the rootfs (what execvp in the container runs). */
async function whichInImage(bundle: Bundle, name: string): Promise<string> {
  const path = bundle.config.process.env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '';
  for (const dir of path.split(':')) {
    const found = await lstat(join(bundle.rootfs, dir, name)).then(
      () => true,
      () => false,
    );
    if (found) return resolveInRootfs(bundle.rootfs, `${dir}/${name}`);
  }
  throw new Error(`${name} is not on the image's PATH (${path})`);
}

/**
 * Runs `args` (args[0] a plain name, looked up on PATH) as the image's user: runc on amd64;
 * on arm64 `qemu-aarch64-static -L ROOTFS` run as the image's uid:gid, with the image's environment.
 * (qemu resolves the program's path inside the rootfs, but an absolute symlink inside the rootfs is
 * followed by the host kernel, to the host's file: give such files by their absolute path.)
 */
async function runLang(bundle: Bundle, arch: TargetArch, args: string[]): Promise<CommandResult> {
  if (arch === AMD64) return runInBundle(bundle, args, { timeoutMs: 120_000 });
  const program = await whichInImage(bundle, args[0]!);
  const { uid, gid } = bundle.config.process.user;
  const env = Object.fromEntries(bundle.config.process.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  for (let dir = bundle.rootfs; dir !== tmpdir() && dir !== '/'; dir = dirname(dir)) await chmod(dir, 0o755);
  const res = spawnSync(QEMU_ARM64, ['-L', bundle.rootfs, join(bundle.rootfs, program), ...args.slice(1)], {
    encoding: 'utf8',
    timeout: 300_000,
    uid,
    gid,
    env,
    cwd: '/',
  });
  return { status: res.status, stdout: res.stdout ?? '', stderr: `${res.stderr ?? ''}${res.error === undefined ? '' : String(res.error)}` };
}

function canRun(t: TestContext, arch: TargetArch): boolean {
  if (arch === AMD64) return requireTool('runc', t) && requireRoot(t);
  return requireTool(QEMU_ARM64, t) && requireRoot(t);
}

/** SHA-256 fingerprints (`AA:BB:…`) of the certificates of a PEM text, sorted. */
function fingerprints(pem: string): string[] {
  return pemBlocks(pem)
    .certificates.map((der) => new X509Certificate(der).fingerprint256)
    .sort();
}

const VERSION_COMMANDS: Record<Lang, { args: string[]; out: RegExp }> = {
  java17: { args: ['java', '-version'], out: /^openjdk version "17\./m },
  python3: {
    args: ['python3', '-c', 'import os, ssl, sys; print(sys.version_info[:2], os.getuid(), ssl.OPENSSL_VERSION)'],
    out: /^\(3, 11\) 65532 OpenSSL 3\./,
  },
  nodejs: { args: ['node', '-e', 'console.log(process.version, process.getuid())'], out: /^v18\.\d+\.\d+ 65532$/m },
};

for (const lang of ['java17', 'python3', 'nodejs'] as const) {
  for (const arch of [AMD64, ARM64]) {
    test(`real mirror: ${lang} ${arch.name}: the runtime starts from its plain name on PATH as the nonroot user`, async (t) => {
      if (!canRun(t, arch)) return;
      const built = await builtOrSkip(t, lang);
      if (built === undefined) return;
      const bundle = await bundleOf(built, arch);
      assert.deepEqual(bundle.config.process.user, {
        uid: NONROOT.uid,
        gid: NONROOT.gid,
        ...(bundle.config.process.user.additionalGids === undefined ? {} : { additionalGids: bundle.config.process.user.additionalGids }),
      });
      const { args, out } = VERSION_COMMANDS[lang];
      const res = await runLang(bundle, arch, args);
      assert.equal(res.status, 0, describeResult(res));
      assert.match(lang === 'java17' ? res.stderr : res.stdout, out, describeResult(res));
    });
  }

  test(`real mirror: ${lang} amd64: an HTTPS client trusts the recipe's additional CA, and only the image's CAs`, async (t) => {
    if (!canRun(t, AMD64)) return;
    const built = await builtOrSkip(t, lang);
    if (built === undefined || pki === undefined) return;
    const bundle = await bundleOf(built, AMD64);
    const client = async (url: string): Promise<CommandResult> => {
      if (lang === 'java17') {
        await copyFile(join(repoRoot(), 'test/lang/TlsGet.class'), join(bundle.rootfs, 'tmp/TlsGet.class'));
        return runLang(bundle, AMD64, ['java', '-cp', '/tmp', 'TlsGet', url]);
      }
      if (lang === 'python3')
        return runLang(bundle, AMD64, [
          'python3',
          '-c',
          'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())',
          url,
        ]);
      return runLang(bundle, AMD64, [
        'node',
        '-e',
        'require("https").get(process.argv[1], (r) => r.pipe(process.stdout)).on("error", (e) => { console.error(e.message); process.exit(1); })',
        url,
      ]);
    };
    const ok = await client(pki.url.trusted);
    assert.equal(ok.status, 0, describeResult(ok));
    assert.match(ok.stdout, /hello from the trusted server/);
    const refused = await client(pki.url.stranger);
    assert.notEqual(refused.status, 0, `a server signed by a CA the image does not hold was trusted:\n${describeResult(refused)}`);
    assert.match(refused.stderr, /certificat|PKIX|CERTIFICATE_VERIFY_FAILED|unable to (get|verify)/i, describeResult(refused));
  });
}

for (const arch of [AMD64, ARM64]) {
  test(`real mirror: java17 ${arch.name}: keytool -list -cacerts holds exactly the certificates of the PEM bundle, the additional CA among them`, async (t) => {
    if (!canRun(t, arch)) return;
    const built = await builtOrSkip(t, 'java17');
    if (built === undefined || pki === undefined) return;
    const bundle = await bundleOf(built, arch);
    const pem = await readFile(join(bundle.rootfs, 'etc/ssl/certs/ca-certificates.crt'), 'utf8');
    const expected = fingerprints(pem);
    assert.ok(expected.includes(fingerprints(await readFile(pki.caPem, 'utf8'))[0]!), 'the additional CA is in the PEM bundle');
    // amd64: -cacerts, the JRE's own lib/security/cacerts → /etc/ssl/certs/java/cacerts; arm64 names
    // that file (under qemu the absolute link would be followed to the host's, see runLang)
    const store = arch === AMD64 ? ['-cacerts'] : ['-keystore', '/etc/ssl/certs/java/cacerts'];
    const res = await runLang(bundle, arch, ['keytool', '-list', ...store, '-storepass', 'changeit']);
    assert.equal(res.status, 0, describeResult(res));
    const listed = [...res.stdout.matchAll(/^Certificate fingerprint \(SHA-256\): ([0-9A-F:]+)$/gm)].map((m) => m[1]!).sort();
    assert.equal(Number(/Your keystore contains (\d+) entries/.exec(res.stdout)?.[1]), expected.length);
    assert.deepEqual(listed, expected);
    assert.equal((res.stdout.match(/trustedCertEntry/g) ?? []).length, expected.length, 'every entry is a trusted certificate');
    assert.match(res.stdout, /^local:company-ca\.crt, /m, 'the additional CA under its own alias');
    const wrong = await runLang(bundle, arch, ['keytool', '-list', ...store, '-storepass', 'not-the-password']);
    assert.notEqual(wrong.status, 0, 'the store is protected by the password changeit');
  });
}

test('real mirror: java17: the alternatives links, status.d and both SBOMs list what the image holds, including the files alba made', async (t) => {
  const built = await builtOrSkip(t, 'java17');
  if (built === undefined) return;
  for (const arch of [AMD64, ARM64]) {
    const { rootfs } = await bundleOf(built, arch);
    const jvm = `/usr/lib/jvm/java-17-openjdk-${arch.debian}`;
    assert.equal(await readlink(join(rootfs, 'usr/bin/java')), '/etc/alternatives/java');
    assert.equal(await readlink(join(rootfs, 'etc/alternatives/java')), `${jvm}/bin/java`);
    assert.equal(await readlink(join(rootfs, 'usr/bin/keytool')), '/etc/alternatives/keytool');
    assert.equal(
      await readlink(join(rootfs, `${jvm.slice(1)}/lib/security/cacerts`)),
      '/etc/ssl/certs/java/cacerts',
      'the JRE reads the store alba wrote',
    );

    const sbom = JSON.parse(await readFile(join(built.layout, 'sbom', `${arch.platform.architecture}.spdx.json`), 'utf8')) as {
      packages: {
        name: string;
        versionInfo?: string;
        checksums?: { checksumValue: string }[];
        comment?: string;
        primaryPackagePurpose: string;
      }[];
    };
    const debs = sbom.packages.filter((p) => p.primaryPackagePurpose !== 'FILE' && p.primaryPackagePurpose !== 'CONTAINER');
    for (const p of debs) {
      const stanza = await readFile(join(rootfs, 'var/lib/dpkg/status.d', p.name), 'utf8');
      assert.match(
        stanza,
        new RegExp(`^Version: ${p.versionInfo!.replace(/[.+]/g, '\\$&')}$`, 'm'),
        `status.d/${p.name} has the SBOM's version`,
      );
    }
    assert.ok(debs.some((p) => p.name === 'openjdk-17-jre-headless'));
    assert.ok(
      !debs.some((p) => p.name === 'ca-certificates-java' || p.name === 'util-linux' || p.name === 'libcups2'),
      'excluded as distroless does',
    );
    const jdk = debs.find((p) => p.name === 'openjdk-17-jre-headless')!;
    assert.match(jdk.comment ?? '', /postinst not run; made by alba: update-alternatives/);
    const files = new Map(
      sbom.packages.filter((p) => p.primaryPackagePurpose === 'FILE').map((p) => [p.name, p.checksums?.[0]?.checksumValue]),
    );
    for (const path of ['/etc/ssl/certs/java/cacerts', '/usr/local/share/ca-certificates/company-ca.crt']) {
      const sha = spawnSync('sha256sum', [join(rootfs, path)], { encoding: 'utf8' }).stdout.split(' ')[0];
      assert.equal(files.get(path), sha, `the SBOM lists ${path} with its sha256`);
    }
  }
  const index = JSON.parse(await readFile(join(built.layout, 'sbom', 'index.spdx.json'), 'utf8')) as { externalDocumentRefs?: unknown[] };
  assert.equal(index.externalDocumentRefs?.length, 2, 'the index SBOM refers to both platform documents');
  assert.match(
    built.run.stderr,
    /^warning: openjdk-17-jre-headless: its postinst is not run; alba did not make: create or change files \(\/etc\/\.java/m,
    'what alba cannot reproduce is said at build time',
  );
});

test('real mirror: nodejs: /usr/bin/js, the alternative of a literal update-alternatives line, points at nodejs', async (t) => {
  const built = await builtOrSkip(t, 'nodejs');
  if (built === undefined) return;
  const { rootfs } = await bundleOf(built, AMD64);
  assert.equal(await readlink(join(rootfs, 'usr/bin/js')), '/etc/alternatives/js');
  assert.equal(await readlink(join(rootfs, 'etc/alternatives/js')), '/usr/bin/nodejs');
  assert.equal(basename(await resolveInRootfs(rootfs, '/usr/bin/js')), 'node');
});
