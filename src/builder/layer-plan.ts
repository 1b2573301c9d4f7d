/**
 * The layer plan of one arch: which packages share a layer, so that an image never has more
 * package layers than its budget (`max-layers` minus the base-files layer, minus the user-files
 * layer when the arch has files).
 *
 * Rules (pure and deterministic: the same packages and budget give the same groups):
 * 1. Packages are taken in name order (code-point order, as the lock file sorts them).
 * 2. When there are no more packages than the budget, every package is a group of its own.
 * 3. Otherwise the `Architecture: all` packages and the other packages are planned separately,
 *    so a group never mixes them and the same `all` packages form the same groups (hence the
 *    same layer digests) on every arch that gives them the same share of the budget. The budget
 *    is shared in proportion to the package counts, each side getting at least one layer:
 *    `allShare = min(budget − 1, max(1, round(budget × all / total)))` (halves round up), and the
 *    other packages get `budget − allShare`. Because total > budget, neither side then gets more
 *    layers than it has packages. Archs with the same numbers of `all` and other packages (the
 *    usual case) therefore group their `all` packages identically; archs whose counts differ may
 *    get another share, and then other `all` groups. When one side has no packages, the other
 *    gets the whole budget. A budget of 1 puts every package in one group.
 * 4. Each side is cut into its share of consecutive runs in name order whose sizes differ by at
 *    most one, the larger runs first (n packages in g groups: the first n mod g groups have
 *    ⌈n/g⌉ packages, the others ⌊n/g⌋).
 * 5. Groups are ordered by the name of their first package, as single-package layers are.
 * Every package appears in exactly one group and the number of groups never exceeds the budget.
 */

/** What the planner needs to know about a package. */
export interface PlannedPackage {
  name: string;
  /** Debian architecture of the .deb (`all` or the arch's own). */
  architecture: string;
}

/** Groups one arch's packages into at most `budget` layers (see the rules above); groups are never empty. */
export function planLayerGroups<T extends PlannedPackage>(packages: readonly T[], budget: number): T[][] {
  if (!Number.isInteger(budget) || budget < 1) throw new RangeError(`layer budget must be a positive integer, got ${budget}`);
  const sorted = [...packages].sort(byName);
  if (sorted.length <= budget) return sorted.map((p) => [p]);
  if (budget === 1) return [sorted];
  const all = sorted.filter((p) => p.architecture === 'all');
  const other = sorted.filter((p) => p.architecture !== 'all');
  if (all.length === 0 || other.length === 0) return splitEvenly(sorted, budget);
  const share = allShare(budget, all.length, other.length);
  return [...splitEvenly(all, share), ...splitEvenly(other, budget - share)].sort((a, b) => byName(a[0]!, b[0]!));
}

function byName(a: PlannedPackage, b: PlannedPackage): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Layers given to `all` packages when both kinds exist and the packages do not fit one per layer (rule 3). */
function allShare(budget: number, all: number, other: number): number {
  return Math.min(budget - 1, Math.max(1, Math.round((budget * all) / (all + other))));
}

/** `items` in `groups` (at most items.length) consecutive runs whose sizes differ by at most one, larger runs first (rule 4). */
function splitEvenly<T>(items: readonly T[], groups: number): T[][] {
  const small = Math.floor(items.length / groups);
  const larger = items.length % groups;
  const out: T[][] = [];
  let at = 0;
  for (let g = 0; g < groups; g++) {
    const size = small + (g < larger ? 1 : 0);
    out.push(items.slice(at, at + size));
    at += size;
  }
  return out;
}
