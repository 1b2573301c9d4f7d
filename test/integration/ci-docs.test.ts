import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { parse } from 'yaml';
import { makeFixtureDistro, writeFixtureProject } from '../helpers/fixture-distro.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { repoRoot } from '../helpers/repo-root.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';
import { rgwTestsEnabled, startRgwBucket, type RgwBucket } from '../helpers/rgw-client.js';
import { albaBin, runAlba } from '../helpers/run-alba.js';
import { requireTool } from '../helpers/tools.js';

// docs/ci.md's GitLab job and GitHub workflow, run as written: the `script:` lines of the job and
// the `run:` lines of the workflow's `build` step, in bash with the CI's variables set, against
// distribution 2.8 with basic auth (the job's $CI_REGISTRY), an open one (ghcr.io's stand-in) and
// Ceph RGW (the S3 destination). Lines installing alba (`npm …`) are skipped: `alba` on PATH is this checkout's.

const USER = { username: 'gitlab-ci-token', password: 'ci-docs-pw' };
const haveTools = requireTool('docker-registry') && requireTool('htpasswd') && requireTool('bash');
const rgwEnabled = haveTools && rgwTestsEnabled();

const work = await mkdtemp(join(tmpdir(), 'alba-ci-docs-'));
const bin = join(work, 'bin');
let registry: RegistryServer;
let open: RegistryServer;
let mirror: RepoServer;
let bucket: RgwBucket | undefined;
let project: string;
let doc: string;

/** The YAML block after `<!-- ci-docs: NAME -->` in docs/ci.md, parsed. */
function block(name: string): unknown {
  const at = doc.indexOf(`<!-- ci-docs: ${name} -->`);
  assert.notEqual(at, -1, `docs/ci.md has no ${name} example`);
  const m = /```yaml\n([\s\S]*?)```/.exec(doc.slice(at));
  assert.ok(m?.[1] !== undefined);
  return parse(m[1]);
}

