/**
 * `rm` and `gc` over any TagStore: take the store's removal lease (not for a dry run, which
 * writes nothing), read the tags, decide which go (one tag for `rm`; the retention policy for
 * `gc`), read the state and plan (pure: lifecycle/removal-plan.ts), then carry the plan out and
 * give the lease back. The lease is taken before anything is read, so a push that tags during
 * the removal waits for it and repairs its content (lifecycle/lease.ts).
 */
import { AlbaError, isAlbaError } from '../errors.js';
import type { TagFacts, TagStore } from '../sink/sink.js';
import type { HeldLease, RemovalOutcome } from './lease.js';
import { entryOf } from './listing.js';
import type { RemovalPlan } from './removal-plan.js';
import { planRetention, type RetentionPolicy, type TagDecision } from './retention.js';

/** What to remove: one tag, or what a retention policy prunes. */
export type RemovalTarget = { tag: string } | { policy: RetentionPolicy };

/** How to run a removal. */
export interface RemovalOptions {
  /** Objects younger than this are spared (S3; default 1 h). */
  graceMs?: number;
  /** Plan and report, change nothing (no lease either). */
  dryRun?: boolean;
  /** Notes and warnings: waiting for a lease, finishing a killed removal, a registry that deletes more than asked. */
  log?: (line: string) => void;
  /** Called with the retention decisions (gc) before the plan is made. */
  onDecisions?: (decisions: TagDecision[]) => void;
  /** Called with the plan before it is carried out (to print it). */
  onPlan?: (plan: RemovalPlan) => void;
  /** S3: rewrite the download pages without the removed tags (default true). */
  pages?: boolean;
}

/** Runs `rm` (one tag) or `gc` (a policy) on `store`; returns the plan carried out (or that would be, for a dry run). */
export async function runRemoval<P extends RemovalPlan>(
  store: TagStore<P>,
  target: RemovalTarget,
  options: RemovalOptions = {},
): Promise<P> {
  const log = options.log ?? (() => undefined);
  const lease: HeldLease | undefined = options.dryRun === true ? undefined : await store.lease(log);
  let outcome: RemovalOutcome = 'failed';
  try {
    const unfinished = lease?.unfinished ?? (await pendingJournal(store, log));
    const facts = await store.list();
    const tags = 'tag' in target ? [checkTag(store, facts, target.tag, unfinished?.tags)] : decide(facts, target.policy, options);
    const plan = await store.plan({
      tags,
      graceMs: options.graceMs ?? 3_600_000,
      ...(unfinished === undefined ? {} : { unfinished: unfinished.tags, unfinishedObjects: unfinished.objects }),
    });
    options.onPlan?.(plan);
    if (lease !== undefined) await store.remove(plan, lease, { ...(options.pages === false ? { pages: false } : {}), log });
    outcome = 'done';
    return plan;
  } catch (err) {
    if (isAlbaError(err, 'USAGE') || isAlbaError(err, 'TAG_SHARED')) outcome = 'refused';
    throw err;
  } finally {
    // a run that fails leaves its journal (or a killed removal's it took over) to the next one
    await lease?.release(outcome);
  }
}

/**
 * A dry run takes no lease, but shows what a real run would do: a lease there now belongs to a
 * removal that is running (the real run waits for it) or was killed (the real run finishes its
 * journal), so its journal is planned as if it were this run's to finish.
 */
async function pendingJournal(
  store: TagStore<RemovalPlan>,
  log: (line: string) => void,
): Promise<{ tags: string[]; objects: string[] } | undefined> {
  const there = await store.leaseThere();
  if (there === undefined || (there.tags.length === 0 && (there.objects ?? []).length === 0)) return undefined;
  log(
    `note: a removal's lease is there (${there.holder}, renewed ${there.renewed}): a real run waits for it, and finishes its journal if it was killed; this plan includes that journal`,
  );
  return { tags: there.tags, objects: there.objects ?? [] };
}

/**
 * The tag `rm` was asked for: one the store lists, or one a killed removal's journal names (`TAG`,
 * `TAG@DIGEST`): a killed `rm` may have taken it out of the list already, and the same `rm` run
 * again finishes it.
 */
function checkTag(store: TagStore<RemovalPlan>, facts: readonly TagFacts[], tag: string, journal: readonly string[] = []): string {
  if (facts.some((f) => f.tag === tag) || journal.some((entry) => entry.split('@')[0] === tag)) return tag;
  throw new AlbaError('USAGE', `${store.name} has no tag ${tag}`, {
    hint: 'see the tags with: alba container ls (or alba static ls) -t NAME --class all TARGET',
  });
}

function decide(facts: readonly TagFacts[], policy: RetentionPolicy, options: RemovalOptions): string[] {
  const decisions = planRetention(facts.map(entryOf), policy);
  options.onDecisions?.(decisions);
  return decisions.filter((d) => d.remove).map((d) => d.entry.tag);
}
