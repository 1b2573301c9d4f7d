import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sourceDateEpoch } from '../../src/builder/epoch.js';
import { isAlbaError } from '../../src/errors.js';
import { parseRecipe } from '../../src/recipe/parse.js';

// SOURCE_DATE_EPOCH from the environment is bounded as the recipe's source-date-epoch is
// (0..253402300799, the end of year 9999): beyond, USAGE naming the value, never a RangeError
// ("Invalid time value") when the build writes the time.

const recipe = parseRecipe(
  'name: app\narchs: [amd64]\nsources:\n  - url: http://deb.example/debian\n    suites: [bookworm]\npackages: [libc6]\nkeyring: [/k.gpg]\n',
  'recipe.yaml',
  '/',
);
const lock = { releases: [] };

test('SOURCE_DATE_EPOCH up to the end of year 9999 is taken', () => {
  for (const value of ['0', '1700000000', '253402300799'])
    assert.deepEqual(sourceDateEpoch(recipe, lock, { SOURCE_DATE_EPOCH: value }), { seconds: Number(value), from: 'environment' });
  // the latest one writes as a date
  assert.equal(new Date(253402300799 * 1000).toISOString(), '9999-12-31T23:59:59.000Z');
});

test('SOURCE_DATE_EPOCH beyond year 9999, or not digits: USAGE naming the value', () => {
  for (const [value, why] of [
    ['253402300800', /^SOURCE_DATE_EPOCH=253402300800 is out of range 0\.\.253402300799/],
    ['99999999999999999', /^SOURCE_DATE_EPOCH=99999999999999999 is out of range/],
    ['9'.repeat(400), /^SOURCE_DATE_EPOCH=9{40}… is out of range/],
    ['-1', /^SOURCE_DATE_EPOCH=-1 is not a number of seconds/],
    ['1e3', /is not a number of seconds/],
  ] as const) {
    assert.throws(
      () => sourceDateEpoch(recipe, lock, { SOURCE_DATE_EPOCH: value }),
      (err: unknown) => isAlbaError(err, 'USAGE') && why.test(err.message),
      value.slice(0, 20),
    );
  }
});
