import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeFixtureDistro, writeFixtureProject } from './fixture-distro.js';
import { serveDir } from './repo-server.js';
import { runAlba } from './run-alba.js';

/** An `alba build` of the fixture distro (amd64 + arm64, with SBOMs), and where it is. */
export interface FixtureLayout {
  /** The OCI layout directory. */
  layout: string;
  /** The cache the build used (its blob store holds the layers). */
  cache: string;
  /** The recipe the layout was built from. */
  recipe: string;
  /** Stops the fixture repository's server. */
  close(): Promise<void>;
}

/** Builds the fixture project under `work` with `tag` through the CLI, as a user would. */
export async function buildFixtureLayout(work: string, tag: string): Promise<FixtureLayout> {
  const repo = await makeFixtureDistro(join(work, 'repo'));
  const server = await serveDir(repo.dir);
  const project = await writeFixtureProject(join(work, 'project'), { url: server.url, keyring: repo.keyringPath, tag });
  const layout = join(work, 'out');
  const cache = join(work, 'cache');
  const build = await runAlba(['build', project.recipe, '--cache', cache, '--out', layout]);
  assert.equal(build.status, 0, `alba build: status ${build.status}\n${build.stderr}`);
  return { layout, cache, recipe: project.recipe, close: () => server.close() };
}
