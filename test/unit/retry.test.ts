import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withRetry } from '../../src/http/retry.js';

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
