import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve, type ResolveInput } from '../../src/debian/resolver.js';
import type { Candidate, PackageRequest } from '../../src/debian/types.js';
import { isAlbaError, type ErrorCode } from '../../src/errors.js';
import { universeOf } from '../helpers/index-packages.js';

const WHERE = 'bookworm, bookworm-updates main amd64';

/** A candidate of bookworm/main/amd64 unless `fields` says otherwise: `pkg('libfoo 1.0', { depends: 'libc6' })`. */
function pkg(nameVersion: string, fields: Partial<Candidate> & { suite?: string } = {}): Candidate {
  const [name, version] = nameVersion.split(' ') as [string, string];
  const { suite = 'bookworm', ...rest } = fields;
  return {
    name,
    version,
    architecture: 'amd64',
    source: name,
    sourceVersion: version,
    filename: `pool/main/${name[0]}/${name}/${name}_${version}_${fields.architecture ?? 'amd64'}.deb`,
    size: 1000,
    sha256: createHash('sha256').update(`${name}-${version}-${suite}`).digest('hex'),
    origin: { repo: 'https://repo.invalid/debian', suite, component: 'main', arch: 'amd64' },
    ...rest,
  };
}

function req(spec: string): PackageRequest {
  const [name, version] = spec.split('=') as [string, string | undefined];
  return version === undefined ? { name } : { name, version };
}

interface Case {
  name: string;
  candidates: Candidate[];
  requests: string[];
  mode?: ResolveInput['mode'];
  exclude?: string[];
  /** `name version` of every selected package, sorted by name. */
  want?: string[];
  /** dependsOn of the packages named here. */
  dependsOn?: Record<string, string[]>;
  error?: { code: ErrorCode; message: string; hint?: RegExp };
}

const BASE = [
  pkg('libc6 2.36-9+deb12u4', { depends: 'libgcc-s1' }),
  pkg('libc6 2.36-9', { depends: 'libgcc-s1' }),
  pkg('libgcc-s1 12.2.0-14', { architecture: 'amd64', preDepends: 'libc6 (>= 2.35)' }),
];

