import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { durationOption, removalRequest, retentionPolicy } from '../../src/lifecycle/removal-request.js';

const NOW = 1_700_000_000_000;
const REFERRERS = `sha256-${'a'.repeat(64)}`;

test('rm: NAME:TAG, the last colon splits; no NAME or a referrers tag is USAGE', () => {
  assert.deepEqual(removalRequest('container', 'rm', 'team/app:1.0', {}), { name: 'team/app', request: { tag: '1.0' } });
  assert.deepEqual(removalRequest('static', 'rm', 'cli:0.8.2+feat', {}), { name: 'cli', request: { tag: '0.8.2+feat' } });
  for (const bad of ['1.0', ':1.0', `app:${REFERRERS}`]) {
    assert.throws(
      () => removalRequest('container', 'rm', bad, {}),
      (err: unknown) => isAlbaError(err, 'USAGE'),
      bad,
    );
  }
});

test('gc: --keep sets extra and dev, releases only with --keep-release; a count must be a number; no count is USAGE', () => {
  const cases: [Parameters<typeof retentionPolicy>[0], Record<string, number> | undefined][] = [
    [{ keep: '5' }, { extra: 5, dev: 5 }],
    [
      { keep: '5', keepDev: '2' },
      { extra: 5, dev: 2 },
    ],
    [{ keepRelease: '0' }, { release: 0 }],
    [
      { keepExtra: '1', keepDev: '0', keepRelease: '3' },
      { extra: 1, dev: 0, release: 3 },
    ],
    [{}, undefined],
    [{ keep: '5m' }, undefined],
    [{ keep: '-1' }, undefined],
  ];
  for (const [text, keep] of cases) {
    if (keep === undefined)
      assert.throws(
        () => retentionPolicy(text, NOW),
        (err: unknown) => isAlbaError(err, 'USAGE'),
        JSON.stringify(text),
      );
    else assert.deepEqual(retentionPolicy(text, NOW), { keep, now: NOW }, JSON.stringify(text));
  }
  assert.deepEqual(removalRequest('static', 'gc', 'cli', { keep: '2', olderThan: '30d' }, NOW), {
    name: 'cli',
    request: { policy: { keep: { extra: 2, dev: 2 }, now: NOW, olderThanMs: 30 * 86_400_000 } },
  });
});

test('durations: 30d, 12h, 90m, 0; anything else is USAGE naming the flag', () => {
  assert.equal(durationOption('1h', '--grace'), 3_600_000);
  assert.equal(durationOption('0', '--grace'), 0);
  assert.throws(
    () => durationOption('soon', '--grace'),
    (err: unknown) => isAlbaError(err, 'USAGE') && err.message.startsWith('--grace soon'),
  );
});
