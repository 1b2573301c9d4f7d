import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closest, didYouMean, editDistance } from '../../src/recipe/suggest.js';

const distances: Array<[string, string, number]> = [
  ['', '', 0],
  ['abc', '', 3],
  ['', 'abc', 3],
  ['packages', 'packages', 0],
  ['packges', 'packages', 1],
  ['pakcages', 'packages', 1],
  ['kitten', 'sitting', 3],
  ['amd46', 'amd64', 1],
  ['ca', 'abc', 3],
];
for (const [a, b, d] of distances) test(`editDistance(${a}, ${b}) = ${d}`, () => assert.equal(editDistance(a, b), d));

test('closest picks the nearest candidate, ignoring case, within a third of the word length', () => {
  assert.equal(closest('packges', ['name', 'packages', 'archs']), 'packages');
  assert.equal(closest('runAs', ['run-as', 'cmd']), 'run-as');
  assert.equal(closest('zzzzzz', ['name', 'packages']), undefined);
  assert.equal(closest('ab', ['xy']), undefined);
});

test('didYouMean wording', () => {
  assert.equal(didYouMean('packges', ['packages']), ' — did you mean "packages"?');
  assert.equal(didYouMean('qqqq', ['packages']), '');
});