const CASES: Case[] = [
  {
    name: 'highest version across suites wins, with its own origin',
    candidates: [
      pkg('libfoo 1.0-1'),
      pkg('libfoo 1.0-1+deb12u1', { suite: 'bookworm-updates' }),
      pkg('libfoo 1.0~rc1', { suite: 'bookworm-updates' }),
    ],
    requests: ['libfoo'],
    want: ['libfoo 1.0-1+deb12u1'],
  },
  {
    name: 'a pin selects exactly that version',
    candidates: [pkg('libfoo 1.0-1'), pkg('libfoo 1.1-1')],
    requests: ['libfoo=1.0-1'],
    want: ['libfoo 1.0-1'],
  },
  {
    name: 'a pin that matches no version lists the available ones',
    candidates: [pkg('libfoo 1.0-1'), pkg('libfoo 1.1-1', { suite: 'bookworm-updates' })],
    requests: ['libfoo=1.0'],
    error: {
      code: 'PACKAGE_NOT_FOUND',
      message: `package libfoo=1.0 not found in ${WHERE}; available: 1.1-1, 1.0-1`,
      hint: /pin one of the available/,
    },
  },
  {
    name: 'an unknown request is not found',
    candidates: BASE,
    requests: ['libc6', 'nosuch'],
    error: { code: 'PACKAGE_NOT_FOUND', message: `package nosuch not found in ${WHERE}`, hint: /spelling/ },
  },
  {
    name: 'a virtual request names its providers',
    candidates: [pkg('mawk 1.3.4', { provides: 'awk' }), pkg('gawk 5.2', { provides: 'awk' })],
    requests: ['awk'],
    error: {
      code: 'PACKAGE_NOT_FOUND',
      message: `package awk not found in ${WHERE}; it is a virtual package provided by gawk, mawk`,
      hint: /gawk, mawk/,
    },
  },
  {
    name: 'Depends and Pre-Depends closure with dependsOn',
    candidates: [
      ...BASE,
      pkg('app 1', { depends: 'libfoo (>= 1), libc6', preDepends: 'base-files' }),
      pkg('libfoo 1.2', { depends: 'libc6 (>= 2.34)' }),
      pkg('base-files 12.4', { architecture: 'all' }),
    ],
    requests: ['app'],
    want: ['app 1', 'base-files 12.4', 'libc6 2.36-9+deb12u4', 'libfoo 1.2', 'libgcc-s1 12.2.0-14'],
    dependsOn: {
      app: ['base-files', 'libc6', 'libfoo'],
      'base-files': [],
      libc6: ['libgcc-s1'],
      libfoo: ['libc6'],
      'libgcc-s1': ['libc6'],
    },
  },
  {
    name: 'explicit mode takes only the requests; dependsOn stays within the selection',
    candidates: [...BASE, pkg('app 1', { depends: 'libfoo, libc6, nosuch' }), pkg('libfoo 1.2')],
    requests: ['app', 'libc6'],
    mode: 'explicit',
    want: ['app 1', 'libc6 2.36-9+deb12u4'],
    dependsOn: { app: ['libc6'], libc6: [] },
  },
  {
    name: 'alternatives: the first satisfiable one',
    candidates: [pkg('app 1', { depends: 'nosuch | liba (>= 2) | libb | libc' }), pkg('liba 1'), pkg('libb 1'), pkg('libc 1')],
    requests: ['app'],
    want: ['app 1', 'libb 1'],
    dependsOn: { app: ['libb'] },
  },
  {
    name: 'alternatives: one already requested wins over the first',
    candidates: [pkg('app 1', { depends: 'liba | libb' }), pkg('liba 1'), pkg('libb 1')],
    requests: ['app', 'libb'],
    want: ['app 1', 'libb 1'],
    dependsOn: { app: ['libb'] },
  },
  {
    name: 'alternatives: one already selected as a dependency wins',
    candidates: [
      pkg('app 1', { depends: 'zlib' }),
      pkg('zlib 1', { depends: 'libb, other' }),
      pkg('other 1', { depends: 'liba | libb' }),
      pkg('liba 1'),
      pkg('libb 1'),
    ],
    requests: ['app'],
    want: ['app 1', 'libb 1', 'other 1', 'zlib 1'],
    dependsOn: { other: ['libb'] },
  },
  {
    name: 'a dependency takes the highest version that satisfies it',
    candidates: [
      pkg('app 1', { depends: 'libfoo (<< 2)' }),
      pkg('libfoo 1.5'),
      pkg('libfoo 2.0'),
      pkg('libfoo 1.9', { suite: 'bookworm-updates' }),
    ],
    requests: ['app'],
    want: ['app 1', 'libfoo 1.9'],
  },
  {
    name: 'versioned provides satisfy a versioned dependency',
    candidates: [
      pkg('app 1', { depends: 'virt (>= 2)' }),
      pkg('old 1', { provides: 'virt (= 1)' }),
      pkg('new 1', { provides: 'virt (= 2.1)' }),
    ],
    requests: ['app'],
    want: ['app 1', 'new 1'],
    dependsOn: { app: ['new'] },
  },
  {
    name: 'unversioned provides do not satisfy a versioned dependency',
    candidates: [pkg('app 1', { depends: 'virt (>= 2)' }), pkg('prov 1', { provides: 'virt' })],
    requests: ['app'],
    error: { code: 'UNSATISFIABLE', message: `app → virt (>= 2) → not found in ${WHERE}; provided by prov without a matching version` },
  },
  {
    name: 'a real package wins over providers',
    candidates: [pkg('app 1', { depends: 'mail' }), pkg('aaa 1', { provides: 'mail' }), pkg('mail 1')],
    requests: ['app'],
    want: ['app 1', 'mail 1'],
  },
  {
    name: 'among providers the lowest name wins',
    candidates: [pkg('app 1', { depends: 'awk' }), pkg('mawk 1.3', { provides: 'awk' }), pkg('gawk 5.2', { provides: 'awk' })],
    requests: ['app'],
    want: ['app 1', 'gawk 5.2'],
    dependsOn: { app: ['gawk'] },
  },
  {
    name: 'among providers one already selected wins',
    candidates: [pkg('app 1', { depends: 'awk' }), pkg('mawk 1.3', { provides: 'awk' }), pkg('gawk 5.2', { provides: 'awk' })],
    requests: ['app', 'mawk'],
    want: ['app 1', 'mawk 1.3'],
    dependsOn: { app: ['mawk'] },
  },
  {
    name: ':any and :native qualifiers accept the package of that name',
    candidates: [
      pkg('app 1', { depends: 'python3:any (>= 3.11), perl:native' }),
      pkg('python3 3.11.2', { multiArch: 'allowed' }),
      pkg('perl 5.36'),
    ],
    requests: ['app'],
    want: ['app 1', 'perl 5.36', 'python3 3.11.2'],
  },
  {
    name: 'candidates of another architecture are ignored, all is kept',
    candidates: [
      pkg('app 1', { depends: 'libfoo, data' }),
      pkg('libfoo 2', { architecture: 'arm64' }),
      pkg('libfoo 1'),
      pkg('data 3', { architecture: 'all' }),
    ],
    requests: ['app'],
    want: ['app 1', 'data 3', 'libfoo 1'],
  },
  {
    name: 'a request only present for another architecture is not found',
    candidates: [pkg('libfoo 2', { architecture: 'arm64' })],
    requests: ['libfoo'],
    error: { code: 'PACKAGE_NOT_FOUND', message: `package libfoo not found in ${WHERE}` },
  },
  {
    name: 'excluded dependencies are met without being pulled in',
    candidates: [
      pkg('app 1', { depends: 'perl-base, libfoo (>= 9), virt' }),
      pkg('perl-base 5.36'),
      pkg('libfoo 1'),
      pkg('prov 1', { provides: 'virt' }),
    ],
    requests: ['app'],
    exclude: ['perl-base', 'libfoo', 'prov'],
    want: ['app 1'],
    dependsOn: { app: [] },
  },
  {
    name: 'an excluded first alternative meets the group: debconf | debconf-2.0',
    candidates: [
      pkg('ca-certificates 1', { depends: 'debconf (>= 0.5) | debconf-2.0' }),
      pkg('debconf 1.5', { provides: 'debconf-2.0' }),
      pkg('cdebconf 0.2', { provides: 'debconf-2.0' }),
    ],
    requests: ['ca-certificates'],
    exclude: ['debconf'],
    want: ['ca-certificates 1'],
  },
  {
    name: 'a virtual dependency takes a provider that is not excluded',
    candidates: [
      pkg('app 1', { depends: 'debconf-2.0' }),
      pkg('debconf 1.5', { provides: 'debconf-2.0' }),
      pkg('cdebconf 0.2', { provides: 'debconf-2.0' }),
    ],
    requests: ['app'],
    exclude: ['cdebconf'],
    want: ['app 1', 'debconf 1.5'],
  },
  {
    name: 'a request that is also excluded is a recipe error',
    candidates: BASE,
    requests: ['libc6'],
    exclude: ['libc6'],
    error: { code: 'RECIPE_INVALID', message: 'package libc6 is both requested in packages: and listed in exclude:' },
  },
  {
    name: 'one name pinned twice differently is a recipe error',
    candidates: BASE,
    requests: ['libc6=2.36-9', 'libc6'],
    error: { code: 'RECIPE_INVALID', message: 'package libc6 is requested twice with different versions: libc6=2.36-9 and libc6' },
  },
  {
    name: 'an unmet versioned dependency shows the chain and the highest version',
    candidates: [pkg('app 1', { depends: 'libfoo (>= 2)' }), pkg('libfoo 1.4-2'), pkg('libfoo 1.3-1')],
    requests: ['app'],
    error: {
      code: 'UNSATISFIABLE',
      message: `app → libfoo (>= 2) → not found in ${WHERE}; highest is 1.4-2`,
      hint: /add libfoo to exclude: .*pin another version of app.*add a source/,
    },
  },
  {
    name: 'a deep chain goes through every relation followed, naming providers',
    candidates: [
      pkg('app 1', { depends: 'libbar | libqux' }),
      pkg('libbar 1', { depends: 'virt' }),
      pkg('prov 1', { provides: 'virt', depends: 'libbaz (>= 3) | nosuch' }),
      pkg('libbaz 2'),
    ],
    requests: ['app'],
    error: {
      code: 'UNSATISFIABLE',
      message: `app → libbar | libqux → virt [prov] → libbaz (>= 3) | nosuch → libbaz (>= 3): not found in ${WHERE}; highest is 2; nosuch: not found in ${WHERE}`,
    },
  },
  {
    name: 'a selected version that does not meet a later dependency is an error',
    candidates: [pkg('app 1', { depends: 'libfoo (>= 2)' }), pkg('libfoo 1.0'), pkg('libfoo 2.0')],
    requests: ['app', 'libfoo=1.0'],
    error: { code: 'UNSATISFIABLE', message: 'app → libfoo (>= 2) → libfoo 1.0 is already selected (libfoo)' },
  },
  {
    name: 'a malformed Depends names the package',
    candidates: [pkg('app 1', { depends: 'libfoo (>= )' })],
    requests: ['app'],
    error: { code: 'UNSATISFIABLE', message: 'app: app 1 (bookworm): malformed relation "libfoo (>= )" in "libfoo (>= )"' },
  },
  {
    name: 'a package providing what it depends on does not list itself',
    candidates: [pkg('app 1', { provides: 'virt', depends: 'virt' })],
    requests: ['app'],
    want: ['app 1'],
    dependsOn: { app: [] },
  },
  {
    name: 'a malformed Provides elsewhere in the index is ignored',
    candidates: [pkg('app 1'), pkg('broken 1', { provides: 'x (>= )' })],
    requests: ['app'],
    want: ['app 1'],
  },
];