/** Runs `lines` in bash -e in the project, as a runner does, with `env` (and alba on PATH); no credentials of this machine. */
function runLines(lines: readonly string[], env: Record<string, string>): Promise<{ status: number | null; output: string }> {
  const script = ['set -e', ...lines.filter((l) => !/^npm /.test(l))].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {
      cwd: project,
      env: {
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        HOME: join(work, 'home'),
        DOCKER_CONFIG: join(work, 'home'),
        CI: 'true',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** A manifest of the registry, read with the job's credentials. */
async function manifest(
  server: RegistryServer,
  repo: string,
  ref: string,
): Promise<{ digest: string | null; body: Record<string, unknown> }> {
  const res = await fetch(`${server.url}/v2/${repo}/manifests/${ref}`, {
    headers: {
      accept: 'application/vnd.oci.image.index.v1+json',
      authorization: `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`,
    },
  });
  assert.equal(res.status, 200, `${repo}:${ref}`);
  return { digest: res.headers.get('docker-content-digest'), body: (await res.json()) as Record<string, unknown> };
}

before(async () => {
  if (!haveTools) return;
  doc = await readFile(join(repoRoot(), 'docs', 'ci.md'), 'utf8');
  await mkdir(bin, { recursive: true });
  await mkdir(join(work, 'home'), { recursive: true });
  await writeFile(join(bin, 'alba'), `#!/bin/sh\nexec "${process.execPath}" "${albaBin}" "$@"\n`);
  await chmod(join(bin, 'alba'), 0o755);
  registry = await startRegistry({ auth: USER });
  open = await startRegistry();
  const repo = await makeFixtureDistro(join(work, 'repo'));
  mirror = await serveDir(repo.dir);
  const written = await writeFixtureProject(join(work, 'project'), { url: mirror.url, keyring: repo.keyringPath, tag: 'ci-docs' });
  project = written.dir;
  const lock = await runAlba(['lock', written.recipe, '--cache', join(work, 'lock-cache')]);
  assert.equal(lock.status, 0, lock.stderr);
  if (rgwEnabled) bucket = await startRgwBucket(work, 'ci-docs');
});
after(async () => {
  await registry?.close();
  await open?.close();
  await mirror?.close();
  await bucket?.rgw.close();
  await rm(work, { recursive: true, force: true });
});

describe('docs/ci.md, run as written', { skip: haveTools ? false : 'docker-registry, htpasswd or bash is missing' }, () => {
  test('the GitLab job: CI registry with CI_REGISTRY_* only, S3 too, annotations from CI, digest files', async () => {
    const jobs = block('gitlab') as Record<string, { script: string[]; variables: Record<string, string> }>;
    const job = Object.values(jobs)[0];
    assert.ok(job !== undefined);
    const ci: Record<string, string> = {
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: project,
      CI_REGISTRY: registry.host,
      CI_REGISTRY_IMAGE: `${registry.host}/group/project`,
      CI_REGISTRY_USER: USER.username,
      CI_REGISTRY_PASSWORD: USER.password,
      CI_JOB_TOKEN: 'not-this-one',
      CI_COMMIT_SHA: '0123456789abcdef0123456789abcdef01234567',
      CI_COMMIT_SHORT_SHA: '01234567',
      CI_PROJECT_URL: 'https://gitlab.example/group/project',
      ...(bucket === undefined ? {} : { ALBA_S3_TARGET: bucket.target, ...bucket.env }),
    };
    for (const [k, v] of Object.entries(job.variables ?? {})) ci[k] = v.replace(/\$(\w+)/g, (_, name: string) => ci[name] ?? '');
    const res = await runLines(job.script, ci);
    assert.equal(res.status, 0, res.output);
    assert.match(res.output, /CI_REGISTRY_USER\/CI_REGISTRY_PASSWORD/);
    assert.doesNotMatch(res.output, /ci-docs-pw/);
    const digest = (await readFile(join(project, 'digest.txt'), 'utf8')).trim();
    for (const tag of ['01234567', 'ci-docs']) assert.equal((await manifest(registry, 'group/project', tag)).digest, digest);
    const names = (await readFile(join(project, 'image.txt'), 'utf8')).trim().split('\n');
    assert.equal(names[0], `${registry.host}/group/project@${digest}`);
    assert.ok(res.output.includes(`${registry.host}/group/project@${digest}`), 'cat image.txt printed it');
    const index = (await manifest(registry, 'group/project', digest)).body;
    assert.equal((index.annotations as Record<string, string>)['org.opencontainers.image.revision'], ci.CI_COMMIT_SHA);
    const metadata = JSON.parse(await readFile(join(project, 'metadata.json'), 'utf8'));
    assert.equal(metadata.targets.length, bucket === undefined ? 1 : 2);
    if (bucket !== undefined) {
      assert.equal(names.length, 2);
      await bucket.s3.send(new HeadObjectCommand({ Bucket: 'ci-docs', Key: `v2/test/fixture/manifests/${digest}` }));
    }
  });

  test("the GitHub workflow's build step: digest, step output", async () => {
    const workflow = block('github') as { jobs: Record<string, { steps: { id?: string; run?: string }[] }> };
    const step = Object.values(workflow.jobs)[0]?.steps.find((s) => s.id === 'build');
    assert.ok(step?.run !== undefined);
    const output = join(work, 'github-output');
    await writeFile(output, '');
    const res = await runLines(step.run.split('\n'), {
      GITHUB_ACTIONS: 'true',
      GITHUB_TOKEN: 'ghs_not-for-this-registry',
      GITHUB_ACTOR: 'octocat',
      GITHUB_REPOSITORY: 'o/r',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_SHA: 'fedcba9876543210fedcba9876543210fedcba98',
      GITHUB_REF_TYPE: 'branch',
      GITHUB_REF_NAME: 'main',
      GITHUB_OUTPUT: output,
      IMAGE: `${open.host}/o/r`,
      ALBA_S3_TARGET: '',
    });
    assert.equal(res.status, 0, res.output);
    const digest = (await readFile(join(project, 'digest.txt'), 'utf8')).trim();
    assert.equal((await manifest(open, 'o/r', 'fedcba987654')).digest, digest);
    assert.equal(await readFile(output, 'utf8'), `digest=${digest}\n`);
    assert.match(res.output, new RegExp(`credentials for ${open.host.replace(/[.]/g, '\\.')}: none`), 'GITHUB_TOKEN stays for ghcr.io');
  });
});
