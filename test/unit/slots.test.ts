import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Slots } from '../../src/util/slots.js';

test('slots run at most `size` tasks at once; the waiting ones start highest priority first, in arrival order among equals', async () => {
  const slots = new Slots(1);
  const started: string[] = [];
  let release!: () => void;
  const first = slots.run(async () => {
    started.push('first');
    await new Promise<void>((r) => (release = r));
  });
  const queued = [
    ['small', 1],
    ['large', 9],
    ['plain-a', 0],
    ['medium', 5],
    ['large-again', 9],
    ['plain-b', 0],
  ] as const;
  const rest = queued.map(([name, priority]) => slots.run(async () => void started.push(name), priority));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, ['first']);
  release();
  await Promise.all([first, ...rest]);
  assert.deepEqual(started, ['first', 'large', 'large-again', 'medium', 'small', 'plain-a', 'plain-b']);
});
