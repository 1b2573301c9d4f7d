import { IndexTableWriter } from '../../src/debian/index-cache.js';
import type { IndexTable } from '../../src/debian/index-table.js';
import type { Candidate, IndexOrigin, IndexPackage } from '../../src/debian/types.js';
import { buildUniverse, type Universe } from '../../src/debian/universe.js';

/** Every package of a loaded index, in the order of its stanzas (the table itself only reads the ones asked for). */
export function packagesOf(index: { table: IndexTable }): IndexPackage[] {
  return index.table.offsets().map((offset) => index.table.candidateAt(offset));
}

/** The universe of `arch` over these candidates, through the real path: one index table per origin, written as a Packages text. */
export function universeOf(candidates: readonly Candidate[], arch: string): Universe {
  const byOrigin = new Map<string, { origin: IndexOrigin; text: string[] }>();
  for (const c of candidates) {
    const key = JSON.stringify(c.origin);
    const entry = byOrigin.get(key) ?? { origin: c.origin, text: [] };
    entry.text.push(stanzaOf(c));
    byOrigin.set(key, entry);
  }
  const indexes = [...byOrigin.values()].map(({ origin, text }) => {
    const writer = new IndexTableWriter(`test index ${origin.suite}`, undefined);
    writer.push(Buffer.from(text.join('\n'), 'utf8'));
    return { table: writer.finish(), origin };
  });
  return buildUniverse(indexes, arch);
}

/** A Packages stanza of `p`. */
export function stanzaOf(p: IndexPackage): string {
  const fields: [string, string | undefined][] = [
    ['Package', p.name],
    [
      'Source',
      p.source === p.name && p.sourceVersion === p.version
        ? undefined
        : p.sourceVersion === p.version
          ? p.source
          : `${p.source} (${p.sourceVersion})`,
    ],
    ['Version', p.version],
    ['Architecture', p.architecture],
    ['Maintainer', p.maintainer],
    ['Provides', p.provides],
    ['Pre-Depends', p.preDepends],
    ['Depends', p.depends],
    ['Multi-Arch', p.multiArch],
    ['Filename', p.filename],
    ['Size', String(p.size)],
    ['SHA256', p.sha256],
  ];
  return fields
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('');
}
