import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concurrencyOption, listOption, MAX_CONCURRENCY, positiveInt } from '../../src/cli/args.js';
import { isAlbaError } from '../../src/errors.js';

// Option values: a list option given but naming nothing is USAGE (`--arch ''` built every arch);
// a count's hint is a count (`--concurrency 0` said "e.g. --concurrency 8m"), and --concurrency has a ceiling.

test('--arch: its non-empty items; absent: undefined; given but naming nothing: USAGE', () => {
  assert.deepEqual(listOption('amd64, arm64,', '--arch', 'amd64,arm64'), ['amd64', 'arm64']);
  assert.equal(listOption(undefined, '--arch', 'amd64,arm64'), undefined);
  for (const value of ['', ',,,', ' , ']) {
    assert.throws(
      () => listOption(value, '--arch', 'amd64,arm64'),
      (err: unknown) =>
        isAlbaError(err, 'USAGE') &&
        err.message === `--arch ${JSON.stringify(value)}: names nothing` &&
        err.hint === 'name one or more, separated by commas (e.g. --arch amd64,arm64), or leave --arch out for all',
      JSON.stringify(value),
    );
  }
});

test('--concurrency is a count: its hint is one, and a size suffix is not taken', () => {
  assert.equal(positiveInt('8', '--concurrency'), 8);
  for (const value of ['0', '-1', 'x', '8m', '1.5', '99999999999999999999']) {
    assert.throws(
      () => positiveInt(value, '--concurrency'),
      (err: unknown) =>
        isAlbaError(err, 'USAGE') &&
        err.message === `--concurrency ${value}: expected a positive whole number` &&
        err.hint === 'e.g. --concurrency 8',
      value,
    );
  }
});

test('--concurrency is at most MAX_CONCURRENCY (each node holds a connection and an open file)', () => {
  assert.equal(concurrencyOption(String(MAX_CONCURRENCY)), MAX_CONCURRENCY);
  assert.throws(
    () => concurrencyOption(String(MAX_CONCURRENCY + 1)),
    (err: unknown) => isAlbaError(err, 'USAGE') && err.message === `--concurrency ${MAX_CONCURRENCY + 1}: at most ${MAX_CONCURRENCY}`,
  );
  assert.throws(
    () => concurrencyOption('0'),
    (err: unknown) => isAlbaError(err, 'USAGE'),
  );
});

test('--chunk-size is a size: k, m, g are powers of 1024, and its hint says so', () => {
  assert.equal(positiveInt('8m', '--chunk-size'), 8 * 1024 ** 2);
  assert.equal(positiveInt('512KiB', '--chunk-size'), 512 * 1024);
  assert.equal(positiveInt('100', '--chunk-size'), 100);
  assert.throws(
    () => positiveInt('0', '--chunk-size'),
    (err: unknown) => isAlbaError(err, 'USAGE') && /e\.g\. --chunk-size 8m/.test(err.hint ?? ''),
  );
});
