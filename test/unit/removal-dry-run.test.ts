import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LeaseRecord } from '../../src/lifecycle/lease.js';
import type { RemovalPlan, RemovalRequest } from '../../src/lifecycle/removal-plan.js';
import { runRemoval } from '../../src/lifecycle/removal.js';
import type { TagStore } from '../../src/sink/sink.js';

// A dry run takes no lease and changes nothing, yet plans what the real run would: the journal of a
// lease left there (a killed removal's) is part of it.

const KILLED: LeaseRecord = {
  id: 'gc-1',
  holder: 'ci-runner pid 7',
  renewed: '2026-12-01T00:00:00.000Z',
  tags: ['latest@sha256:' + '1'.repeat(64)],
};

function store(there: LeaseRecord | undefined): TagStore & { asked: RemovalRequest[] } {
  const asked: RemovalRequest[] = [];
  return {
    name: 'app',
    asked,
    list: async () => [{ tag: 'd1' }, { tag: 'latest' }],
    lease: async () => assert.fail('a dry run takes no lease'),
    leaseThere: async () => there,
    plan: async (request) => {
      asked.push(request);
      return { tags: request.tags, unlist: [], journal: [], phases: [], objects: [] } as unknown as RemovalPlan;
    },
    remove: async () => assert.fail('a dry run removes nothing'),
  };
}

test('a dry run plans the journal of a lease left there, as the real run would finish it, and says so', async () => {
  const s = store(KILLED);
  const logged: string[] = [];
  await runRemoval(s, { tag: 'd1' }, { dryRun: true, log: (l) => logged.push(l) });
  assert.deepEqual(
    s.asked.map((r) => [r.tags, r.unfinished]),
    [[['d1'], KILLED.tags]],
  );
  assert.match(logged.join('\n'), /a removal's lease is there \(ci-runner pid 7/);
});

test('a dry run with no lease there plans the tags asked for alone', async () => {
  const s = store(undefined);
  await runRemoval(s, { tag: 'd1' }, { dryRun: true });
  assert.deepEqual(
    s.asked.map((r) => [r.tags, r.unfinished]),
    [[['d1'], undefined]],
  );
});
