import { readHostAptSources } from '../debian/apt-sources.js';
import { applyMirrors, parseMirrorOption, type FetchTarget } from '../recipe/mirror.js';
import type { Recipe } from '../recipe/types.js';

/** Where each suite of the recipe is fetched from, given `--mirror` values (`apt`, a base URL, ARCHIVE=URL; none: the recipe's own URLs). */
export async function fetchTargets(recipe: Recipe, mirrorValues: string[] | undefined): Promise<FetchTarget[]> {
  const mirrors = (mirrorValues ?? []).map(parseMirrorOption);
  const host = mirrors.some((m) => m.kind === 'apt') ? await readHostAptSources() : undefined;
  return applyMirrors(recipe.sources, mirrors, host);
}
