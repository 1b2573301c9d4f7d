import type { LeaseMedium, LeaseRecord } from '../../src/lifecycle/lease.js';

/** A lease medium in memory that records what happens to the lease and the epoch, in order. */
export function memoryMedium(): LeaseMedium & { events: string[]; epochValue: number; epoch(): Promise<string> } {
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
      m.events.push(`write ${record.id}`);
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
