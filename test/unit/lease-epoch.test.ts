import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acquireLease, removalsSince } from '../../src/lifecycle/lease.js';
import { memoryMedium } from '../helpers/memory-lease.js';

test('a removal moves the epoch when it takes its lease and again before it lets it go', async () => {
  const medium = memoryMedium();
  const before = await medium.epoch();
  const held = await acquireLease(medium);
  await held.release();
  assert.deepEqual(medium.events, ['create', 'epoch 1', 'epoch 2', 'remove']);
  assert.deepEqual(
    await removalsSince(medium, before),
    { ran: true, epoch: '2' },
    'a push that read the epoch before sees the removal, though it has ended',
  );
  assert.deepEqual(await removalsSince(medium, '2'), { ran: false, epoch: '2' }, 'nothing ran since');
});
