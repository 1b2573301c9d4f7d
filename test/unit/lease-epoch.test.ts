import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acquireLease, removalsSince, type LeaseMedium, type LeaseRecord } from '../../src/lifecycle/lease.js';

/** A lease medium in memory that records what happens to the lease and the epoch, in order. */
function memoryMedium(): LeaseMedium & { events: string[]; epochValue: number; epoch(): Promise<string> } {
  let lease: { version: string; record: LeaseRecord } | undefined;
  let versions = 0;
  const m = {
    events: [] as string[],
    epochValue: 0,
    where: 'memory',
    code: 'S3' as const,
    async create(record: LeaseRecord) {
      if (lease !== undefined) return false;
      lease = { version: String(++versions), record };
      m.events.push('create');
      return true;
    },
    async write(record: LeaseRecord) {
      lease = { version: String(++versions), record };
    },
    async read() {
      return lease;
    },
    async remove() {
      lease = undefined;
      m.events.push('remove');
    },
    async epoch() {
      return String(m.epochValue);
    },
    async bumpEpoch() {
      m.epochValue++;
      m.events.push(`epoch ${m.epochValue}`);
    },
  };
  return m;
}

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
