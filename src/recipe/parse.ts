import { basename, resolve } from 'node:path';
import { isAlias, LineCounter, parseDocument, visit } from 'yaml';
import { IssueList, recipeInvalid, type RecipeIssue } from './issues.js';
import type { Recipe } from './types.js';
import { validateRecipe } from './validate.js';
import { YamlReader } from './yaml-reader.js';

/** YAML parser errors after which the document is still worth validating. */
const RECOVERABLE = new Set(['DUPLICATE_KEY']);

/** Parses and validates recipe text; `file` names it in messages, `baseDir` is its directory (anchors relative paths). */
export function checkRecipe(text: string, file: string, baseDir: string): { recipe?: Recipe; issues: RecipeIssue[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const issues = new IssueList(lines);
  for (const problem of [...doc.errors, ...doc.warnings]) {
    issues.at(problem.pos[0], problem.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''));
  }
  if (doc.errors.some((e) => !RECOVERABLE.has(e.code))) return { issues: sorted(issues.items) };
  visit(doc, {
    Alias(_, node) {
      if (isAlias(node) && node.resolve(doc) === undefined) issues.at(node.range?.[0], `unknown alias *${node.source}`);
    },
  });
  if (doc.contents === null) {
    issues.at(0, 'the recipe is empty', 'start from one of the recipes/ examples');
    return { issues: sorted(issues.items) };
  }
  const reader = new YamlReader(doc, text, issues);
  const recipe = validateRecipe(
    reader,
    { node: doc.contents, at: doc.contents.range?.[0] ?? 0, what: '' },
    resolve(baseDir, basename(file)),
    baseDir,
  );
  if (recipe === undefined || issues.items.length > 0) return { issues: sorted(issues.items) };
  return { recipe, issues: [] };
}

/** Parses and validates recipe text; throws RECIPE_INVALID listing every problem as `file:line:col: problem`. */
export function parseRecipe(text: string, file: string, baseDir: string): Recipe {
  const { recipe, issues } = checkRecipe(text, file, baseDir);
  if (recipe === undefined) throw recipeInvalid(file, issues);
  return recipe;
}

/** Issues in file order (the sort is stable, so issues at one position keep the order they were found in). */
function sorted(issues: readonly RecipeIssue[]): RecipeIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.col - b.col);
}
