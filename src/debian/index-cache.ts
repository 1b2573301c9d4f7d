import { createHash, randomBytes, type Hash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheArea } from '../cache.js';
import { addStanza, checkIndexFields, IndexTable } from './index-table.js';
import { NameIndex } from './name-index.js';
import { PackagesScanner, type IndexField, type IndexFields } from './packages-scanner.js';
import { makeDirs } from '../util/make-dirs.js';

/**
 * The parsed-index cache: `<cacheDir>/indexes/<sha256>.deb822`, keyed by the SHA256 of the
 * compressed index as listed in the (verified) Release file, so an entry can never be stale. An
 * entry is the file an IndexTable reads (index-table.ts): the kept fields of every stanza as
 * deb822, between a header comment and a last comment line holding the SHA256 of every byte
 * before it. Writing it costs the writes of bytes alba has in hand, through one reused buffer;
 * reading it, one scan that decodes only package names and Provides, checking the SHA256 on the way.
 */
const HEADER = Buffer.from('# alba-packages-index/3\n', 'latin1');
const CHECK = '# sha256:';
const TRAILER_BYTES = CHECK.length + 64 + 1;
const BLOCK_BYTES = 1 << 20;
/** Lines up to this long are copied byte by byte (see IndexTableWriter.line). */
const SHORT_LINE = 1024;

/** Path of the cache entry for the index whose compressed file has this SHA256. */
export function indexCachePath(cacheDir: string, sha256: string): string {
  return join(cacheArea(cacheDir, 'indexes'), `${sha256}.deb822`);
}

/** A cache entry that was there but whose bytes no longer match its own checksum (it is then removed). */
export const CORRUPT = 'corrupt';

/**
 * The cached table of an index; undefined when absent, CORRUPT when its
 * bytes no longer match the checksum written at its end (a disk error, a tool that touched it):
 * the entry is then removed, and the index is fetched and parsed again.
 */
