import { AlbaError, isAlbaError } from '../errors.js';
import { formatRelation, parseRelations, type Relation, type RelationGroup } from './relation.js';
import type { Candidate, PackageRequest, ResolvedPackage } from './types.js';
import type { Universe } from './universe.js';
import { satisfies } from './version.js';
import { recipeProblem } from '../recipe/issues.js';

/** What to resolve: the packages of every index of one architecture and the recipe's choices. */
export interface ResolveInput {
  /** Debian architecture (`amd64`, `armhf`...), for architecture-qualified relations. */
  arch: string;
  /** The packages of that architecture (and `all`), by name and provided name (universe.ts). */
  universe: Universe;
  requests: readonly PackageRequest[];
  /** `dependencies`: the Pre-Depends/Depends closure of the requests; `explicit`: the requests only. */
  mode: 'dependencies' | 'explicit';
  /** Names never pulled in as dependencies. */
  exclude: readonly string[];
  /** The searched indexes, for messages: `bookworm, bookworm-updates main amd64`. */
  where: string;
}

/**
 * Chooses the packages of one architecture, sorted by name. Pure and deterministic.
 *
 * - A request takes the highest version of its name, or exactly `version` when pinned.
 * - For each dependency group: an alternative met by an already selected package wins; otherwise the
 *   alternatives are tried in order. Within one, a real package (highest satisfying version) beats
 *   providers of a virtual name; among providers the lowest name wins.
 * - An alternative naming an excluded package, or whose only satisfiers are excluded, is met: the
 *   user takes responsibility. So `debconf | debconf-2.0` with `debconf` excluded pulls in nothing.
 * - No backtracking: a selected package whose version does not meet a later dependency is an error.
 *
 * Throws PACKAGE_NOT_FOUND for a request that is not in the indexes (or not at the pinned version),
 * RECIPE_INVALID for a request that is also excluded or pinned twice differently, and UNSATISFIABLE
 * with the chain of dependencies (`app → libfoo (>= 2) → not found in ...`) for an unmet dependency.
 */
export function resolve(input: ResolveInput): ResolvedPackage[] {
  const resolver = new Resolver(input);
  const queue = normalizeRequests(input).map((request) => resolver.selectRequest(request));
  if (input.mode === 'dependencies') {
    for (let i = 0; i < queue.length; i++) queue.push(...resolver.selectDependencies(queue[i]!));
  }
  return resolver.result();
}

class Resolver {
  private readonly universe: Universe;
  private readonly excluded: ReadonlySet<string>;
  private readonly selected = new Map<string, Candidate>();
  /** How each selected package was reached: the package whose relation pulled it in, and that relation. */
  private readonly reachedBy = new Map<string, { parent?: Candidate; via: string }>();
  private readonly relations = new Map<Candidate, RelationGroup[]>();

  constructor(private readonly input: ResolveInput) {
    this.universe = input.universe;
    this.excluded = new Set(input.exclude);
  }

  /** Selects the highest (or pinned) version of a request. */
  selectRequest(request: PackageRequest): Candidate {
    const versions = this.universe.versions(request.name);
    const chosen = request.version === undefined ? versions[0] : versions.find((c) => c.version === request.version);
    if (chosen === undefined) throw this.requestNotFound(request, versions);
    this.select(chosen, { via: request.name });
    return chosen;
  }

  /** Meets every dependency group of `pkg`; returns the packages newly selected for it. */
  selectDependencies(pkg: Candidate): Candidate[] {
    const added: Candidate[] = [];
    for (const group of this.dependencies(pkg)) {
      if (group.some((alt) => this.selectedSatisfier(alt) !== undefined)) continue;
      const chosen = this.choose(pkg, group);
      if (chosen === undefined) continue;
      const via = group.some((alt) => alt.name === chosen.name) ? formatRelation(group) : `${formatRelation(group)} [${chosen.name}]`;
      this.select(chosen, { parent: pkg, via });
      added.push(chosen);
    }
    return added;
  }

