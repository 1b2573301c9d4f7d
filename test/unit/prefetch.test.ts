import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prefetched } from '../../src/sink/prefetch.js';

/** A question whose answers the test settles by hand, recording what was asked. */
function manual(): { ask: (key: string) => Promise<boolean>; asked: string[]; settle: (key: string, value: boolean | Error) => void } {
  const pending = new Map<string, { resolve: (v: boolean) => void; reject: (e: Error) => void }[]>();
  const asked: string[] = [];
  return {
    asked,
    ask: (key) =>
      new Promise<boolean>((resolve, reject) => {
        asked.push(key);
        pending.set(key, [...(pending.get(key) ?? []), { resolve, reject }]);
      }),
    settle(key, value) {
      const waiting = pending.get(key)?.shift();
      if (waiting === undefined) throw new Error(`${key} was not asked`);
      if (value instanceof Error) waiting.reject(value);
      else waiting.resolve(value);
    },
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('each key is asked once ahead, at most `limit` at a time; get() takes that answer', async () => {
  const q = manual();
  const p = new Prefetched(q.ask, 2);
  p.start(['a', 'b', 'c', 'a']);
  assert.deepEqual(q.asked, ['a', 'b'], 'two in flight, the duplicate not asked');
  q.settle('a', true);
  await tick();
  assert.deepEqual(q.asked, ['a', 'b', 'c'], 'the next one asked as one ends');
  assert.equal(await p.get('a'), true);
  q.settle('b', false);
  q.settle('c', true);
  assert.equal(await p.get('b'), false);
  assert.equal(await p.get('c'), true);
  assert.deepEqual(q.asked, ['a', 'b', 'c'], 'no second question for what was asked ahead');
});

test('an answer is used once: a second get() asks afresh (a store that comes again sees the present state)', async () => {
  const q = manual();
  const p = new Prefetched(q.ask);
  p.start(['a']);
  q.settle('a', false);
  assert.equal(await p.get('a'), false);
  const again = p.get('a');
  await tick();
  assert.deepEqual(q.asked, ['a', 'a']);
  q.settle('a', true);
  assert.equal(await again, true);
});

test('a question that failed ahead is asked again by get(); a key never started is asked by get()', async () => {
  const q = manual();
  const p = new Prefetched(q.ask);
  p.start(['a']);
  q.settle('a', new Error('connection reset'));
  await tick();
  const a = p.get('a');
  const b = p.get('b');
  await tick();
  assert.deepEqual([...q.asked].sort(), ['a', 'a', 'b']);
  q.settle('a', true);
  q.settle('b', false);
  assert.equal(await a, true);
  assert.equal(await b, false);
});
