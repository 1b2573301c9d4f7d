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
 * name's candidates are made from the tables the first time it is looked up, and the names
 * provided are gathered at the first provider lookup. Each stanza becomes one Candidate object,
 * the same for every lookup. The order does not depend on the order of the indexes. A malformed
 * Provides field is ignored: it only makes that package unable to satisfy virtual dependencies.
 */
export function buildUniverse(indexes: readonly UniverseIndex[], arch: string): Universe {
  const made = indexes.map(() => new Map<number, Candidate | undefined>());
  const candidate = (i: number, offset: number): Candidate | undefined => {
    const known = made[i]!;
    if (known.has(offset)) return known.get(offset);
    const index = indexes[i]!;
    const c: Candidate = { ...index.table.candidateAt(offset), origin: index.origin };
    const kept = c.architecture === arch || c.architecture === 'all' ? c : undefined;
    known.set(offset, kept);
    return kept;
  };
  const byName = new Map<string, Candidate[]>();
  let byProvided: Map<string, { index: number; offset: number }[]> | undefined;
  const providers = new Map<string, Provider[]>();
  return {
    versions(name) {
      let list = byName.get(name);
      if (list === undefined) {
        list = indexes.flatMap((index, i) => (index.table.byName.get(name) ?? []).map((offset) => candidate(i, offset))).filter((c): c is Candidate => c !== undefined);
        list.sort(bestFirst);
        byName.set(name, list);
      }
      return list;
    },
    providers(name) {
      let list = providers.get(name);
      if (list === undefined) {
        byProvided ??= providedNames(indexes);
        list = [];
        for (const { index, offset } of byProvided.get(name) ?? []) {
          const c = candidate(index, offset);
          if (c === undefined) continue;
          for (const provided of parsedProvides(c.provides ?? '')) {
            if (provided.name === name) list.push(provided.version === undefined ? { candidate: c } : { candidate: c, version: provided.version });
          }
        }
        list.sort((a, b) => compareText(a.candidate.name, b.candidate.name) || bestFirst(a.candidate, b.candidate));
        providers.set(name, list);
      }
      return list;
    },
  };
}

/**
 * The stanzas that may provide each name, from a quick look at every Provides field (a name is
 * what comes before a space, `(` or `:` in each comma-separated item); the fields of the stanzas a
 * lookup touches are then parsed for real, so a malformed one provides nothing.
 */
function providedNames(indexes: readonly UniverseIndex[]): Map<string, { index: number; offset: number }[]> {
  const out = new Map<string, { index: number; offset: number }[]>();
  indexes.forEach((index, i) => {
    for (const [offset, value] of index.table.provides) {
      for (const item of value.split(',')) {
        const name = /^\s*([^\s(:]+)/.exec(item)?.[1];
        if (name === undefined) continue;
        const list = out.get(name);
        if (list === undefined) out.set(name, [{ index: i, offset }]);
        else if (list[list.length - 1]?.offset !== offset || list[list.length - 1]?.index !== i) list.push({ index: i, offset });
      }
    }
  });
  return out;
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
