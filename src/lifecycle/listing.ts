import type { TagFacts } from '../sink/sink.js';
import { tagClass, TAG_CLASSES, type TagClass } from './tag-class.js';
import { formatBytes } from '../util/format-bytes.js';

/** One tag as `ls` shows it: what the store knows, and its class. */
export interface TagEntry extends TagFacts {
  class: TagClass;
}

/** Which classes to show: one, or all. */
export type ClassFilter = TagClass | 'all';

/** Parses `--class`; undefined means the default (release). */
export function parseClassFilter(value: string | undefined): ClassFilter | undefined {
  if (value === undefined) return undefined;
  if (value === 'all' || (TAG_CLASSES as readonly string[]).includes(value)) return value as ClassFilter;
  return undefined;
}

/** The entries of `tags` classified, newest first (tags without a push time last, by name). */
export function sortEntries(entries: readonly TagEntry[]): TagEntry[] {
  return [...entries].sort((a, b) => {
    const ta = a.pushed?.getTime() ?? -Infinity;
    const tb = b.pushed?.getTime() ?? -Infinity;
    return ta !== tb ? tb - ta : a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
  });
}

/** The facts of a tag, classified. */
export function entryOf(facts: TagFacts): TagEntry {
  return { ...facts, class: tagClass(facts.tag) };
}

/** The table `ls` prints for `filter`, with a last line saying what the filter hid (pure). */
export function formatListing(entries: readonly TagEntry[], filter: ClassFilter): string[] {
  const shown = sortEntries(entries.filter((e) => filter === 'all' || e.class === filter));
  const rows = shown.map((e) => [
    e.tag,
    e.class,
    e.pushed === undefined ? '-' : e.pushed.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    e.digest ?? e.flavors?.join(',') ?? '-',
    e.size === undefined ? '-' : formatBytes(e.size),
  ]);
  const header = ['TAG', 'CLASS', 'PUSHED', entries.some((e) => e.flavors !== undefined) ? 'FLAVORS' : 'DIGEST', 'SIZE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const hidden = TAG_CLASSES.filter((c) => filter !== 'all' && c !== filter)
    .map((c) => [c, entries.filter((e) => e.class === c).length] as const)
    .filter(([, n]) => n > 0);
  return [
    line(header),
    ...rows.map(line),
    ...(hidden.length === 0
      ? []
      : [
          `(${hidden.map(([c, n]) => `${n} ${c}`).join(' and ')} tag${hidden.reduce((a, [, n]) => a + n, 0) === 1 ? '' : 's'} not shown: --class all)`,
        ]),
  ];
}
