/**
 * Which repositories of a registry alba has seen holding a blob, kept between runs (one JSON
 * file per registry), so that pushing the same image to another repository mounts its blobs
 * instead of uploading them. A lost update only costs a mount; entries are capped per blob.
 */
import { join } from 'node:path';
import { readSmallFile } from '../../util/regular-file.js';
import { writeFileAtomic } from '../../util/atomic.js';

/** Mount sources of blobs in one registry. */
export interface MountHints {
  /** Repositories other than `except` known to hold `digest`, most recent first. */
  sources(digest: string, except: string): string[];
  /** Notes that `repository` holds `digest`. */
  record(digest: string, repository: string): void;
  /** Writes what was recorded. */
  save(): Promise<void>;
}

const MAX_REPOSITORIES_PER_BLOB = 4;
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** The hints of `registry` stored in `dir`. */
export async function loadMountHints(dir: string, registry: string): Promise<MountHints> {
  const path = join(dir, `${registry.replace(/[^A-Za-z0-9.-]/g, '_')}.json`);
  let byDigest: Record<string, string[]> = {};
  try {
    // a FIFO or a device planted in the cache is no hints, never waited on
    const text = (await readSmallFile(path, MAX_FILE_BYTES, (why) => new Error(why))).toString('utf8');
    byDigest = hintsOf(JSON.parse(text));
  } catch {
    byDigest = {};
  }
  let changed = false;
  return {
    sources: (digest, except) => (byDigest[digest] ?? []).filter((r) => r !== except),
    record(digest, repository) {
      const list = byDigest[digest] ?? [];
      if (list[0] === repository) return;
      byDigest[digest] = [repository, ...list.filter((r) => r !== repository)].slice(0, MAX_REPOSITORIES_PER_BLOB);
      changed = true;
    },
    async save() {
      if (changed) await writeFileAtomic(path, JSON.stringify(byDigest));
      changed = false;
    },
  };
}

/**
 * The hints of a parsed file: each blob's list of repository names. Anything else (a file of
 * another shape: `null`, a string, a list that is no list of names) is no hints; it made a push
 * using the cache fail with an internal TypeError.
 */
export function hintsOf(parsed: unknown): Record<string, string[]> {
  const hints: Record<string, string[]> = {};
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return hints;
  for (const [digest, list] of Object.entries(parsed))
    if (Array.isArray(list) && list.every((r) => typeof r === 'string')) hints[digest] = list as string[];
  return hints;
}
