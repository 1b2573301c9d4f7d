import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { AlbaError } from '../errors.js';
import { parseRecipe } from './parse.js';
import type { Recipe } from './types.js';

/** Reads and validates the recipe at `path`; relative paths inside it are taken from its directory. */
export async function loadRecipe(path: string): Promise<Recipe> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new AlbaError('RECIPE_NOT_FOUND', `recipe ${path} does not exist`, {
        hint: 'check the path; examples are in recipes/',
        cause: err,
      });
    }
    throw new AlbaError('RECIPE_NOT_FOUND', `recipe ${path} cannot be read: ${(err as Error).message}`, {
      hint: 'check that the file is readable',
      cause: err,
    });
  }
  return parseRecipe(text, path, dirname(resolve(path)));
}
