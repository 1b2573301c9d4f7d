import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acquireLease, FENCE_MS } from '../../src/lifecycle/lease.js';
import { memoryMedium } from '../helpers/memory-lease.js';

// A removal that was stalled (a paused VM, a stopped process) past the point where a push may have
// judged its lease stale deletes nothing more, and never writes over a lease another removal took.

test('a holder whose last confirmed renewal began over FENCE_MS ago stops for good, and leaves its lease for the next removal', async () => {
  const medium = memoryMedium();
  let now = 1_000;
  const held = await acquireLease(medium, undefined, () => now);
  now += FENCE_MS - 1;
  held.guard();
  await held.journal(['d1@sha256:' + 'a'.repeat(64)]);
  now += FENCE_MS - 1;
  held.guard(); // the journal's renewal, confirmed, counts from when it began
  now += 2;
  assert.throws(() => held.guard(), /last renewed 15 s ago .*stopped before deleting more/);
  await assert.rejects(held.check(), /last renewed/);
  await assert.rejects(held.journal(['d2']), /last renewed/, 'a renewal after the stall does not lift the fence');
  assert.throws(() => held.guard(), /last renewed/);
  await held.release();
  assert.ok((await medium.read()) !== undefined, 'the lease stays, with its journal, for the next removal to take over');
  assert.ok(!medium.events.includes('remove'));
  assert.deepEqual((await medium.read())?.record?.tags, ['d1@sha256:' + 'a'.repeat(64)], 'the stalled journal write did not happen');
});

test('a renewal never writes over a lease another removal took over; the holder stops', async () => {
  const medium = memoryMedium();
  const held = await acquireLease(medium);
  const mine = (await medium.read())?.record?.id;
  await medium.remove('');
  assert.ok(await medium.create({ id: 'other', holder: 'other-host pid 7', renewed: new Date().toISOString(), tags: [] }));
  await assert.rejects(held.journal(['d1']), /taken over by other-host pid 7/);
  assert.throws(() => held.guard(), /taken over/);
  assert.equal((await medium.read())?.record?.id, 'other', 'the other removal’s lease is intact');
  assert.ok(!medium.events.includes(`write ${mine}`), 'no write of the old holder after the takeover');
  await held.release();
  assert.equal((await medium.read())?.record?.id, 'other', 'release leaves the other removal’s lease');
});
