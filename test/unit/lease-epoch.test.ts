import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acquireLease, LeaseWatch, parseLeaseRecord, removalsSince, STALE_MS } from '../../src/lifecycle/lease.js';
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

test("a push's later checks do not wait again for a lease its earlier check watched go stale", { timeout: 5000 }, async () => {
  const medium = memoryMedium();
  const record = { id: 'gc-1', holder: 'stopped gc', renewed: new Date().toISOString(), tags: ['d1'] };
  await medium.create(record);
  const version = (await medium.read())!.version;
  const watch = new LeaseWatch();
  // what the push's first check saw: the same version for longer than STALE_MS (the holder stopped renewing)
  assert.equal(watch.judge(version, record, Date.now() - STALE_MS - 1000), 'live');
  assert.equal(new LeaseWatch().judge(version, record, Date.now()), 'live', 'a watch of its own would wait STALE_MS again');
  const logged: string[] = [];
  for (let round = 0; round < 2; round++)
    assert.deepEqual(await removalsSince(medium, '0', (l) => logged.push(l), watch), { ran: true, epoch: '0' }, `round ${round}`);
  assert.deepEqual(logged, [], 'no wait: the lease is known stale');
});

test("a lease's journal keeps only entries of the shapes a removal writes: never a path to another repository", () => {
  const digest = `sha256:${'b'.repeat(64)}`;
  const record = parseLeaseRecord({
    id: 'x',
    renewed: '2026-12-01T00:00:00Z',
    tags: ['d1', `1.0.0+linux@${digest}`, '../../other/manifests/x', `v1@${digest}/../x`, 5],
    objects: [digest, 'v1.0', `../../other/manifests/${digest}`, `${digest}/..`],
  });
  assert.equal(record, undefined, 'a journal with a non-string tag is no lease record');
  const kept = parseLeaseRecord({
    id: 'x',
    renewed: '2026-12-01T00:00:00Z',
    tags: ['d1', `1.0.0+linux@${digest}`, '../../other/manifests/x', `v1@${digest}/../x`],
    objects: [digest, 'v1.0', `../../other/manifests/${digest}`, `${digest}/..`],
  });
  assert.deepEqual([kept?.tags, kept?.objects], [['d1', `1.0.0+linux@${digest}`], [digest]]);
});
