import { AlbaError } from '../errors.js';

/** Prints an error for a person: code, message and hint for AlbaErrors; a stack only for alba's own bugs. */
export function printError(err: unknown): void {
  if (err instanceof AlbaError) {
    process.stderr.write(`alba: error[${err.code}]: ${err.message}\n`);
    if (err.hint !== undefined) process.stderr.write(`  hint: ${err.hint}\n`);
    return;
  }
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`alba: internal error (a bug in alba; please report it):\n${detail}\n`);
}
