import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { findArch, type TargetArch } from '../../src/debian/arch.js';
import type { Digest } from '../../src/oci/digest.js';
import { platformRefName } from '../../src/sink/layout/layout-refs.js';
import { readLayout } from '../../src/source/oci-layout.js';
import { loadRecipe } from '../../src/recipe/load.js';
import type { Recipe } from '../../src/recipe/types.js';
import { repoRoot } from '../helpers/repo-root.js';
import { describeResult, requireRoot, runInBundle, runWithQemu, unpackImage, type Bundle } from '../helpers/rootfs.js';
import { runAlba, type AlbaRun } from '../helpers/run-alba.js';
import { podmanEnv } from '../helpers/podman.js';
import { requireTool } from '../helpers/tools.js';
import { startRegistry } from '../helpers/registry-server.js';

// `alba build` of real recipes against the host's Debian mirror (`--mirror apt`), then the images
// are run: umoci unpacks each platform (checking digests, sizes and diff_ids), runc (or chroot)
// runs the amd64 rootfs as the image's user, qemu-aarch64-static runs the arm64 binaries.
// Outside CI an unreachable mirror skips these tests; with CI=true it fails them.

const work = await mkdtemp(join(tmpdir(), 'alba-build-real-'));
const cache = join(work, 'cache');
after(() => rm(work, { recursive: true, force: true }));

const AMD64 = findArch('amd64') as TargetArch;
const ARM64 = findArch('arm64') as TargetArch;
const QEMU_ARM64 = 'qemu-aarch64-static';

/** Recipes built here, relative to the repository root. */
type RecipeFile = 'recipes/busybox.yaml' | 'test/recipes/openssl.yaml';

interface Built {
  run: AlbaRun;
  recipe: Recipe;
  layout: string;
}

const builds = new Map<RecipeFile, Promise<Built>>();

/** Builds a copy of the recipe (so no lock file lands in the repository), once per file; all builds share one cache. */
function buildCopy(file: RecipeFile): Promise<Built> {
  let pending = builds.get(file);
  if (pending === undefined) {
    pending = (async () => {
      const dir = join(work, basename(file, '.yaml'));
      await mkdir(dir);
      const recipePath = join(dir, basename(file));
      await copyFile(join(repoRoot(), file), recipePath);
      const layout = join(dir, 'out');
      const run = await runAlba(['build', recipePath, '--mirror', 'apt', '--cache', cache, '--out', layout], { timeoutMs: 600_000 });
      return { run, recipe: await loadRecipe(recipePath), layout };
    })();
    builds.set(file, pending);
  }
  return pending;
}

/** The build of `file`; undefined (test skipped) when the mirror is unreachable outside CI. */
async function builtOrSkip(t: TestContext, file: RecipeFile): Promise<Built | undefined> {
  const built = await buildCopy(file);
  if (built.run.status === 0) return built;
  if (/error\[(NETWORK|APT_SOURCES)\]/.test(built.run.stderr) && process.env.CI !== 'true') {
    t.skip(`the host's Debian mirror is not usable: ${built.run.stderr.split('\n').find((l) => l.includes('error[')) ?? ''}`);
    return undefined;
  }
  assert.fail(`alba build ${file} --mirror apt failed (status ${built.run.status}):\n${built.run.stderr}`);
}

const bundles = new Map<string, Promise<Bundle>>();

/** umoci-unpacks the platform image of a build, once per build and arch. */
function bundleOf(built: Built, arch: TargetArch): Promise<Bundle> {
  const ref = platformRefName(built.recipe.tag, arch.platform);
  const key = `${built.layout}:${ref}`;
  let pending = bundles.get(key);
  if (pending === undefined) {
    pending = unpackImage(built.layout, ref, join(dirname(built.layout), `bundle-${ref}`));
    bundles.set(key, pending);
  }
  return pending;
}

/** The run-as account of the example recipes (`run-as: nonroot`), as distroless defines it. */
const NONROOT = { name: 'nonroot', uid: 65532, gid: 65532 };

/** The `User` of the image config of one platform, read from the layout. */
async function imageConfigUser(built: Built, arch: TargetArch): Promise<string | undefined> {
  const layout = await readLayout(built.layout);
  const manifest = layout.findRef(platformRefName(built.recipe.tag, arch.platform));
  assert.ok(manifest !== undefined, `no ${arch.name} ref in ${built.layout}`);
  const { config } = await layout.readJson<{ config: { digest: Digest } }>(manifest.digest);
  return (await layout.readJson<{ config: { User?: string } }>(config.digest)).config.User;
}

/** What `file` (a third-party oracle) says of a program: `ELF 64-bit LSB …, ARM aarch64, …`. */
function fileType(path: string): string {
  const res = spawnSync('file', ['-b', path], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout;
}

async function countFiles(dir: string, suffix: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(suffix)).length;
}

