import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { acquireLease, type HeldLease, type LeaseRecord, type RemovalOutcome } from '../../src/lifecycle/lease.js';
import type { RemovalPlan, RemovalRequest } from '../../src/lifecycle/removal-plan.js';
import { runRemoval } from '../../src/lifecycle/removal.js';
import type { TagStore } from '../../src/sink/sink.js';
import { memoryMedium } from '../helpers/memory-lease.js';

// A killed removal's journal outlives the runs that take it over: the same `rm` run again finishes
// a tag the killed one had already taken out of the list, and a run that fails (a tag that does not
// exist, an unreadable store) leaves the journal it took over to the next one.

const D2 = `d2@sha256:${'2'.repeat(64)}`;
const KILLED: LeaseRecord = { id: 'rm-1', holder: 'ci-runner pid 7', renewed: '1970-01-01T00:00:00.000Z', tags: [D2] };

function store(unfinished: string[]): TagStore & { asked: RemovalRequest[]; released: (RemovalOutcome | undefined)[]; removed: number } {
  const s = {
    name: 'app',
    asked: [] as RemovalRequest[],
    released: [] as (RemovalOutcome | undefined)[],
    removed: 0,
    // d2 is out of the list: the killed rm took it out
    list: async () => [{ tag: 'd1' }, { tag: 'latest' }],
    lease: async (): Promise<HeldLease> => ({
      unfinished: { tags: unfinished, objects: [] },
      journal: async () => undefined,
      check: async () => undefined,
      guard: () => undefined,
      release: async (outcome?: RemovalOutcome) => void s.released.push(outcome),
    }),
    leaseThere: async () => undefined,
    plan: async (request: RemovalRequest) => {
      s.asked.push(request);
      return { tags: request.tags, unlist: [], journal: [], phases: [], objects: [] } as unknown as RemovalPlan;
    },
    remove: async () => void s.removed++,
  };
  return s;
}

test('rm of a tag a killed rm had taken out of the list: the same rm run again finishes it (not USAGE)', async () => {
  const s = store([D2]);
  await runRemoval(s, { tag: 'd2' });
  assert.deepEqual(
    s.asked.map((r) => [r.tags, r.unfinished]),
    [[['d2'], [D2]]],
  );
  assert.deepEqual([s.removed, s.released], [1, ['done']]);
});

test('rm of a tag nobody has and no journal names is USAGE; the run is released as refused, one failing elsewhere as failed', async () => {
  const s = store([D2]);
  await assert.rejects(runRemoval(s, { tag: 'd9' }), (e: unknown) => isAlbaError(e, 'USAGE'));
  assert.deepEqual([s.removed, s.released], [0, ['refused']]);
  const broken = { ...store([]), remove: async () => Promise.reject(new Error('403 on a DELETE')) };
  await assert.rejects(runRemoval(broken, { tag: 'd1' }), /403/);
  assert.deepEqual(broken.released, ['failed']);
});

test("a run that fails holding a journal (a killed removal's it took over, or its own) leaves it; one that journalled nothing removes its lease", async () => {
  const medium = memoryMedium();
  await medium.create(KILLED);
  const held = await acquireLease(medium);
  assert.deepEqual(held.unfinished.tags, [D2]);
  await held.release('refused');
  const left = await medium.read();
  assert.deepEqual(left?.record?.tags, [D2], 'the journal is there for the next removal');
  assert.notEqual(left?.record?.id, KILLED.id, 'in the lease of the run that failed (stale once unchanged for 30 s)');

  const fresh = memoryMedium();
  const mine = await acquireLease(fresh);
  await mine.release('failed');
  assert.equal(await fresh.read(), undefined, 'no journal to keep: the lease goes');

  // a run of its own that journalled its plan, then failed among its deletes (a 403, a lost connection)
  const own = memoryMedium();
  const failing = await acquireLease(own);
  await failing.journal([`d2@${'sha256:' + 'e'.repeat(64)}`], ['sha256:' + 'f'.repeat(64)]);
  await failing.release('failed');
  assert.deepEqual((await own.read())?.record?.tags, [`d2@${'sha256:' + 'e'.repeat(64)}`], 'its own journal is kept for the next removal');

  // refused after its journal (TAG_SHARED: a tag this registry cannot remove alone), having changed nothing: the lease goes
  const refused = memoryMedium();
  const refusing = await acquireLease(refused);
  await refusing.journal([`d2@${'sha256:' + 'e'.repeat(64)}`]);
  await refusing.release('refused');
  assert.equal(await refused.read(), undefined, 'a refusal leaves no lease to wait for');

  const done = memoryMedium();
  await done.create(KILLED);
  await (await acquireLease(done)).release('done');
  assert.equal(await done.read(), undefined, 'a run that succeeded finished the journal: the lease goes');
});
