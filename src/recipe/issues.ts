import type { LineCounter } from 'yaml';
import { AlbaError } from '../errors.js';

/** One problem found in a recipe, at a 1-based line and column. */
export interface RecipeIssue {
  line: number;
  col: number;
  message: string;
  /** What to do about it, when there is something specific to say. */
  hint?: string;
}

/** Collects recipe problems with their positions, so all of them can be reported at once. */
export class IssueList {
  readonly items: RecipeIssue[] = [];

  constructor(private readonly lines: LineCounter) {}

  /** Records a problem at a source offset (the start of the offending node). */
  at(offset: number | undefined, message: string, hint?: string): void {
    const { line, col } = this.lines.linePos(offset ?? 0);
    this.items.push(hint === undefined ? { line, col, message } : { line, col, message, hint });
  }

  /** Line number of a source offset, for messages that point at another place ("first at line 3"). */
  lineOf(offset: number | undefined): number {
    return this.lines.linePos(offset ?? 0).line;
  }
}

/** One `file:line:col: problem (hint)` line per issue, in the given order. */
export function formatIssues(file: string, issues: readonly RecipeIssue[]): string {
  return issues.map((i) => `${file}:${i.line}:${i.col}: ${i.message}${i.hint === undefined ? '' : ` (${i.hint})`}`).join('\n');
}

/** One recipe problem as a library caller gets it: the recipe file and, when known, the position. */
export interface RecipeProblem {
  file?: string;
  line?: number;
  col?: number;
  message: string;
  hint?: string;
}

/** RECIPE_INVALID: the message lists the problems as text, `problems` as data (for editors and other callers). */
export class RecipeInvalidError extends AlbaError {
  readonly problems: readonly RecipeProblem[];

  constructor(message: string, hint: string, problems: readonly RecipeProblem[]) {
    super('RECIPE_INVALID', message, { hint });
    this.problems = problems;
  }
}

/** The RECIPE_INVALID error listing every issue, one per line. */
export function recipeInvalid(file: string, issues: readonly RecipeIssue[]): RecipeInvalidError {
  const count = issues.length === 1 ? 'the problem' : `the ${issues.length} problems`;
  return new RecipeInvalidError(
    formatIssues(file, issues),
    `fix ${count} listed above; docs/recipe.md describes every key and its format`,
    issues.map((i) => ({ file, ...i })),
  );
}

/** RECIPE_INVALID for one problem found after parsing (no position: the layer planner, the resolver). */
export function recipeProblem(message: string, hint: string): RecipeInvalidError {
  return new RecipeInvalidError(message, hint, [{ message, hint }]);
}