  /** The selection sorted by name, each with the names that meet its dependencies. */
  result(): ResolvedPackage[] {
    return [...this.selected.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((pkg) => ({ ...pkg, dependsOn: this.dependsOn(pkg) }));
  }

  private select(pkg: Candidate, reachedBy: { parent?: Candidate; via: string }): void {
    this.selected.set(pkg.name, pkg);
    this.reachedBy.set(pkg.name, reachedBy);
  }

  /** The candidate to add for `group`, or undefined when an excluded package meets it. */
  private choose(pkg: Candidate, group: RelationGroup): Candidate | undefined {
    const reasons: string[] = [];
    for (const alt of group) {
      if (this.excluded.has(alt.name)) return undefined;
      const found = this.satisfiers(alt);
      const usable = found.find((c) => !this.excluded.has(c.name) && !this.selected.has(c.name));
      if (usable !== undefined) return usable;
      if (found.length > 0 && found.every((c) => this.excluded.has(c.name))) return undefined;
      reasons.push(this.unmetReason(alt, found));
    }
    const reason = group.length === 1 ? reasons[0] : group.map((alt, i) => `${formatRelation([alt])}: ${reasons[i]}`).join('; ');
    throw new AlbaError('UNSATISFIABLE', `${[...this.chain(pkg), formatRelation(group)].join(' → ')} → ${reason}`, {
      hint: `add ${group[0]!.name} to exclude: if the image does not need it, pin another version of ${this.chain(pkg)[0]}, or add a source that has it`,
    });
  }

  /** Candidates that could meet `alt`, best first: real packages if any qualify, else providers. */
  private satisfiers(alt: Relation): Candidate[] {
    const real = this.universe.versions(alt.name).filter((c) => meets(c.version, alt));
    if (real.length > 0) return real;
    return this.universe
      .providers(alt.name)
      .filter((p) => providesEnough(p.version, alt))
      .map((p) => p.candidate);
  }

  /** Name of a selected package meeting `alt`: the real package, else the lowest-named selected provider. */
  private selectedSatisfier(alt: Relation): string | undefined {
    const real = this.selected.get(alt.name);
    if (real !== undefined && meets(real.version, alt)) return real.name;
    const provider = this.universe
      .providers(alt.name)
      .find((p) => this.selected.get(p.candidate.name) === p.candidate && providesEnough(p.version, alt));
    return provider?.candidate.name;
  }

  private unmetReason(alt: Relation, found: Candidate[]): string {
    const blocker = found.map((c) => this.selected.get(c.name)).find((c) => c !== undefined);
    if (blocker !== undefined) {
      return `${blocker.name} ${blocker.version} is already selected (${this.chain(blocker).join(' → ')})`;
    }
    const highest = this.universe.versions(alt.name)[0];
    if (highest !== undefined) return `not found in ${this.input.where}; highest is ${highest.version}`;
    const providers = [...new Set(this.universe.providers(alt.name).map((p) => p.candidate.name))];
    if (providers.length > 0) return `not found in ${this.input.where}; provided by ${providers.join(', ')} without a matching version`;
    return `not found in ${this.input.where}`;
  }

  private dependsOn(pkg: Candidate): string[] {
    const names = new Set<string>();
    for (const group of this.dependencies(pkg)) {
      const name = group.map((alt) => this.selectedSatisfier(alt)).find((n) => n !== undefined);
      if (name !== undefined && name !== pkg.name) names.add(name);
    }
    return [...names].sort();
  }

  /** Pre-Depends then Depends of `pkg`, parsed once. */
  private dependencies(pkg: Candidate): RelationGroup[] {
    let groups = this.relations.get(pkg);
    if (groups === undefined) {
      groups = [pkg.preDepends, pkg.depends].flatMap((field) => (field === undefined ? [] : this.parse(pkg, field)));
      this.relations.set(pkg, groups);
    }
    return groups;
  }

  private parse(pkg: Candidate, field: string): RelationGroup[] {
    try {
      return parseRelations(field, { arch: this.input.arch });
    } catch (err) {
      if (!isAlbaError(err)) throw err;
      throw new AlbaError(
        'UNSATISFIABLE',
        `${this.chain(pkg).join(' → ')}: ${pkg.name} ${pkg.version} (${pkg.origin.suite}): ${err.message}`,
        {
          hint: `add ${pkg.name} to exclude: or pin another version of it`,
          cause: err,
        },
      );
    }
  }

  /** The request, then each relation followed to reach `pkg`. */
  private chain(pkg: Candidate): string[] {
    const steps: string[] = [];
    for (let at: Candidate | undefined = pkg; at !== undefined;) {
      const step = this.reachedBy.get(at.name);
      if (step === undefined) return [pkg.name];
      steps.push(step.via);
      at = step.parent;
    }
    return steps.reverse();
  }

  private requestNotFound(request: PackageRequest, versions: readonly Candidate[]): AlbaError {
    const { where } = this.input;
    if (versions.length > 0) {
      const available = [...new Set(versions.map((c) => c.version))].join(', ');
      return new AlbaError(
        'PACKAGE_NOT_FOUND',
        `package ${request.name}=${request.version} not found in ${where}; available: ${available}`,
        {
          hint: 'pin one of the available versions, or drop the pin to take the highest',
        },
      );
    }
    const providers = [...new Set(this.universe.providers(request.name).map((p) => p.candidate.name))];
    if (providers.length > 0) {
      return new AlbaError(
        'PACKAGE_NOT_FOUND',
        `package ${request.name} not found in ${where}; it is a virtual package provided by ${providers.join(', ')}`,
        {
          hint: `request one of its providers instead: ${providers.join(', ')}`,
        },
      );
    }
    return new AlbaError('PACKAGE_NOT_FOUND', `package ${request.name} not found in ${where}`, {
      hint: 'check the spelling, or add the suite or component that has it to sources:',
    });
  }
}

/** Requests sorted by name and deduplicated; rejects a name pinned twice differently or also excluded. */
function normalizeRequests(input: ResolveInput): PackageRequest[] {
  const byName = new Map<string, PackageRequest>();
  for (const request of input.requests) {
    if (input.exclude.includes(request.name)) {
      throw recipeProblem(
        `package ${request.name} is both requested in packages: and listed in exclude:`,
        `remove ${request.name} from one of the two lists`,
      );
    }
    const previous = byName.get(request.name);
    if (previous !== undefined && previous.version !== request.version) {
      throw recipeProblem(
        `package ${request.name} is requested twice with different versions: ${show(previous)} and ${show(request)}`,
        `keep one entry for ${request.name}`,
      );
    }
    byName.set(request.name, request);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function show(request: PackageRequest): string {
  return request.version === undefined ? request.name : `${request.name}=${request.version}`;
}

function meets(version: string, alt: Relation): boolean {
  return alt.op === undefined || satisfies(version, alt.op, alt.version!);
}

/** Unversioned provides meet only unversioned dependencies; versioned ones must satisfy the relation. */
function providesEnough(provided: string | undefined, alt: Relation): boolean {
  if (alt.op === undefined) return true;
  return provided !== undefined && satisfies(provided, alt.op, alt.version!);
}
