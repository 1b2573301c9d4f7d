/**
 * The manifests a registry removal is about to delete, kept on disk until it is done. A registry
 * cannot list the manifests no tag names, so after a removal is killed between deleting an index
 * and deleting its platform manifests and referrers, only this record lets the next `rm` or `gc`
 * of that repository finish the job. One file per registry and repository.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic.js';

/** A pending removal's record. */
export interface RemovalJournal {
  /** The digests still to delete, in order; [] when nothing is pending. */
  pending(): Promise<string[]>;
  save(digests: readonly string[]): Promise<void>;
  clear(): Promise<void>;
}

/** The journal of `registry/repository` in `dir` (the cache's `removals/` area). */
export function removalJournal(dir: string, registry: string, repository: string): RemovalJournal {
  const path = join(dir, `${`${registry}/${repository}`.replace(/[^A-Za-z0-9.-]/g, '_')}.json`);
  return {
    async pending() {
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined || text.length > 16 * 1024 * 1024) return [];
      try {
        const digests = (JSON.parse(text) as { digests?: unknown }).digests;
        return Array.isArray(digests) ? digests.filter((d): d is string => typeof d === 'string') : [];
      } catch {
        return [];
      }
    },
    save: (digests) => writeFileAtomic(path, JSON.stringify({ registry, repository, digests })),
    clear: () => rm(path, { force: true }),
  };
}
