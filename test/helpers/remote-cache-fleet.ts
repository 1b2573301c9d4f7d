import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LockFile } from '../../src/lock/lock-types.js';
import { makeFixtureDistro, writeFixtureProject, type FixtureProject } from './fixture-distro.js';
import { serveDir, type RepoServer } from './repo-server.js';
import { explainRun, runAlba } from './run-alba.js';

/** The part of `alba build --json` the remote cache tests compare. */
export interface BuildJson {
  index: { digest: string };
  manifests: { digest: string }[];
  /** With --remote-cache: what it did. */
  remoteCache?: { hits: number; misses: number; refused: number; written: number; warnings: number; lazy: number; blobBytes: number };
}

/** The fixture distro served on 127.0.0.1, a project `test/fleet:1.0` on it, and its lock. */
export interface Fleet {
  server: RepoServer;
  project: FixtureProject;
  lock: LockFile;
}

/** Serves the fixture distro and locks a project on it (what every runner of a fleet builds). */
export async function startFleet(work: string): Promise<Fleet> {
  const repo = await makeFixtureDistro(join(work, 'repo'));
  const server = await serveDir(repo.dir);
  const project = await writeFixtureProject(join(work, 'project'), {
    url: server.url,
    keyring: repo.keyringPath,
    name: 'test/fleet',
    tag: '1.0',
  });
  const locked = await runAlba(['lock', project.recipe, '--cache', join(work, 'cache-lock')]);
  assert.equal(locked.status, 0, explainRun(locked));
  return { server, project, lock: JSON.parse(await readFile(project.lock, 'utf8')) as LockFile };
}

/** The digests a build reported (empty when it failed). */
export function digests(json: BuildJson | undefined): { index: string; manifests: string[] } {
  return { index: json?.index.digest ?? '', manifests: (json?.manifests ?? []).map((m) => m.digest) };
}

/** The .debs of `lock` found in a runner's cache. */
export async function debsIn(cache: string, lock: LockFile): Promise<string[]> {
  const names = await readdir(join(cache, 'blobs', 'sha256')).catch(() => [] as string[]);
  const debs = new Set(Object.values(lock.archs).flatMap((ps) => ps.map((p) => p.sha256)));
  return names.filter((n) => debs.has(n));
}
