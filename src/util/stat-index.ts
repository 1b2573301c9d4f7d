/**
 * A stat index, like git's: for a file whose bytes were hashed, its size, inode, mtime and ctime
 * (nanoseconds) and when that stat was taken. A file whose stat is still the recorded one has the
 * recorded bytes, and need not be hashed again, unless it was changed less than racyMs() before the
 * stat was taken: a second change in the same clock tick could keep every field (racy-git), so
 * such a record is not trusted. ctime cannot be set by a program: a file written and given back its
 * old mtime still differs.
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeDirs } from './make-dirs.js';
import { readSmallFileSync } from './regular-file.js';

/** The largest index file read (MAX_RECORDS records of a path, a digest and a stat each). */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

/**
 * A file changed less than this before its stat was taken is not trusted by its stat, on a file
 * system whose times are whole seconds (FAT keeps 2 s, some network file systems 1 s)…
 */
export const RACY_MS = 2000;
/**
 * …and on one whose times have a fraction of a second (ext4, xfs, btrfs, tmpfs, overlayfs), where
 * they come from the kernel's clock tick (1–10 ms): a build run right after the last one still
 * trusts the blobs that one hashed.
 */
export const FINE_RACY_MS = 100;

/** The racy window of a file: whole-second ctimes (no fraction) are taken as a coarse file system's. */
export function racyMs(s: BigIntStats): number {
  return s.ctimeNs % 1_000_000_000n === 0n ? RACY_MS : FINE_RACY_MS;
}
/** Records kept in an index file at most (the most recently taken). */
const MAX_RECORDS = 20_000;

/** A file's stat when it was hashed. */
export interface StatRecord {
  size: number;
  ino: string;
  mtimeNs: string;
  ctimeNs: string;
  /** When the stat was taken (ms since the epoch). */
  at: number;
}

/** The record of a stat taken at `at`. */
export function statRecord(s: BigIntStats, at: number): StatRecord {
  return { size: Number(s.size), ino: String(s.ino), mtimeNs: String(s.mtimeNs), ctimeNs: String(s.ctimeNs), at };
}

/** True when `s` is the recorded stat and the record is not racy: the file holds the bytes it held. */
export function unchangedSince(r: StatRecord, s: BigIntStats): boolean {
  return (
    s.isFile() &&
    Number(s.size) === r.size &&
    String(s.ino) === r.ino &&
    String(s.mtimeNs) === r.mtimeNs &&
    String(s.ctimeNs) === r.ctimeNs &&
    Number(s.ctimeNs / 1_000_000n) < r.at - racyMs(s)
  );
}

/** Files known to hash to a digest, by path, kept in one JSON file. */
export class StatIndex {
  private changed = false;
  /** Paths forgotten by this process: not taken back from the file at save(). */
  private readonly forgotten = new Set<string>();

  private constructor(
    private readonly file: string | undefined,
    private readonly records: Map<string, StatRecord & { digest: string }>,
  ) {}

  /** The index kept in `file` (empty when it is missing or unreadable); without a file, one for this process only. */
  static load(file?: string): StatIndex {
    return new StatIndex(file, file === undefined ? new Map() : readRecords(file));
  }

  /** True when `path` (stat `s` now) was recorded with `digest` and has not changed since. */
  trusts(path: string, digest: string, s: BigIntStats): boolean {
    const r = this.records.get(path);
    return r !== undefined && r.digest === digest && unchangedSince(r, s);
  }

  /** Records that `path`, with stat `s` taken at `at` (before its bytes were read), hashes to `digest`. */
  note(path: string, digest: string, s: BigIntStats, at: number): void {
    this.records.set(path, { ...statRecord(s, at), digest });
    this.changed = true;
  }

  /**
   * Records that `path` hashes to `digest` without reading it: its bytes were hashed as they were
   * written, and `after` is its stat taken right after that write. Only when the file's stat `now`
   * (taken at `at`) is still `after`, and the write is older than the racy window; else nothing is
   * recorded and the next check hashes the file. True when recorded.
   */
  noteWritten(path: string, digest: string, after: BigIntStats, now: BigIntStats, at: number): boolean {
    if (!unchangedSince(statRecord(after, at), now)) return false;
    this.note(path, digest, now, at);
    return true;
  }

  /** Forgets `path` (removed, or found corrupt). */
  forget(path: string): void {
    this.forgotten.add(path);
    this.changed = this.records.delete(path) || this.changed;
  }

  /** Writes the index file when something was recorded (atomically; a failure only costs hashing next time). */
  async save(): Promise<void> {
    if (this.file === undefined || !this.changed) return;
    // the records other runs sharing the cache saved since this one loaded the file are kept
    const merged = mergeRecords(readRecords(this.file), this.records, this.forgotten);
    const records = [...merged].sort((a, b) => b[1].at - a[1].at).slice(0, MAX_RECORDS);
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      makeDirs(dirname(this.file));
      await writeFile(tmp, JSON.stringify({ records }));
      await rename(tmp, this.file);
      this.changed = false;
    } catch {
      // next time the files are hashed again
    } finally {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}

type IndexRecord = StatRecord & { digest: string };

/** The records of an index file; none when it is missing or unreadable. */
function readRecords(file: string): Map<string, IndexRecord> {
  const records = new Map<string, IndexRecord>();
  try {
    // a FIFO or a device there is refused, never waited on or read without end
    const text = readSmallFileSync(file, MAX_INDEX_BYTES, (why) => new Error(why)).toString('utf8');
    const parsed = JSON.parse(text) as { records?: [string, IndexRecord][] };
    for (const [path, r] of parsed.records ?? []) if (typeof r?.digest === 'string') records.set(path, r);
  } catch {
    // no index yet, or a damaged one: every file is hashed again
  }
  return records;
}

/**
 * What an index file holds after a save: the records found in it (`saved`: other runs sharing the
 * cache may have saved theirs since this run loaded it, and a save of this run's map alone lost
 * them), except the paths this run `forgot`, with this run's own records over them unless theirs
 * were taken later. Every record stays as safe to trust as it was: a file is trusted only while
 * its stat is the recorded one.
 */
export function mergeRecords(
  saved: ReadonlyMap<string, IndexRecord>,
  own: ReadonlyMap<string, IndexRecord>,
  forgot: ReadonlySet<string>,
): Map<string, IndexRecord> {
  const merged = new Map(own);
  for (const [path, r] of saved) {
    const mine = merged.get(path);
    if (!forgot.has(path) && (mine === undefined || mine.at < r.at)) merged.set(path, r);
  }
  return merged;
}