test("real mirror: busybox amd64 runs under runc as the recipe's run-as user, in its workdir", async (t) => {
  if (!requireTool('umoci', t) || !requireTool('runc', t) || !requireRoot(t)) return;
  const built = await builtOrSkip(t, 'recipes/busybox.yaml');
  if (built === undefined) return;
  const user = NONROOT;
  assert.equal(await imageConfigUser(built, AMD64), `${user.uid}:${user.gid}`, 'the config User is numeric uid:gid');
  const bundle = await bundleOf(built, AMD64);
  assert.deepEqual(bundle.config.process.user, { uid: user.uid, gid: user.gid }, 'umoci read the user from the image config');
  assert.deepEqual(bundle.config.process.args, [...(built.recipe.entrypoint ?? []), ...(built.recipe.cmd ?? [])]);

  const id = await runInBundle(bundle, ['/bin/busybox', 'id']);
  assert.equal(id.status, 0, describeResult(id));
  assert.match(
    id.stdout,
    new RegExp(`^uid=${user.uid}\\(${user.name}\\) gid=${user.gid}\\(${user.name}\\)`),
    "names come from the image's passwd and group",
  );

  const sh = await runInBundle(bundle, ['/bin/busybox', 'sh', '-c', 'echo ok; pwd; touch /tmp/written && echo tmp-writable']);
  assert.equal(sh.status, 0, describeResult(sh));
  assert.equal(sh.stdout, `ok\n${built.recipe.workdir}\ntmp-writable\n`);
});

test('real mirror: busybox amd64 runs under chroot as the same user', async (t) => {
  if (!requireTool('umoci', t) || !requireRoot(t)) return;
  const built = await builtOrSkip(t, 'recipes/busybox.yaml');
  if (built === undefined) return;
  const user = NONROOT;
  const bundle = await bundleOf(built, AMD64);
  const res = await runInBundle(bundle, ['/bin/busybox', 'sh', '-c', 'id -u; id -g; id -un; echo ok'], { runtime: 'chroot' });
  assert.equal(res.status, 0, describeResult(res));
  assert.equal(res.stdout, `${user.uid}\n${user.gid}\n${user.name}\nok\n`);
});

test('real mirror: busybox arm64 is an aarch64 binary that runs under qemu-aarch64-static', async (t) => {
  if (!requireTool('umoci', t) || !requireTool(QEMU_ARM64, t) || !requireTool('file', t)) return;
  const built = await builtOrSkip(t, 'recipes/busybox.yaml');
  if (built === undefined) return;
  const bundle = await bundleOf(built, ARM64);
  assert.match(fileType(join(bundle.rootfs, 'bin/busybox')), /^ELF 64-bit LSB .*ARM aarch64/);
  const res = runWithQemu(QEMU_ARM64, bundle.rootfs, ['/bin/busybox', 'echo', 'hi']);
  assert.equal(res.status, 0, describeResult(res));
  assert.equal(res.stdout, 'hi\n');
  const sh = runWithQemu(QEMU_ARM64, bundle.rootfs, ['/bin/busybox', 'sh', '-c', 'echo ok']);
  assert.equal(sh.status, 0, describeResult(sh));
  assert.equal(sh.stdout, 'ok\n');
});

for (const arch of [AMD64, ARM64]) {
  test(`real mirror: busybox ${arch.name} rootfs has a full CA bundle, /tmp 1777, os-release inside the rootfs`, async (t) => {
    if (!requireTool('umoci', t)) return;
    const built = await builtOrSkip(t, 'recipes/busybox.yaml');
    if (built === undefined) return;
    const { rootfs } = await bundleOf(built, arch);

    const bundle = await readFile(join(rootfs, 'etc/ssl/certs/ca-certificates.crt'), 'utf8');
    const certificates = bundle.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
    assert.ok(certificates > 100, `only ${certificates} certificates in the bundle`);
    assert.equal(certificates, (bundle.match(/-----END CERTIFICATE-----/g) ?? []).length, 'every certificate is closed');
    await assert.rejects(stat(join(rootfs, 'usr/share/ca-certificates')), 'ca-certificates: bundle (the default) ships no single .crt');
    assert.ok((await stat(join(rootfs, 'usr/share/doc/ca-certificates/copyright'))).isFile());
    assert.match(await readFile(join(rootfs, 'etc/mime.types'), 'utf8'), /^application\/json\s+json$/m, 'media-types, as in distroless');
    assert.match(await readFile(join(rootfs, 'etc/group'), 'utf8'), /^staff:x:50:$/m);
    for (const applet of ['sh', 'ls', 'cat', 'env', 'wget'])
      assert.equal(await readlink(join(rootfs, 'bin', applet)), 'busybox', `/bin/${applet} is a busybox applet link`);

    const tmp = await stat(join(rootfs, 'tmp'));
    assert.ok(tmp.isDirectory());
    assert.equal(tmp.mode & 0o7777, 0o1777, `/tmp mode ${(tmp.mode & 0o7777).toString(8)}`);

    const osRelease = join(rootfs, 'etc/os-release');
    assert.ok((await lstat(osRelease)).isSymbolicLink(), 'base-files ships /etc/os-release as a symlink');
    assert.equal(await readlink(osRelease), '../usr/lib/os-release');
    const target = await realpath(osRelease);
    assert.equal(target, join(await realpath(rootfs), 'usr/lib/os-release'), 'the link resolves inside the rootfs');
    assert.ok(!relative(await realpath(rootfs), target).startsWith('..'));
    const text = await readFile(target, 'utf8');
    assert.match(text, /^ID=debian$/m);
    assert.match(text, /^VERSION_CODENAME=bookworm$/m);
  });
}

