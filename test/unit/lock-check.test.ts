import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareLocks, isSecuritySuite, withSnapshot } from '../../src/lock/check.js';
import { resolutionInputs } from '../../src/lock/lock-file.js';
import type { LockedPackage, LockFile } from '../../src/lock/lock-types.js';
import { parseRecipe } from '../../src/recipe/parse.js';

// `alba lock --check`: the comparison and `--snapshot`, one case per rule.

const snapshotRecipe = parseRecipe(
  'name: app\narchs: [amd64]\nsnapshot: 20250520T000000Z\ndist: bookworm\npackages: [libc6]\n',
  'recipe.yaml',
  '/',
);

function pkg(name: string, version: string, suite = 'bookworm'): LockedPackage {
  return {
    name,
    version,
    architecture: 'amd64',
    source: name,
    sourceVersion: version,
    repo: 'r',
    suite,
    component: 'main',
    filename: `${name}.deb`,
    size: 1,
    sha256: version,
    dependsOn: [],
  };
}
function lock(packages: LockedPackage[]): LockFile {
  return { lockVersion: 1, name: 'app', inputs: resolutionInputs(snapshotRecipe), releases: [], archs: { amd64: packages } };
}

test('changes: newer (with its suite, security or not), older, added, removed; an identical set is current', () => {
  const before = lock([pkg('libc6', '2.36-9'), pkg('tzdata', '2025a-1'), pkg('gone', '1'), pkg('zlib1g', '1:1.3')]);
  const after = lock([
    pkg('libc6', '2.36-9+deb12u3', 'bookworm-security'),
    pkg('tzdata', '2025b-1', 'bookworm-updates'),
    pkg('new', '1'),
    pkg('zlib1g', '1:1.2'),
  ]);
  const result = compareLocks(before, after, snapshotRecipe);
  assert.equal(result.current, false);
  assert.deepEqual(
    result.changes.map((c) => [c.name, c.kind, c.locked, c.available, c.security]),
    [
      ['gone', 'removed', '1', undefined, false],
      ['libc6', 'newer', '2.36-9', '2.36-9+deb12u3', true],
      ['new', 'added', undefined, '1', false],
      ['tzdata', 'newer', '2025a-1', '2025b-1', false],
      ['zlib1g', 'older', '1:1.3', '1:1.2', false],
    ],
  );
  assert.equal(compareLocks(before, before, snapshotRecipe).current, true);
});

test('a recipe changed since the lock is not current even when no package changes', () => {
  const stale = { ...lock([]), inputs: 'sha256:other' };
  const result = compareLocks(stale, lock([]), snapshotRecipe);
  assert.deepEqual([result.current, result.recipeChanged], [false, true]);
});

test('security suites: -security and the old /updates', () => {
  assert.deepEqual(['bookworm-security', 'buster/updates', 'bookworm-updates', 'bookworm'].map(isSecuritySuite), [
    true,
    true,
    false,
    false,
  ]);
});

test('--snapshot moves the snapshot.debian.org sources to the timestamp; latest is now; bad values are USAGE', () => {
  const moved = withSnapshot(snapshotRecipe, '20251201T000000Z');
  assert.deepEqual(
    moved.sources.map((s) => s.url),
    ['https://snapshot.debian.org/archive/debian/20251201T000000Z', 'https://snapshot.debian.org/archive/debian-security/20251201T000000Z'],
  );
  assert.equal(withSnapshot(snapshotRecipe, 'latest', new Date('2026-12-03T03:04:05.678Z')).snapshot, '20261203T030405Z');
  assert.throws(() => withSnapshot(snapshotRecipe, 'yesterday'), /USAGE|snapshot timestamp/);
  const plain = parseRecipe(
    'name: app\narchs: [amd64]\nsources:\n  - url: http://deb.example/debian\n    suites: [bookworm]\n    components: [main]\nkeyring: [/k.gpg]\npackages: [libc6]\n',
    'recipe.yaml',
    '/',
  );
  assert.throws(() => withSnapshot(plain, 'latest'), /has no snapshot: key/);
});
