import { isAlbaError } from '../errors.js';
import type { IndexTable } from './index-table.js';
import { parseProvides } from './relation.js';
import type { Candidate, IndexOrigin } from './types.js';
import { compareVersions } from './version.js';

/** A candidate that provides a (virtual) name, with the version it provides it at, if any. */
export interface Provider {
  candidate: Candidate;
  version?: string;
}

/** Every installable package of one architecture, looked up by name and by provided name. */
export interface Universe {
  /** Candidates of this name, best first (highest version, then a fixed order of origins). */
  versions(name: string): readonly Candidate[];
  /** Candidates providing this name, by provider name, then best first. */
  providers(name: string): readonly Provider[];
}

/** One loaded index and where it comes from. */
export interface UniverseIndex {
  table: IndexTable;
  origin: IndexOrigin;
}

/**
 * The packages of `arch` (and `all`) in these indexes; other architectures are ignored. Lazy: a
 * name's candidates, and its providers, are made from the tables the first time it is looked up;
 * each stanza is read once and becomes one Candidate object, the same for every lookup. The order does not depend on the order of the indexes. A malformed
 * Provides field is ignored: it only makes that package unable to satisfy virtual dependencies.
 */
export function buildUniverse(indexes: readonly UniverseIndex[], arch: string): Universe {
  const made = indexes.map(() => new Map<number, Candidate | undefined>());
  /** The one Candidate of the stanza at `offset` of index `i` (undefined when of another arch). */
  const candidate = (i: number, offset: number): Candidate | undefined => {
    const seen = made[i]!;
    if (seen.has(offset)) return seen.get(offset);
    const index = indexes[i]!;
    const c: Candidate = { ...index.table.candidateAt(offset), origin: index.origin };
    const kept = c.architecture === arch || c.architecture === 'all' ? c : undefined;
    seen.set(offset, kept);
    return kept;
  };
  const byName = new Map<string, Candidate[]>();
  const providers = new Map<string, Provider[]>();
  return {
    versions(name) {
      let list = byName.get(name);
      if (list === undefined) {
        list = [];
        indexes.forEach((index, i) => {
          for (const offset of index.table.offsetsNamed(name)) {
            const c = candidate(i, offset);
            if (c !== undefined && c.name === name) list!.push(c);
          }
        });
        list.sort(bestFirst);
        byName.set(name, list);
      }
      return list;
    },
    providers(name) {
      let list = providers.get(name);
      if (list === undefined) {
        list = [];
        indexes.forEach((index, i) => {
          for (const [offset, value] of index.table.provides) {
            if (!namesIn(value, name)) continue;
            const c = candidate(i, offset);
            if (c === undefined) continue;
            for (const provided of parsedProvides(c.provides ?? '')) {
              if (provided.name === name)
                list!.push(provided.version === undefined ? { candidate: c } : { candidate: c, version: provided.version });
            }
          }
        });
        list.sort((a, b) => compareText(a.candidate.name, b.candidate.name) || bestFirst(a.candidate, b.candidate));
        providers.set(name, list);
      }
      return list;
    },
  };
}

/**
 * True when the Provides field `value` may name `name`: it appears there as a whole name (after
 * the start, a comma or a space; before the end, a space, `(`, `:` or a comma). A quick look that
 * spares parsing the fields of the ~10k providing stanzas of an index; the fields it lets through
 * are parsed for real, so a malformed one provides nothing.
 */
function namesIn(value: string, name: string): boolean {
  for (let at = value.indexOf(name); at >= 0; at = value.indexOf(name, at + 1)) {
    const before = at === 0 ? 44 : value.charCodeAt(at - 1);
    const after = at + name.length === value.length ? 44 : value.charCodeAt(at + name.length);
    if (
      (before === 44 || before === 32 || before === 9 || before === 10) &&
      (after === 44 || after === 32 || after === 40 || after === 58 || after === 9 || after === 10)
    )
      return true;
  }
  return false;
}

function parsedProvides(value: string): ReturnType<typeof parseProvides> {
  try {
    return parseProvides(value);
  } catch (err) {
    if (isAlbaError(err)) return [];
    throw err;
  }
}

/** Highest version first; equal versions in a fixed order of architecture and origin. */
function bestFirst(a: Candidate, b: Candidate): number {
  return (
    compareVersions(b.version, a.version) ||
    compareText(a.architecture, b.architecture) ||
    compareText(a.origin.repo, b.origin.repo) ||
    compareText(a.origin.suite, b.origin.suite) ||
    compareText(a.origin.component, b.origin.component) ||
    compareText(a.filename, b.filename) ||
    compareText(a.sha256, b.sha256)
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
