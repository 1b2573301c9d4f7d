import { isAlbaError } from '../errors.js';
import { parseProvides } from './relation.js';
import type { Candidate } from './types.js';
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

/**
 * Indexes the candidates of `arch` (and `all`) once; other architectures are ignored.
 * The order does not depend on the input order. A malformed Provides field is ignored: it only
 * makes that package unable to satisfy virtual dependencies.
 */
export function buildUniverse(candidates: readonly Candidate[], arch: string): Universe {
  const byName = new Map<string, Candidate[]>();
  const byProvided = new Map<string, Provider[]>();
  for (const candidate of candidates) {
    if (candidate.architecture !== arch && candidate.architecture !== 'all') continue;
    push(byName, candidate.name, candidate);
    for (const provided of providedNames(candidate)) {
      push(byProvided, provided.name, provided.version === undefined ? { candidate } : { candidate, version: provided.version });
    }
  }
  for (const list of byName.values()) list.sort(bestFirst);
  for (const list of byProvided.values()) {
    list.sort((a, b) => (a.candidate.name < b.candidate.name ? -1 : a.candidate.name > b.candidate.name ? 1 : bestFirst(a.candidate, b.candidate)));
  }
  return {
    versions: (name) => byName.get(name) ?? [],
    providers: (name) => byProvided.get(name) ?? [],
  };
}

function providedNames(candidate: Candidate): ReturnType<typeof parseProvides> {
  if (candidate.provides === undefined) return [];
  try {
    return parseProvides(candidate.provides);
  } catch (err) {
    if (isAlbaError(err)) return [];
    throw err;
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
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
