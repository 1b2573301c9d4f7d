import { AlbaError } from '../errors.js';
import { entryOf, formatListing, parseClassFilter, sortEntries } from '../lifecycle/listing.js';
import type { TagFacts } from '../sink/sink.js';

/** Prints `facts` as `ls` does: a table of the `--class` chosen (release by default), or JSON. */
export function printListing(facts: readonly TagFacts[], classValue: string | undefined, json: boolean): void {
  const filter = parseClassFilter(classValue);
  if (classValue !== undefined && filter === undefined) throw new AlbaError('USAGE', `--class ${classValue}: expected release, extra, dev or all`, { hint: 'e.g. --class all' });
  const entries = facts.map(entryOf);
  if (json) {
    const shown = sortEntries(entries).filter((e) => (filter ?? 'release') === 'all' || e.class === (filter ?? 'release'));
    process.stdout.write(`${JSON.stringify(shown.map((e) => ({ ...e, ...(e.pushed === undefined ? {} : { pushed: e.pushed.toISOString() }) })))}\n`);
    return;
  }
  process.stdout.write(`${formatListing(entries, filter ?? 'release').join('\n')}\n`);
}