export function openCachedTable(cacheDir: string, sha256: string, where: string): IndexTable | undefined | typeof CORRUPT {
  const path = indexCachePath(cacheDir, sha256);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  // a FIFO or a device planted in the cache is corrupt (removed, the index fetched again), never waited on
  if (!fstatSync(fd).isFile()) {
    removeFoundCorrupt(path, fd);
    closeSync(fd);
    return CORRUPT;
  }
  try {
    const table = scanCachedTable(fd, where);
    if (table === CORRUPT) {
      removeFoundCorrupt(path, fd);
      closeSync(fd);
    }
    return table;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * Removes the entry at `path` found corrupt through `fd` (still open: its inode cannot be reused),
 * unless `path` names another file by now: another run sharing the cache may have found it corrupt
 * too and renamed its new entry into place meanwhile, and removing that one cost the later runs
 * the index's download and scan again.
 */
export function removeFoundCorrupt(path: string, fd: number): void {
  const found = fstatSync(fd);
  const now = statSync(path, { throwIfNoEntry: false }); // a link planted there (to /dev/zero) goes too
  if (now !== undefined && now.dev === found.dev && now.ino === found.ino) rmSync(path, { force: true, recursive: true });
}

function scanCachedTable(fd: number, where: string): IndexTable | typeof CORRUPT {
  const size = fstatSync(fd).size;
  const head = Buffer.alloc(HEADER.length);
  if (size < HEADER.length + TRAILER_BYTES || readSync(fd, head, 0, head.length, 0) !== head.length || !head.equals(HEADER)) return CORRUPT;
  const trailer = Buffer.alloc(TRAILER_BYTES);
  readSync(fd, trailer, 0, TRAILER_BYTES, size - TRAILER_BYTES);
  const check = new RegExp(`^${CHECK}([0-9a-f]{64})\n$`).exec(trailer.toString('latin1'))?.[1];
  if (check === undefined) return CORRUPT;
  const hash = createHash('sha256').update(HEADER);
  const names = new NameIndex();
  const provides: [number, string][] = [];
  // the file holds only stanzas ended by an empty line: each chunk is pushed one stanza at a time,
  // so that the offset of the next stanza is known when the scanner hands one over
  let stanzaStart = HEADER.length;
  let next = HEADER.length;
  const scanner = new PackagesScanner(
    (fields) => {
      addStanza(names, provides, fields, stanzaStart);
      stanzaStart = next;
    },
    where,
    undefined,
    ['package', 'provides'],
  );
  const buffer = Buffer.allocUnsafe(BLOCK_BYTES);
  const end = size - TRAILER_BYTES;
  for (let position = HEADER.length; position < end;) {
    const got = readSync(fd, buffer, 0, Math.min(BLOCK_BYTES, end - position), position);
    if (got === 0) return CORRUPT;
    const chunk = buffer.subarray(0, got);
    hash.update(chunk);
    for (let at = 0; at < got;) {
      const blank = chunk.indexOf('\n\n', at);
      const until = blank < 0 ? got : blank + 2;
      next = position + until;
      scanner.push(chunk.subarray(at, until));
      at = until;
    }
    position += got;
  }
  scanner.end();
  if (hash.digest('hex') !== check) return CORRUPT;
  return new IndexTable(where, fd, names, provides);
}

/** What the writer decodes of a stanza: enough to check it (checkIndexFields) and index it. */
const CHECKED: readonly IndexField[] = ['package', 'version', 'source', 'provides', 'size', 'sha256'];

/**
 * Builds the table of a Packages index from the chunks of its decoded text: every stanza is checked
 * (INDEX_INVALID) and its kept lines written to a temp file, which finish() makes the cache entry
 * (renamed into place, so readers see a whole entry or none) or, without a cache, a file that is
 * gone once closed.
 */
export class IndexTableWriter {
  private readonly fd: number;
  private readonly tmp: string;
  private readonly block = Buffer.allocUnsafe(BLOCK_BYTES);
  private used = 0;
  /** Bytes written to the file before the block. */
  private written = 0;
  private stanzaStart = HEADER.length;
  private readonly hash: Hash = createHash('sha256');
  private readonly names = new NameIndex();
  private readonly provides: [number, string][] = [];
  private readonly scanner: PackagesScanner;

  constructor(
    private readonly where: string,
    /** The cache and the SHA256 of the compressed index, or undefined for no cache. */
    private readonly entry: { cacheDir: string; sha256: string } | undefined,
  ) {
    const dir = entry === undefined ? tmpdir() : cacheArea(entry.cacheDir, 'indexes');
    makeDirs(dir);
    this.tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    this.fd = openSync(this.tmp, 'w+');
    this.scanner = new PackagesScanner(
      (fields) => this.stanza(fields),
      where,
      (buf, start, end) => this.line(buf, start, end),
      CHECKED,
    );
    this.append(HEADER, 0, HEADER.length);
  }

  /** Adds the stanzas of one chunk (lines may span chunks). */
  push(chunk: Buffer): void {
    this.scanner.push(chunk);
  }

  /** The table of everything pushed, its file in place. */
  finish(): IndexTable {
    this.scanner.end();
    this.flush();
    const trailer = Buffer.from(`${CHECK}${this.hash.digest('hex')}\n`, 'latin1');
    writeSync(this.fd, trailer, 0, trailer.length, this.written);
    if (this.entry === undefined) rmSync(this.tmp, { force: true });
    else renameSync(this.tmp, indexCachePath(this.entry.cacheDir, this.entry.sha256));
    return new IndexTable(this.where, this.fd, this.names, this.provides);
  }

  /** Drops what was written. */
  abort(): void {
    closeSync(this.fd);
    rmSync(this.tmp, { force: true });
  }

  private line(buf: Buffer, start: number, end: number): void {
    if (end - start <= SHORT_LINE && this.used + end - start < BLOCK_BYTES) {
      // a loop: for a line of a few dozen bytes, buf.copy's call (and its view allocation) costs more than the copy
      const block = this.block;
      let at = this.used;
      for (let i = start; i < end; i++) block[at++] = buf[i]!;
      this.used = at;
    } else this.append(buf, start, end);
    this.newline();
  }

  private stanza(fields: IndexFields): void {
    checkIndexFields(fields, this.where);
    this.newline();
    addStanza(this.names, this.provides, fields, this.stanzaStart);
    this.stanzaStart = this.written + this.used;
  }

  private append(buf: Buffer, start: number, end: number): void {
    while (start < end) {
      if (this.used === BLOCK_BYTES) this.flush();
      const n = buf.copy(this.block, this.used, start, Math.min(end, start + BLOCK_BYTES - this.used));
      this.used += n;
      start += n;
    }
  }

  private newline(): void {
    if (this.used === BLOCK_BYTES) this.flush();
    this.block[this.used++] = 10;
  }

  private flush(): void {
    const bytes = this.block.subarray(0, this.used);
    this.hash.update(bytes);
    for (let at = 0; at < bytes.length;) at += writeSync(this.fd, bytes, at, bytes.length - at, this.written + at);
    this.written += this.used;
    this.used = 0;
  }
}
