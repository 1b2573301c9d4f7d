import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRetryAfter, RetryableAnswer, withRetry } from '../../src/http/retry.js';

/** An attempt that fails with the given errors in turn, then returns 'ok'. */
function failing(errors: Error[]): { attempt: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    attempt: async () => {
      const err = errors[calls++];
      if (err !== undefined) throw err;
      return 'ok';
    },
    calls: () => calls,
  };
}

const transient = (err: unknown): boolean => (err as Error).message.startsWith('transient');

const cases: { name: string; errors: string[]; result: string; calls: number }[] = [
  { name: 'succeeds at once', errors: [], result: 'ok', calls: 1 },
  { name: 'retries a transient failure', errors: ['transient 1'], result: 'ok', calls: 2 },
  {
    name: 'retries as many times as the policy says, then gives up with the last error',
    errors: ['transient 1', 'transient 2', 'transient 3'],
    result: 'transient 3',
    calls: 3,
  },
  { name: 'does not retry a lasting failure', errors: ['lasting'], result: 'lasting', calls: 1 },
  { name: 'stops at a lasting failure after a transient one', errors: ['transient 1', 'lasting'], result: 'lasting', calls: 2 },
];

for (const c of cases) {
  test(`withRetry ${c.name}`, async () => {
    const run = failing(c.errors.map((m) => new Error(m)));
    const outcome = await withRetry(run.attempt, { retries: 2, baseMs: 1, maxMs: 1 }, undefined, transient).then(
      (value) => value,
      (err: Error) => err.message,
    );
    assert.equal(outcome, c.result);
    assert.equal(run.calls(), c.calls);
  });
}

test('withRetry waits the pause a Retry-After asked for: no try before it ends, the next one when it does', async (t) => {
  // mocked timers: the pause is the one set, no duration is measured
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let calls = 0;
  const busy = new Error('503');
  const done = withRetry(async () => {
    if (++calls === 1) throw new RetryableAnswer(503, parseRetryAfter('2'), busy);
    return 'ok';
  });
  const settled = async (): Promise<void> => {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  await settled();
  assert.equal(calls, 1);
  t.mock.timers.tick(1999);
  await settled();
  assert.equal(calls, 1, 'tried again before the 2 s asked for');
  t.mock.timers.tick(1);
  assert.equal(await done, 'ok');
  assert.equal(calls, 2);
});

test('parseRetryAfter: seconds, or an HTTP date from now; anything else is none', () => {
  assert.equal(parseRetryAfter('2'), 2000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', Date.parse('2026-01-01T00:00:00Z')), 10_000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:00 GMT', Date.parse('2026-01-01T00:00:10Z')), 0);
  // the other two forms RFC 9110 asks to accept, GMT whatever the local time zone
  const newYear = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('Thu Jan  1 00:00:05 2026', newYear), 5000, 'asctime');
  assert.equal(parseRetryAfter('Thursday, 01-Jan-26 00:00:05 GMT', newYear), 5000, 'RFC 850');
  // what Date.parse takes but is no HTTP-date: each would be a date in the past, a retry at once
  for (const value of [null, '', ' ', 'soon', '-1', '1.5', '2026-01-01', '+3', 'Jan 1', 'abc 1', 'Fri 99', 'Thu, 01 Jan 2026 00:00:05 CET'])
    assert.equal(parseRetryAfter(value), undefined, String(value));
});
