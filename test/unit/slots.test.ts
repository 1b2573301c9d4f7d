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

test('a slot freed goes to a waiting task: one that comes meanwhile, at any microtask, waits its turn', async () => {
  const slots = new Slots(1);
  let running = 0;
  let most = 0;
  const task = async (): Promise<void> => {
    most = Math.max(most, ++running);
    await new Promise((r) => setImmediate(r));
    running--;
  };
  let release!: () => void;
  const first = slots.run(async () => {
    await new Promise<void>((r) => (release = r));
  });
  const waiting = slots.run(task);
  release();
  // new tasks come one microtask apart from the release on: one of them lands between the first
  // task's end and the waiting task's start
  const comers: Promise<void>[] = [];
  let chain = Promise.resolve();
  for (let i = 0; i < 12; i++) chain = chain.then(() => void comers.push(slots.run(task)));
  await chain;
  await Promise.all([first, waiting, ...comers]);
  assert.equal(most, 1, 'never two tasks at once in one slot');
});
