import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planLayerGroups, type PlannedPackage } from '../../src/builder/layer-plan.js';

/** Packages from a compact spec: `a` is arch-specific, `a:all` is Architecture: all. */
function pkgs(spec: string): PlannedPackage[] {
  return spec
    .split(' ')
    .filter((s) => s !== '')
    .map((s) => {
      const [name, arch] = s.split(':');
      return { name: name!, architecture: arch ?? 'amd64' };
    });
}

/** Groups as `a b|c d`: names within a group by space, groups by `|`. */
function show(groups: PlannedPackage[][]): string {
  return groups.map((g) => g.map((p) => p.name).join(' ')).join('|');
}

const cases: Array<{ name: string; packages: string; budget: number; expect: string }> = [
  { name: 'no packages', packages: '', budget: 5, expect: '' },
  { name: 'fewer packages than the budget: one each, in name order', packages: 'c b a', budget: 5, expect: 'a|b|c' },
  { name: 'exactly the budget: one each', packages: 'a b c d', budget: 4, expect: 'a|b|c|d' },
  { name: 'fits: all and arch packages stay one per layer in name order', packages: 'a b:all c', budget: 3, expect: 'a|b|c' },
  { name: 'one over the budget: the first group has two', packages: 'a b c d e', budget: 4, expect: 'a b|c|d|e' },
  { name: 'even split', packages: 'a b c d e f', budget: 3, expect: 'a b|c d|e f' },
  { name: 'sizes differ by at most one, larger first', packages: 'a b c d e f g', budget: 3, expect: 'a b c|d e|f g' },
  { name: 'budget 1: everything in one layer', packages: 'a b:all c', budget: 1, expect: 'a b c' },
  { name: 'only all packages', packages: 'a:all b:all c:all', budget: 2, expect: 'a b|c' },
  {
    name: 'all packages planned among themselves, share round(4*2/6)=1',
    packages: 'tzdata:all base-files ca-certificates:all gcc-12-base libc6 libgcc-s1',
    budget: 4,
    expect: 'base-files gcc-12-base|ca-certificates tzdata|libc6|libgcc-s1',
  },
  {
    name: 'share at least 1 even when the proportion rounds to 0',
    packages: 'a b c d e f g h i z:all',
    budget: 3,
    expect: 'a b c d e|f g h i|z',
  },
  {
    name: 'other side keeps at least 1',
    packages: 'a b:all c:all d:all e:all f:all g:all h:all i:all',
    budget: 3,
    expect: 'a|b c d e|f g h i',
  },
  { name: 'one all package among many: share round(5/6)=1', packages: 'a:all b c d e f', budget: 5, expect: 'a|b c|d|e|f' },
  { name: 'many all packages: share round(25/6)=4', packages: 'a b:all c:all d:all e:all f:all', budget: 5, expect: 'a|b c|d|e|f' },
  { name: 'half rounds up: share round(2.5)=3', packages: 'a b c d:all e:all f:all', budget: 5, expect: 'a b|c|d|e|f' },
  {
    name: 'groups ordered by their first name, all groups among the others',
    packages: 'a b m:all n:all x y z',
    budget: 4,
    expect: 'a b|m n|x y|z',
  },
];

describe('planLayerGroups', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(show(planLayerGroups(pkgs(c.packages), c.budget)), c.expect);
    });
  }

  test('refuses a budget below 1', () => {
    for (const budget of [0, -1, 1.5, Number.NaN]) assert.throws(() => planLayerGroups(pkgs('a'), budget), RangeError);
  });

  test('does not depend on the input order', () => {
    const spec = pkgs('k:all a b:all c d e f:all g h i j');
    const reversed = [...spec].reverse();
    for (let budget = 1; budget <= 12; budget++)
      assert.deepEqual(planLayerGroups(reversed, budget), planLayerGroups(spec, budget), `budget ${budget}`);
  });

  test('the same all packages give the same groups on archs with the same counts', () => {
    const amd64 = [...pkgs('libc6 libgcc-s1 libssl3 zlib1g'), ...pkgs('tzdata:all ca-certificates:all netbase:all')];
    const arm64 = amd64.map((p) => (p.architecture === 'all' ? p : { ...p, architecture: 'arm64' }));
    for (let budget = 1; budget <= 8; budget++) {
      const allGroups = (groups: PlannedPackage[][]): string => show(groups.filter((g) => g[0]!.architecture === 'all'));
      assert.equal(allGroups(planLayerGroups(arm64, budget)), allGroups(planLayerGroups(amd64, budget)), `budget ${budget}`);
    }
  });

  test('property: at most `budget` groups, none empty, never mixing all and arch packages (budget > 1), each package once, in name order within a group', () => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 500; round++) {
      const count = random(160);
      const packages: PlannedPackage[] = Array.from({ length: count }, (_, i) => ({
        name: `p${String(random(100000)).padStart(5, '0')}-${i}`,
        architecture: random(4) === 0 ? 'all' : 'arm64',
      }));
      const budget = 1 + random(124);
      const groups = planLayerGroups(packages, budget);
      const what = `round ${round}: ${count} packages, budget ${budget}`;
      assert.ok(groups.length <= budget, `${what}: ${groups.length} groups`);
      assert.equal(groups.length, Math.min(count, budget), `${what}: uses the budget`);
      assert.ok(
        groups.every((g) => g.length > 0),
        `${what}: an empty group`,
      );
      const flat = groups.flat();
      assert.equal(flat.length, count, `${what}: package count`);
      assert.equal(new Set(flat).size, count, `${what}: a package twice`);
      for (const g of groups) {
        assert.deepEqual(
          g.map((p) => p.name),
          g.map((p) => p.name).sort(),
          `${what}: a group out of name order`,
        );
        if (budget > 1)
          assert.equal(new Set(g.map((p) => p.architecture === 'all')).size, 1, `${what}: a group mixes all and arch packages`);
      }
      for (const side of [true, false]) {
        const sizes = groups.filter((g) => (g[0]!.architecture === 'all') === side).map((g) => g.length);
        if (sizes.length > 0 && budget > 1)
          assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${what}: uneven sizes ${sizes.join(',')}`);
      }
    }
  });
});
