/**
 * Which tags a `gc` keeps (pure). Per class, the policy says how many of the newest to keep
 * (`undefined`: all of them; by default releases are kept for ever, extras and dev builds are
 * pruned); `olderThan` spares every tag pushed more recently, and every tag whose push time is unknown.
 * Each tag is decided by exactly one rule.
 */
import type { TagEntry } from './listing.js';
import { sortEntries } from './listing.js';
import type { TagClass } from './tag-class.js';

/** How many of the newest tags of each class to keep, and the age below which nothing goes. */
export interface RetentionPolicy {
  keep: Partial<Record<TagClass, number>>;
  /** Milliseconds: tags pushed less long ago than this are kept. */
  olderThanMs?: number;
  /** The time the plan is made at, in ms since the epoch. */
  now: number;
}

/** What happens to one tag, and the rule that decided it. */
export interface TagDecision {
  entry: TagEntry;
  remove: boolean;
  rule: string;
}

/**
 * Decides every tag (newest first within each class; tags without a push time count as oldest). A
 * tag listed twice (a registry paging by offset, a hand-edited list) is one tag, taken at its newest.
 */
export function planRetention(entries: readonly TagEntry[], policy: RetentionPolicy): TagDecision[] {
  const out: TagDecision[] = [];
  const seen = new Set<string>();
  const once = sortEntries(entries).filter((e) => !seen.has(e.tag) && seen.add(e.tag));
  for (const cls of ['release', 'extra', 'dev'] as const) {
    const keep = policy.keep[cls];
    sortEntries(once.filter((e) => e.class === cls)).forEach((entry, i) => {
      if (keep === undefined) out.push({ entry, remove: false, rule: `${cls} tags are kept` });
      else if (i < keep) out.push({ entry, remove: false, rule: `one of the ${keep} newest ${cls} tags` });
      else if (policy.olderThanMs !== undefined && entry.pushed === undefined) {
        // its age is unknown (pushed by another tool: no push record): it may be a minute old
        out.push({ entry, remove: false, rule: 'no push time, so not known to be older than --older-than' });
      } else if (policy.olderThanMs !== undefined && policy.now - entry.pushed!.getTime() < policy.olderThanMs) {
        out.push({ entry, remove: false, rule: 'pushed more recently than --older-than' });
      } else out.push({ entry, remove: true, rule: `beyond the ${keep} newest ${cls} tags` });
    });
  }
  return out;
}

/** Parses `30d`, `12h`, `90m`, `45s`, `0` into milliseconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)([smhdw]?)$/.exec(text.trim());
  if (m === null) return undefined;
  const unit = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}