function input(c: Case, candidates = c.candidates): ResolveInput {
  return {
    arch: 'amd64',
    universe: universeOf(candidates, 'amd64'),
    requests: c.requests.map(req),
    mode: c.mode ?? 'dependencies',
    exclude: c.exclude ?? [],
    where: WHERE,
  };
}

for (const c of CASES) {
  test(`resolve: ${c.name}`, () => {
    if (c.error !== undefined) {
      const { code, message, hint } = c.error;
      assert.throws(
        () => resolve(input(c)),
        (err: unknown) => {
          assert.ok(isAlbaError(err, code), `expected ${code}, got ${String(err)}`);
          assert.equal(err.message, message);
          if (hint !== undefined) assert.match(err.hint ?? '', hint);
          return true;
        },
      );
      return;
    }
    const result = resolve(input(c));
    assert.deepEqual(
      result.map((p) => `${p.name} ${p.version}`),
      c.want,
    );
    if (c.dependsOn !== undefined) {
      for (const [name, want] of Object.entries(c.dependsOn)) {
        assert.deepEqual(result.find((p) => p.name === name)?.dependsOn, want, `dependsOn of ${name}`);
      }
    }
  });
}

test('resolve: the winning candidate keeps its origin', () => {
  const [chosen] = resolve(input(CASES[0]!));
  assert.equal(chosen!.origin.suite, 'bookworm-updates');
});

