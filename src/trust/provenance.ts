/**
 * SLSA provenance v1 of an alba build: what went in (the recipe, every .deb and Release file of
 * the lock, each user file, with their sha256), how (alba's buildType, the archs and options that
 * change the output), by what (alba and its version) and when. The times live only here: the
 * image and SBOM digests do not depend on them.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { userFilesFor } from '../builder/user-files.js';
import type { LockFile } from '../lock/lock-types.js';
import type { Recipe } from '../recipe/types.js';
import { version } from '../version.js';

export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** alba's build type (docs/trust.md says what its parameters mean). */
export const ALBA_BUILD_TYPE = 'https://alba.invalid/buildtypes/recipe/v1';
export const ALBA_BUILDER_ID = 'https://alba.invalid/builder';

/** One input of the build. */
export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest: { sha256: string };
}

/** What a build's provenance says, before it is made a predicate. */
export interface ProvenanceFacts {
  recipe: { path: string; sha256: string };
  archs: string[];
  /** Options that change the output: annotations from the command line, the SOURCE_DATE_EPOCH. */
  options: Record<string, unknown>;
  dependencies: ResourceDescriptor[];
  startedOn: Date;
  finishedOn: Date;
  invocationId: string;
}

/** The facts of a build of `recipe` from `lock` (hashes the recipe and each user file now). */
export async function provenanceFacts(input: {
  recipe: Recipe;
  lock: LockFile;
  archs: string[];
  options: Record<string, unknown>;
  startedOn: Date;
  finishedOn?: Date;
}): Promise<ProvenanceFacts> {
  const { recipe, lock } = input;
  const debs = new Map<string, ResourceDescriptor>();
  for (const arch of input.archs)
    for (const p of lock.archs[arch] ?? [])
      debs.set(p.sha256, {
        name: `${p.name}_${p.version}_${p.architecture}.deb`,
        uri: `${p.repo}/${p.filename}`,
        digest: { sha256: p.sha256 },
      });
  const releases = lock.releases.map((r) => ({ uri: `${r.repo}/dists/${r.suite}/${r.file}`, digest: { sha256: r.sha256 } }));
  const files = new Map<string, ResourceDescriptor>();
  for (const arch of recipe.archs.filter((a) => input.archs.includes(a.name)))
    for (const f of userFilesFor(recipe.files, arch))
      if (!files.has(f.src)) files.set(f.src, { name: f.dst, uri: `file://${f.src}`, digest: { sha256: await sha256File(f.src) } });
  return {
    recipe: { path: recipe.path, sha256: await sha256File(recipe.path) },
    archs: input.archs,
    options: input.options,
    dependencies: [...[...debs.values()].sort((a, b) => (a.uri! < b.uri! ? -1 : 1)), ...releases, ...files.values()],
    startedOn: input.startedOn,
    finishedOn: input.finishedOn ?? new Date(),
    invocationId: randomUUID(),
  };
}

/** The SLSA provenance v1 predicate. */
export function provenancePredicate(facts: ProvenanceFacts): unknown {
  return {
    buildDefinition: {
      buildType: ALBA_BUILD_TYPE,
      externalParameters: {
        recipe: { path: facts.recipe.path, digest: { sha256: facts.recipe.sha256 } },
        archs: facts.archs,
        ...facts.options,
      },
      internalParameters: { alba: version },
      resolvedDependencies: facts.dependencies,
    },
    runDetails: {
      builder: { id: `${ALBA_BUILDER_ID}@${version}`, version: { alba: version } },
      metadata: { invocationId: facts.invocationId, startedOn: facts.startedOn.toISOString(), finishedOn: facts.finishedOn.toISOString() },
    },
  };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
