import { AlbaError } from '../errors.js';
import type { RelationOp } from './version.js';

/** One alternative of a relation field: `name[:archqual] [(op version)]`. */
export interface Relation {
  name: string;
  /** Multi-Arch qualifier after the colon: `any`, `native` or an architecture. */
  archQualifier?: string;
  op?: RelationOp;
  version?: string;
}

/** Alternatives separated by `|`; the group is met when any one of them is. */
export type RelationGroup = Relation[];

/** A name a package provides, with the version given by `(= version)` when there is one. */
export interface ProvidedName {
  name: string;
  version?: string;
}

/** Which restrictions to evaluate; `arch` undefined keeps every `[arch]`-restricted alternative. */
export interface RelationContext {
  /** Debian architecture that `[...]` restrictions are evaluated against. */
  arch?: string;
  /** Active build profiles for `<...>` restrictions (none by default, as dpkg). */
  profiles?: readonly string[];
}

const ALTERNATIVE =
  /^\s*([A-Za-z0-9][A-Za-z0-9+._-]*)(?::([A-Za-z0-9-]+))?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([A-Za-z0-9][^\s()]*)\s*\))?\s*(?:\[([^\]]*)\])?\s*((?:<[^<>]*>\s*)*)$/;

const OPS: Record<string, RelationOp> = { '<<': '<<', '<=': '<=', '<': '<=', '=': '=', '>=': '>=', '>': '>=', '>>': '>>' };

/** CPU part of Debian architectures whose name differs from their CPU, for `any-<cpu>` wildcards. */
const CPU: Record<string, string> = { armhf: 'arm', armel: 'arm' };

/**
 * Parses a Depends/Pre-Depends-style field into groups of alternatives. Alternatives excluded by an
 * architecture or build-profile restriction are dropped, and so are groups left empty.
 * Throws UNSATISFIABLE naming the offending part when the field is malformed.
 */
export function parseRelations(field: string, context: RelationContext = {}): RelationGroup[] {
  const groups: RelationGroup[] = [];
  for (const groupText of field.split(',')) {
    if (groupText.trim() === '') continue;
    const group: RelationGroup = [];
    for (const altText of groupText.split('|')) {
      const parsed = parseAlternative(altText, field, context);
      if (parsed !== undefined) group.push(parsed);
    }
    if (group.length > 0) groups.push(group);
  }
  return groups;
}

/** Parses a Provides field: `foo (= 1.2), bar`. A version given with an operator other than `=` is ignored. */
export function parseProvides(field: string): ProvidedName[] {
  return parseRelations(field)
    .flat()
    .map((r) => (r.op === '=' && r.version !== undefined ? { name: r.name, version: r.version } : { name: r.name }));
}

/** Writes a relation back in control-file syntax: `a (>= 1.0) | b:any`. */
export function formatRelation(group: RelationGroup): string {
  return group.map((r) => `${r.name}${r.archQualifier ? `:${r.archQualifier}` : ''}${r.op ? ` (${r.op} ${r.version})` : ''}`).join(' | ');
}

function parseAlternative(text: string, field: string, context: RelationContext): Relation | undefined {
  const match = ALTERNATIVE.exec(text);
  if (match === null) {
    throw new AlbaError('UNSATISFIABLE', `malformed relation "${text.trim()}" in "${field.trim()}"`, {
      hint: 'the package index has a broken Depends/Provides field; report it to the repository or exclude the package',
    });
  }
  const [, name, archQualifier, op, version, archList, profiles] = match as unknown as (string | undefined)[];
  if (archList !== undefined && context.arch !== undefined && !archMatches(archList, context.arch)) return undefined;
  if (profiles && !profilesMatch(profiles, context.profiles ?? [])) return undefined;
  const relation: Relation = { name: name! };
  if (archQualifier !== undefined) relation.archQualifier = archQualifier;
  if (op !== undefined) {
    relation.op = OPS[op]!;
    relation.version = version!;
  }
  return relation;
}

/** `[amd64 arm64]` keeps the alternative on those archs; `[!i386]` on every arch but those. */
function archMatches(list: string, arch: string): boolean {
  const terms = words(list);
  const negated = terms.some((t) => t.startsWith('!'));
  const hit = terms.some((t) => wildcardMatches(t.replace(/^!/, ''), arch));
  return negated ? !hit : hit;
}

function wildcardMatches(term: string, arch: string): boolean {
  const cpu = CPU[arch] ?? arch;
  return term === arch || term === 'any' || term === 'linux-any' || term === `any-${cpu}` || term === `linux-${arch}`;
}

/** `<a !b> <c>`: met when every term of at least one `<...>` list holds for the active profiles. */
function profilesMatch(text: string, active: readonly string[]): boolean {
  const lists = [...text.matchAll(/<([^<>]*)>/g)].map((m) => words(m[1]!));
  return lists.some((terms) => terms.every((t) => (t.startsWith('!') ? !active.includes(t.slice(1)) : active.includes(t))));
}

function words(text: string): string[] {
  return text.split(/\s+/).filter((t) => t !== '');
}
