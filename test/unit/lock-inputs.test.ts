import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sourceDateEpoch } from '../../src/builder/epoch.js';
import { indexCompressionOption } from '../../src/cli/args.js';
import { isAlbaError } from '../../src/errors.js';
import { resolutionInputs } from '../../src/lock/lock-file.js';
import { indexCompressionOf } from '../../src/lock/lock.js';
import type { LockFile } from '../../src/lock/lock-types.js';
import { parseRecipe } from '../../src/recipe/parse.js';

// What makes a lock stale, and how SOURCE_DATE_EPOCH is chosen: one case per rule.

const BASE = {
  name: 'app',
  archs: '[amd64, arm64]',
  sources: '  - url: http://deb.example/debian\n    suites: [bookworm, bookworm-updates]\n    components: [main]',
  packages: '[libc6, tzdata]',
  exclude: '[debconf]',
};
function recipe(change: Partial<typeof BASE> & { extra?: string } = {}) {
  const r = { ...BASE, ...change };
  const text = `name: ${r.name}\narchs: ${r.archs}\nsources:\n${r.sources}\npackages: ${r.packages}\nexclude: ${r.exclude}\nkeyring: [/k.gpg]\n${change.extra ?? ''}`;
  return parseRecipe(text, 'recipe.yaml', '/');
}

test('a lock is stale when the archs, exclude, sources (url, suites, components) or packages change, not when the name does', () => {
  const base = resolutionInputs(recipe());
  const changes: [string, Partial<typeof BASE>][] = [
    ['archs', { archs: '[amd64]' }],
    ['exclude', { exclude: '[debconf, openssl]' }],
    ['source url', { sources: BASE.sources.replace('deb.example', 'other.example') }],
    ['suites', { sources: BASE.sources.replace(', bookworm-updates', '') }],
    ['components', { sources: BASE.sources.replace('[main]', '[main, contrib]') }],
    ['packages', { packages: '[libc6]' }],
  ];
  for (const [what, change] of changes)
    assert.notEqual(resolutionInputs(recipe(change)), base, `a change of ${what} must make the lock stale`);
  assert.equal(resolutionInputs(recipe({ exclude: '[debconf]' })), base);
  assert.equal(resolutionInputs(recipe({ name: 'renamed' })), base, 'the name is no resolution input');
});

const lock = (dates: string[]): LockFile => ({
  lockVersion: 1,
  name: 'app',
  inputs: '',
  releases: dates.map((date, i) => ({
    repo: 'http://deb.example/debian',
    suite: `s${i}`,
    file: 'InRelease',
    sha256: '0'.repeat(64),
    date,
  })),
  archs: {},
});
const seconds = (iso: string): number => Date.parse(iso) / 1000;

test("SOURCE_DATE_EPOCH 1: the recipe's source-date-epoch wins over everything", () => {
  const r = recipe({ extra: 'source-date-epoch: 1700000000\n' });
  assert.deepEqual(sourceDateEpoch(r, lock(['2025-05-01T00:00:00Z']), { SOURCE_DATE_EPOCH: '1600000000' }), {
    seconds: 1_700_000_000,
    from: 'recipe',
  });
});

test('SOURCE_DATE_EPOCH 2: the environment variable, else', () => {
  assert.deepEqual(sourceDateEpoch(recipe(), lock(['2025-05-01T00:00:00Z']), { SOURCE_DATE_EPOCH: '1600000000' }), {
    seconds: 1_600_000_000,
    from: 'environment',
  });
  assert.throws(() => sourceDateEpoch(recipe(), lock([]), { SOURCE_DATE_EPOCH: 'yesterday' }), /not a number of seconds/);
});

test('SOURCE_DATE_EPOCH 3: the snapshot time, when every locked Release is dated at or before it', () => {
  const r = parseRecipe(
    'name: app\narchs: [amd64]\nsnapshot: 20250520T000000Z\ndist: bookworm\npackages: [libc6]\nkeyring: [/k.gpg]\n',
    'recipe.yaml',
    '/',
  );
  assert.deepEqual(sourceDateEpoch(r, lock(['2025-05-10T08:00:00Z', '2025-05-19T20:00:00Z']), {}), {
    seconds: seconds('2025-05-20T00:00:00Z'),
    from: 'snapshot',
  });
  // a mirror newer than the snapshot was used: rule 4
  assert.deepEqual(sourceDateEpoch(r, lock(['2025-05-10T08:00:00Z', '2025-06-01T12:00:00Z']), {}), {
    seconds: seconds('2025-06-01T12:00:00Z'),
    from: 'release date',
  });
});

test('SOURCE_DATE_EPOCH 4: without a snapshot, the newest Release Date of the lock', () => {
  assert.deepEqual(sourceDateEpoch(recipe(), lock(['2025-05-10T08:00:00Z', '2025-06-01T12:00:00Z', '2025-01-01T00:00:00Z']), {}), {
    seconds: seconds('2025-06-01T12:00:00Z'),
    from: 'release date',
  });
  assert.deepEqual(
    sourceDateEpoch(recipe(), lock(['2025-05-10T08:00:00Z']), { SOURCE_DATE_EPOCH: '' }),
    { seconds: seconds('2025-05-10T08:00:00Z'), from: 'release date' },
    'an empty variable is no value',
  );
});

test('--index-compression auto: xz from snapshot.debian.org itself, gz from a mirror or a plain source; xz and gz force', () => {
  const snapshot = {
    url: 'https://snapshot.debian.org/archive/debian/20250520T000000Z',
    suites: ['bookworm'],
    components: ['main'],
    snapshot: true,
    archive: 'debian',
  };
  const plain = { url: 'http://deb.example/debian', suites: ['bookworm'], components: ['main'], snapshot: false };
  const direct = { source: snapshot, suite: 'bookworm', fetchUrl: snapshot.url };
  const mirrored = { source: snapshot, suite: 'bookworm', fetchUrl: 'http://mirror.example/debian' };
  const own = { source: plain, suite: 'bookworm', fetchUrl: plain.url };
  assert.deepEqual(
    [direct, mirrored, own].map((t) => indexCompressionOf(t, 'auto')),
    ['xz', 'gz', 'gz'],
  );
  assert.deepEqual(
    [direct, mirrored, own].map((t) => indexCompressionOf(t, 'xz')),
    ['xz', 'xz', 'xz'],
  );
  assert.deepEqual(
    [direct, mirrored, own].map((t) => indexCompressionOf(t, 'gz')),
    ['gz', 'gz', 'gz'],
  );
  assert.equal(indexCompressionOption('lock', undefined), 'auto');
  assert.throws(
    () => indexCompressionOption('lock', 'zstd'),
    (err) => isAlbaError(err, 'USAGE') && /expected auto, xz or gz/.test(err.message),
  );
});