test('resolve: the result does not depend on the order of candidates', () => {
  const candidates = [
    pkg('app 1', { depends: 'awk, libfoo | libbar, libc6' }),
    pkg('mawk 1.3', { provides: 'awk' }),
    pkg('gawk 5.2', { provides: 'awk' }),
    pkg('libfoo 1'),
    pkg('libfoo 1', { suite: 'bookworm-updates' }),
    pkg('libbar 1'),
    ...BASE,
  ];
  const c: Case = { name: 'order', candidates, requests: ['app'] };
  const expected = resolve(input(c));
  for (let shift = 1; shift < candidates.length; shift++) {
    const rotated = [...candidates.slice(shift), ...candidates.slice(0, shift)];
    assert.deepEqual(resolve(input(c, rotated)), expected, `rotation ${shift}`);
    assert.deepEqual(resolve(input(c, [...rotated].reverse())), expected, `reversed rotation ${shift}`);
  }
  assert.equal(expected.find((p) => p.name === 'libfoo')!.origin.suite, 'bookworm');
});

test('resolve: 63,000 candidates (a 21,000-deep chain, 3 versions each) resolve to the highest versions', () => {
  const candidates: Candidate[] = [];
  for (let i = 0; i < 21_000; i++) {
    const deps = i === 0 ? undefined : `pkg${i - 1} (>= 1.0) | nosuch, virt${i % 50}`;
    for (const version of ['1.0-1', '1.1-1', '1.0-1+deb12u1']) {
      candidates.push(pkg(`pkg${i} ${version}`, { ...(deps === undefined ? {} : { depends: deps }), provides: `virt${i % 100} (= ${i})` }));
    }
  }
  const result = resolve({
    arch: 'amd64',
    universe: universeOf(candidates, 'amd64'),
    requests: [{ name: 'pkg20999' }],
    mode: 'dependencies',
    exclude: [],
    where: WHERE,
  });
  assert.equal(result.length, 21_000);
  assert.ok(
    result.every((p) => p.version === '1.1-1'),
    'every package at its highest version',
  );
  const byName = new Map(result.map((p) => [p.name, p]));
  // virt49 is provided by every selected pkg<i> with i % 100 = 49: the lowest name wins.
  assert.deepEqual(byName.get('pkg20999')?.dependsOn, ['pkg10049', 'pkg20998']);
  assert.deepEqual(byName.get('pkg0')?.dependsOn, []);
});