test('real mirror: openssl (ca-certificates: package) holds one certificate in the bundle per .crt of the package', async (t) => {
  if (!requireTool('umoci', t)) return;
  const built = await builtOrSkip(t, 'test/recipes/openssl.yaml');
  if (built === undefined) return;
  const { rootfs } = await bundleOf(built, AMD64);
  const bundle = await readFile(join(rootfs, 'etc/ssl/certs/ca-certificates.crt'), 'utf8');
  const certificates = bundle.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  assert.ok(certificates > 100);
  assert.equal(
    certificates,
    await countFiles(join(rootfs, 'usr/share/ca-certificates'), '.crt'),
    'one certificate per .crt of ca-certificates',
  );
});

test("real mirror: busybox --format docker-archive: podman loads it and runs it; oci-archive: skopeo reads it with the layout's digests", async (t) => {
  for (const tool of ['podman', 'skopeo']) if (!requireTool(tool, t)) return;
  if (!requireRoot(t)) return;
  const built = await builtOrSkip(t, 'recipes/busybox.yaml');
  if (built === undefined) return;
  const recipePath = built.recipe.path;
  const archive = join(work, 'busybox-docker.tar');
  const docker = await runAlba(
    ['build', recipePath, '--mirror', 'apt', '--cache', cache, '--format', 'docker-archive', '--arch', 'amd64', '--out', archive],
    { timeoutMs: 600_000 },
  );
  assert.equal(docker.status, 0, docker.stderr);
  assert.match(docker.stdout, new RegExp(`wrote ${archive.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(docker-archive`));
  const pm = await podmanEnv(join(work, 'podman'));
  const env = { ...process.env, ...pm };
  try {
    const load = spawnSync('podman', ['load', '-i', archive], { encoding: 'utf8', env });
    assert.equal(load.status, 0, load.stderr);
    assert.match(load.stdout, /Loaded image.*distroless\/busybox:latest/);
    const run = spawnSync('podman', ['run', '--rm', 'distroless/busybox:latest', 'echo', 'hello from a docker archive'], {
      encoding: 'utf8',
      env,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'hello from a docker archive\n');
    // the applet links of paths:, as distroless's :debug images
    const shell = spawnSync(
      'podman',
      ['run', '--rm', '--entrypoint', 'sh', 'distroless/busybox:latest', '-c', 'ls / && cat /etc/group | wc -l'],
      { encoding: 'utf8', env },
    );
    assert.equal(shell.status, 0, shell.stderr);
    assert.match(shell.stdout, /^bin$/m);
    assert.match(shell.stdout, /^etc$/m);
    assert.match(shell.stdout, /^5$/m, 'root, tty, staff, nobody, nonroot');
  } finally {
    spawnSync('podman', ['system', 'reset', '-f'], { env, stdio: 'ignore' });
  }
  const inspect = spawnSync('skopeo', ['inspect', '--raw', `docker-archive:${archive}`], { encoding: 'utf8' });
  assert.equal(inspect.status, 0, inspect.stderr);
  const ociArchive = join(work, 'busybox-oci.tar');
  const oci = await runAlba(['build', recipePath, '--mirror', 'apt', '--cache', cache, '--format', 'oci-archive', '--out', ociArchive], {
    timeoutMs: 600_000,
  });
  assert.equal(oci.status, 0, oci.stderr);
  const raw = spawnSync('skopeo', ['inspect', '--raw', `oci-archive:${ociArchive}:${built.recipe.tag}`], { encoding: null });
  assert.equal(raw.status, 0, String(raw.stderr));
  const layoutIndex = (await readLayout(built.layout)).findRef(built.recipe.tag);
  assert.equal(
    `sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`,
    layoutIndex?.digest,
    "the archive's index is the layout's",
  );
});

for (const runtime of ['runc', 'chroot'] as const) {
  test(`real mirror: openssl amd64 (base + openssl): the entrypoint runs \`version\` under ${runtime}, and reads the CA bundle`, async (t) => {
    if (!requireTool('umoci', t) || (runtime === 'runc' && !requireTool('runc', t)) || !requireRoot(t)) return;
    const built = await builtOrSkip(t, 'test/recipes/openssl.yaml');
    if (built === undefined) return;
    const bundle = await bundleOf(built, AMD64);
    assert.deepEqual(bundle.config.process.args, ['/usr/bin/openssl'], "the recipe's entrypoint");
    const version = await runInBundle(bundle, [...bundle.config.process.args, 'version'], { runtime });
    assert.equal(version.status, 0, describeResult(version));
    assert.match(version.stdout, /^OpenSSL 3\.0\.\d+ .*\(Library: OpenSSL 3\.0\.\d+ /, 'the binary and libssl3 agree');

    const store = await runInBundle(bundle, ['/usr/bin/openssl', 'storeutl', '-noout', '-certs', '/etc/ssl/certs/ca-certificates.crt'], {
      runtime,
    });
    assert.equal(store.status, 0, describeResult(store));
    const found = Number(/^Total found: (\d+)$/m.exec(store.stdout)?.[1]);
    assert.ok(found > 100, `OpenSSL parsed ${found} certificates from the bundle`);
  });
}

test('real mirror: openssl arm64 (dynamic) runs `version` under qemu-aarch64-static -L <rootfs>', async (t) => {
  if (!requireTool('umoci', t) || !requireTool(QEMU_ARM64, t) || !requireTool('file', t)) return;
  const built = await builtOrSkip(t, 'test/recipes/openssl.yaml');
  if (built === undefined) return;
  const bundle = await bundleOf(built, ARM64);
  assert.match(fileType(join(bundle.rootfs, 'usr/bin/openssl')), /^ELF 64-bit LSB .*ARM aarch64/);
  const res = runWithQemu(QEMU_ARM64, bundle.rootfs, ['/usr/bin/openssl', 'version'], { sysroot: true });
  assert.equal(res.status, 0, describeResult(res));
  assert.match(res.stdout, /^OpenSSL 3\.0\.\d+ .*\(Library: OpenSSL 3\.0\.\d+ /);
});

test('real mirror: busybox as per-platform docker archives (one gzipped), pushed with alba, pulled back: amd64 runs under runc, arm64 under qemu', async (t) => {
  for (const tool of ['docker-registry', 'skopeo', 'umoci', 'runc', QEMU_ARM64]) if (!requireTool(tool, t)) return;
  if (!requireRoot(t)) return;
  const built = await builtOrSkip(t, 'recipes/busybox.yaml');
  if (built === undefined) return;
  const archives = join(work, 'busybox-archives');
  await mkdir(archives, { recursive: true });
  const exports: [TargetArch, string][] = [
    [AMD64, 'linux.amd64.tar'],
    [ARM64, 'linux.arm64.tar'],
  ];
  for (const [arch, file] of exports) {
    const copy: SpawnSyncReturns<string> = spawnSync(
      'skopeo',
      ['copy', `oci:${built.layout}:${platformRefName(built.recipe.tag, arch.platform)}`, `docker-archive:${join(archives, file)}`],
      { encoding: 'utf8' },
    );
    assert.equal(copy.status, 0, copy.stderr);
  }
  await writeFile(join(archives, 'linux.amd64.tar.gz'), gzipSync(await readFile(join(archives, 'linux.amd64.tar'))));
  await rm(join(archives, 'linux.amd64.tar'));
  const registry = await startRegistry();
  try {
    const push = await runAlba(['container', 'push', '--cache', cache, '-t', 'busybox/archives:1', archives, `docker://${registry.host}`], {
      env: { DOCKER_CONFIG: join(work, 'no-docker-config') },
    });
    assert.equal(push.status, 0, push.stderr);
    for (const arch of [AMD64, ARM64]) {
      const pulled = join(work, `pulled-${arch.debian}`);
      const copy: SpawnSyncReturns<string> = spawnSync(
        'skopeo',
        [
          'copy',
          '--override-arch',
          arch.platform.architecture,
          '--src-tls-verify=false',
          `docker://${registry.host}/busybox/archives:1`,
          `oci:${pulled}:img`,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(copy.status, 0, copy.stderr);
      const bundle = await unpackImage(pulled, 'img', join(work, `pulled-bundle-${arch.debian}`));
      const res =
        arch === AMD64
          ? await runInBundle(bundle, ['/bin/busybox', 'echo', 'hello from a docker archive'])
          : runWithQemu(QEMU_ARM64, bundle.rootfs, ['/bin/busybox', 'echo', 'hello from a docker archive']);
      assert.equal(res.status, 0, describeResult(res));
      assert.equal(res.stdout, 'hello from a docker archive\n');
    }
  } finally {
    await registry.close();
  }
});
