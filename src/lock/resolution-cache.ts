import { join } from 'node:path';
import { digestHex, digestOf } from '../oci/digest.js';
import type { LockFile } from './lock-types.js';
import { writeFileAtomic } from '../util/atomic.js';
import { CACHED_FILE_BYTES, readSmallFile } from '../util/regular-file.js';
import { cacheArea } from '../cache.js';

/** Bump when the resolver's output for the same inputs changes. */
const RESOLVER_FORMAT = 1;

/**
 * Key of a resolution: the recipe's resolution inputs plus the digests of every verified Release.
 * Resolution is a pure function of these (each Release pins its indexes by SHA256), so a lock made
 * from the same key is the same lock, and re-locking an unchanged snapshot needs no index at all.
 */
export function resolutionKey(inputs: string, releases: readonly { repo: string; suite: string; sha256: string }[]): string {
  const pinned = releases.map((r) => `${r.repo} ${r.suite} ${r.sha256}`).sort();
  return digestHex(digestOf(JSON.stringify({ format: RESOLVER_FORMAT, inputs, pinned })));
}

/** A cached lock for this key, or undefined (also when its bytes no longer match the checksum stored with it: it is then resolved again). */
export async function readResolution(cacheDir: string, key: string): Promise<LockFile | undefined> {
  try {
    // a FIFO or a device planted in the cache is refused (then resolved again), never waited on
    const text = (await readSmallFile(resolutionPath(cacheDir, key), CACHED_FILE_BYTES, (why) => new Error(why))).toString('utf8');
    const entry = JSON.parse(text) as { sha256?: string; lock?: string };
    return typeof entry.lock === 'string' && entry.sha256 === digestHex(digestOf(entry.lock))
      ? (JSON.parse(entry.lock) as LockFile)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Records a lock under its key, with the SHA256 of its text (the entry is named by its inputs, not its content). */
export async function writeResolution(cacheDir: string, key: string, lock: LockFile): Promise<void> {
  const text = JSON.stringify(lock);
  await writeFileAtomic(resolutionPath(cacheDir, key), JSON.stringify({ sha256: digestHex(digestOf(text)), lock: text }));
}

function resolutionPath(cacheDir: string, key: string): string {
  return join(cacheArea(cacheDir, 'resolutions'), `${key}.json`);
}
