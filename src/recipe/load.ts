import { dirname, resolve } from 'node:path';
import { AlbaError } from '../errors.js';
import { isMissingFile, readSmallFile } from '../util/regular-file.js';
import { parseRecipe } from './parse.js';

/** The largest recipe read (recipes are a few KiB; their annotations are capped lower still). */
const MAX_RECIPE_BYTES = 16 * 1024 * 1024;
import type { Recipe } from './types.js';

/** Reads and validates the recipe at `path`; relative paths inside it are taken from its directory. */
export async function loadRecipe(path: string): Promise<Recipe> {
  let text: string;
  try {
    // a recipe is a few KiB: a FIFO, a directory or /dev/zero named here is refused, never waited on or read without end
    text = (
      await readSmallFile(
        path,
        MAX_RECIPE_BYTES,
        (why, cause) =>
          new AlbaError('RECIPE_NOT_FOUND', `recipe ${path} ${why}`, {
            hint: 'name the recipe file (YAML); examples are in recipes/',
            ...(cause === undefined ? {} : { cause }),
          }),
      )
    ).toString('utf8');
  } catch (err) {
    if (!isMissingFile(err)) throw err;
    throw new AlbaError('RECIPE_NOT_FOUND', `recipe ${path} does not exist`, {
      hint: 'check the path; examples are in recipes/',
      cause: err,
    });
  }
  return parseRecipe(text, path, dirname(resolve(path)));
}
