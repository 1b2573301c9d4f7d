import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entryOf } from '../../src/lifecycle/listing.js';
import { parseDuration, planRetention } from '../../src/lifecycle/retention.js';

const DAY = 86_400_000;
const now = Date.UTC(2026, 11, 1);
const at = (tag: string, daysAgo: number) => entryOf({ tag, pushed: new Date(now - daysAgo * DAY) });
const entries = [
  at('1.0.0', 50),
  at('1.1.0', 40),
  at('1.2.0-rc.1', 30),
  at('1.2.0-rc.2', 20),
  at('1.2.0-rc.3', 10),
  ...[1, 2, 3, 4, 5].map((d) => at(`nightly-${d}`, d)),
];

test('releases are kept; the N newest of each pruned class are kept; each tag has one rule', () => {
  const plan = planRetention(entries, { keep: { extra: 1, dev: 2 }, now });
  assert.equal(plan.length, entries.length);
  assert.deepEqual(
    plan
      .filter((d) => d.remove)
      .map((d) => d.entry.tag)
      .sort(),
    ['1.2.0-rc.1', '1.2.0-rc.2', 'nightly-3', 'nightly-4', 'nightly-5'],
  );
  assert.ok(plan.filter((d) => d.entry.class === 'release').every((d) => !d.remove));
});

test('a tag listed twice is one tag: it takes one of the N newest places, and one decision', () => {
  const listed = [at('d3', 1), at('d2', 2), at('d2', 2), at('d1', 3)];
  const plan = planRetention(listed, { keep: { dev: 2 }, now });
  assert.deepEqual(
    plan.map((d) => `${d.entry.tag} ${d.remove ? 'remove' : 'keep'}`),
    ['d3 keep', 'd2 keep', 'd1 remove'],
  );
});

test('--older-than spares recent tags beyond the N newest', () => {
  const plan = planRetention(entries, { keep: { dev: 1 }, olderThanMs: 4 * DAY, now });
  assert.deepEqual(
    plan
      .filter((d) => d.remove)
      .map((d) => d.entry.tag)
      .sort(),
    ['nightly-4', 'nightly-5'],
  );
  assert.equal(plan.find((d) => d.entry.tag === 'nightly-2')?.rule, 'pushed more recently than --older-than');
});

test('--older-than never removes a tag whose push time is unknown (pushed by another tool); without it, such a tag counts as oldest', () => {
  const undated = [...entries, entryOf({ tag: 'nightly-by-crane' })];
  const withAge = planRetention(undated, { keep: { dev: 1 }, olderThanMs: 4 * DAY, now });
  const decided = withAge.find((d) => d.entry.tag === 'nightly-by-crane');
  assert.equal(decided?.remove, false);
  assert.equal(decided?.rule, 'no push time, so not known to be older than --older-than');
  const byCount = planRetention(undated, { keep: { dev: 1 }, now });
  assert.equal(byCount.find((d) => d.entry.tag === 'nightly-by-crane')?.remove, true);
});

test('--keep-release prunes releases too', () => {
  const plan = planRetention(entries, { keep: { release: 1 }, now });
  assert.deepEqual(
    plan.filter((d) => d.remove).map((d) => d.entry.tag),
    ['1.0.0'],
  );
});

test('durations', () => {
  assert.equal(parseDuration('30d'), 30 * DAY);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('soon'), undefined);
});
