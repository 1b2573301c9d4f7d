import { AlbaError, asAlbaError } from '../errors.js';

/** Prints an error for a person: code, message and hint for AlbaErrors (file-system errors as IO ones); a stack only for alba's own bugs. */
export function printError(thrown: unknown): void {
  const err = asAlbaError(thrown);
  if (err instanceof AlbaError) {
    process.stderr.write(`alba: error[${err.code}]: ${err.message}\n`);
    if (err.hint !== undefined) process.stderr.write(`  hint: ${err.hint}\n`);
    return;
  }
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`alba: internal error (a bug in alba; please report it):\n${detail}\n`);
}
