import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, parseVersion, satisfies } from '../../src/debian/version.js';

/**
 * [a, expected order, b]. Includes dpkg's lib/dpkg/t/t-version.c cases and apt's ordering examples;
 * every row was checked against `dpkg --compare-versions` (dpkg 1.21) when written.
 */
const ORDER: Array<[string, '<' | '=' | '>', string]> = [
  ['1.0~rc1', '<', '1.0'],
  ['1:0.9', '>', '2.0'],
  ['1.0-1', '<', '1.0-2'],
  ['2.36-9+deb12u4', '>', '2.36-9'],
  ['1.0', '<', '1.0+b1'],
  ['1.0~~', '<', '1.0~'],
  ['1.0~~a', '>', '1.0~~'],
  ['1.0~', '<', '1.0'],
  ['1.0a', '>', '1.0'],
  ['1.0.1', '>', '1.0a'],
  ['0:1.0', '=', '1.0'],
  ['1.0-0', '=', '1.0'],
  ['1.0', '=', '1.0-0'],
  ['0', '=', '0'],
  ['0', '=', '00'],
  ['0:0-00', '=', '0:00-0'],
  ['1:2-3', '=', '1:2-3'],
  ['0:0-0', '<', '1:0-0'],
  ['a-0', '<', 'b-0'],
  ['0-a', '<', '0-b'],
  ['0:0', '=', '0'],
  ['0:0-0-0', '=', '0-0-0'],
  ['0:0-0-0', '>', '0-0'],
  ['0:0:0-0', '=', '0:0:0-0'],
  ['1.0000-1', '=', '1.0-1'],
  ['2.2~rc-4', '<', '2.2-1'],
  ['1.1-20080727-1', '>', '1.1-20080316-1'],
  ['7.6p2-4', '>', '7.6-0'],
  ['1.0.3-3', '>', '1.0-1'],
  ['1.3', '>', '1.2.2-2'],
  ['1.3', '>', '1.2.2'],
  ['0-pre', '=', '0-pre'],
  ['0-pre', '<', '0-pree'],
  ['1.1.6r2-2', '>', '1.1.6r-1'],
  ['2.6b2-1', '>', '2.6b-2'],
  ['98.1p5-1', '<', '98.1-pre2-b6-2'],
  ['0.4a6-2', '>', '0.4-1'],
  ['1:3.0.5-2', '<', '1:3.0.5.1'],
  ['1:0.4', '>', '10.3'],
  ['1:1.25-4', '<', '1:1.25-8'],
  ['0:1.18.36', '=', '1.18.36'],
  ['1.18.36', '>', '1.18.35'],
  ['0:1.18.36', '<', '1:1.18.35'],
  ['9:1.18.36:5.4-20', '<', '10:0.5.1-22'],
  ['9:1.18.36:5.4-20', '<', '9:1.18.36:5.5-1'],
  ['9:1.18.36:5.4-20', '<', '9:1.18.37:4.3-22'],
  ['1.18.36-0.17.35-18', '>', '1.18.36-19'],
  ['1:1.2.13-3', '<', '1:1.2.13-3.1'],
  ['2.0.7pre1-4', '<', '2.0.7r-1'],
  ['0:0-0-0', '=', '0-0-0'],
  ['0:0-1', '=', '0-1'],
  ['1.2a+~bCd3', '<', '1.2a++'],
  ['1.2a+~bCd3', '>', '1.2a+~'],
  ['1.2a+~', '<', '1.2a+~bCd3'],
  ['2:1.0', '>', '1:9.9'],
  ['1.10', '>', '1.9'],
  ['1.01', '=', '1.1'],
  ['1.001', '=', '1.1'],
  ['1.0+dfsg', '>', '1.0'],
  ['1.0+dfsg', '<', '1.0.1'],
  ['1.0a', '>', '1.0A'],
  ['1.0A', '<', '1.0.0'],
  ['1.0-1~bpo12+1', '<', '1.0-1'],
  ['1.0-1+b1', '<', '1.0-1.1'],
  ['1.0~beta~1', '<', '1.0~beta'],
  ['2.36-9+deb12u4', '<', '2.36-9+deb12u10'],
  ['3.0.11-1~deb12u2', '<', '3.0.11-1'],
  ['252.30-1~deb12u2', '>', '252.17-1~deb12u1'],
  ['10:1', '>', '9:1'],
  ['1a', '<', '1+'],
  ['1~', '<', '1'],
  ['1', '<', '1a'],
  ['1-1', '>', '1-1~'],
];

test('compareVersions orders like dpkg, in both directions', () => {
  for (const [a, expected, b] of ORDER) {
    const want = expected === '<' ? -1 : expected === '>' ? 1 : 0;
    assert.equal(Math.sign(compareVersions(a, b)), want, `${a} ${expected} ${b}`);
    assert.equal(Math.sign(compareVersions(b, a)), -want || 0, `${b} reversed ${a}`);
  }
});

test('compareVersions sorts a list into dpkg order', () => {
  const sorted = ['1.0', '1.0~rc1', '1:0.1', '1.0-1', '1.0+b1', '1.0~~', '0.9', '1.0~'];
  sorted.sort(compareVersions);
  assert.deepEqual(sorted, ['0.9', '1.0~~', '1.0~', '1.0~rc1', '1.0', '1.0-1', '1.0+b1', '1:0.1']);
});

test('parseVersion splits epoch at the first colon and revision at the last hyphen', () => {
  const cases: Array<[string, { epoch: number; upstream: string; revision: string }]> = [
    ['1.0', { epoch: 0, upstream: '1.0', revision: '' }],
    ['2:1.0-3', { epoch: 2, upstream: '1.0', revision: '3' }],
    ['0:0-0-0', { epoch: 0, upstream: '0-0', revision: '0' }],
    ['0:0:0-0', { epoch: 0, upstream: '0:0', revision: '0' }],
    ['1.2-3+deb12u1', { epoch: 0, upstream: '1.2', revision: '3+deb12u1' }],
    ['  1:2-3\t', { epoch: 1, upstream: '2', revision: '3' }],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseVersion(input), want, input);
});

test('satisfies applies every operator, including the obsolete < and >', () => {
  const cases: Array<[string, Parameters<typeof satisfies>[1], string, boolean]> = [
    ['1.0', '<<', '1.1', true],
    ['1.1', '<<', '1.1', false],
    ['1.1', '<=', '1.1', true],
    ['1.2', '<=', '1.1', false],
    ['1.1', '=', '0:1.1', true],
    ['1.1-1', '=', '1.1', false],
    ['1.1', '>=', '1.1', true],
    ['1.0', '>=', '1.1', false],
    ['1.2', '>>', '1.1', true],
    ['1.1', '>>', '1.1', false],
    ['1.1', '<', '1.1', true],
    ['1.2', '<', '1.1', false],
    ['1.1', '>', '1.1', true],
    ['1.0', '>', '1.1', false],
    ['2.36-9+deb12u4', '>=', '2.36', true],
    ['1.0~rc1', '>=', '1.0', false],
  ];
  for (const [v, op, wanted, want] of cases) assert.equal(satisfies(v, op, wanted), want, `${v} ${op} ${wanted}`);
});
