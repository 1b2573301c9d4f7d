import { AlbaError } from '../errors.js';
import { MAX_LINE } from './deb822.js';

/** The Packages fields alba keeps, by their lowercase names; the scanner steps over the others. */
export const INDEX_FIELDS = [
  'package',
  'version',
  'architecture',
  'source',
  'depends',
  'pre-depends',
  'provides',
  'multi-arch',
  'maintainer',
  'filename',
  'size',
  'sha256',
] as const;

/** One field kept from a Packages stanza. */
export type IndexField = (typeof INDEX_FIELDS)[number];

/** The kept fields of one stanza, by lowercase name (values with continuation lines joined by `\n`); fields kept but not decoded are `''`. */
export type IndexFields = Partial<Record<IndexField, string>>;

const SPACE = 32;
const TAB = 9;
const HASH = 35;
const COLON = 58;
const LF = 10;
const CR = 13;

/** Kept field indexes by name length, with each name's lowercase bytes. */
const BY_LENGTH: { index: number; bytes: Buffer }[][] = [];
INDEX_FIELDS.forEach((name, index) => {
  (BY_LENGTH[name.length] ??= []).push({ index, bytes: Buffer.from(name, 'latin1') });
});

/**
 * A streaming scanner of a decompressed Packages index that reads bytes, not text: it finds lines
 * with `indexOf`, matches field names without making strings, and decodes only the values of
 * INDEX_FIELDS, so an index's descriptions, tags and checksums alba does not use cost a scan and
 * nothing else. Linear in the input: a skipped line (of any length) is dropped as it streams by; a
 * kept line, or a line not yet known to be skipped, longer than MAX_LINE is INDEX_INVALID. Same
 * rules as deb822.ts: field names in any case, `#` comments, a later duplicate field wins,
 * continuation lines kept with their leading space.
 */
export class PackagesScanner {
  private readonly values: (string | undefined)[] = INDEX_FIELDS.map(() => undefined);
  /** Which fields have their values decoded, by index in INDEX_FIELDS (all by default). */
  private readonly decoded: boolean[];
  private filled = false;
  /** The kept field the last line belonged to (-1: none, or a skipped one). */
  private last = -1;
  /** The start of a line whose end has not come yet. */
  private carry: Buffer | undefined;
  /** True while dropping the rest of a skipped line. */
  private skipping = false;

  constructor(
    private readonly onStanza: (fields: IndexFields) => void,
    /** Names the index in errors. */
    private readonly where: string,
    /** Told of every kept line (bytes [start, end) of `buf`, without its line end), before its stanza is handed over. */
    private readonly onKeptLine?: (buf: Buffer, start: number, end: number) => void,
    /** The fields whose values are decoded; the others kept are handed over as `''` (decoding is most of a scan's cost). */
    decode: readonly IndexField[] = INDEX_FIELDS,
  ) {
    this.decoded = INDEX_FIELDS.map((name) => decode.includes(name));
  }

  /** Scans every complete line of `chunk`, holding an unfinished last line for the next call. */
  push(chunk: Buffer): void {
    let start = 0;
    if (this.skipping || this.carry !== undefined) {
      const nl = chunk.indexOf(LF);
      if (nl === -1) {
        if (this.carry !== undefined) this.partial(Buffer.concat([this.carry, chunk]));
        return;
      }
      if (this.carry !== undefined) {
        const line = Buffer.concat([this.carry, chunk.subarray(0, nl)]);
        this.carry = undefined;
        this.line(line, 0, line.length);
      }
      this.skipping = false;
      start = nl + 1;
    }
    for (let nl = chunk.indexOf(LF, start); nl !== -1; nl = chunk.indexOf(LF, start)) {
      this.line(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) this.partial(chunk.subarray(start));
  }

  /** Scans the last line and hands over the last stanza. */
  end(): void {
    if (this.carry !== undefined) this.line(this.carry, 0, this.carry.length);
    this.carry = undefined;
    this.skipping = false;
    this.flush();
  }

  /** Holds the start of an unfinished line, or starts dropping it once it is known to be skipped. */
  private partial(text: Buffer): void {
    const first = text[0];
    let skipped = first === HASH || ((first === SPACE || first === TAB) && this.last < 0);
    if (!skipped && first !== SPACE && first !== TAB) {
      const colon = text.indexOf(COLON);
      if (colon > 0) {
        const field = fieldAt(text, 0, colon);
        if (field < 0) {
          this.last = -1;
          skipped = true;
        }
      }
    }
    if (skipped) {
      this.carry = undefined;
      this.skipping = true;
      return;
    }
    if (text.length > MAX_LINE) {
      throw new AlbaError(
        'INDEX_INVALID',
        `${this.where}: a line of over ${MAX_LINE} bytes (${JSON.stringify(text.subarray(0, 40).toString('utf8'))}…)`,
        {
          hint: 'no field alba reads is that long; the file is broken or hostile',
        },
      );
    }
    this.carry = Buffer.from(text);
  }

  /** Handles bytes [start, end) of `buf` as one line. */
  private line(buf: Buffer, start: number, end: number): void {
    if (end > start && buf[end - 1] === CR) end--;
    if (end === start) return this.flush();
    const lead = buf[start];
    if (lead === SPACE || lead === TAB) {
      let first = start;
      while (first < end && (buf[first] === SPACE || buf[first] === TAB)) first++;
      if (first === end) return this.flush();
      if (this.last < 0) return;
      if (this.decoded[this.last] === true) this.values[this.last] = `${this.values[this.last]}\n${buf.toString('utf8', start, end)}`;
      this.onKeptLine?.(buf, start, end);
      return;
    }
    if (lead === HASH) return;
    // field names are short: look for the colon in a loop first, natively beyond
    let colon = -1;
    for (let i = start + 1, stop = Math.min(end, start + 24); i < stop; i++) {
      if (buf[i] === COLON) {
        colon = i;
        break;
      }
    }
    if (colon < 0) colon = buf.indexOf(COLON, start);
    if (colon <= start || colon >= end) return;
    const field = fieldAt(buf, start, colon);
    this.last = field;
    if (field < 0) return;
    this.filled = true;
    this.onKeptLine?.(buf, start, end);
    if (this.decoded[field] !== true) {
      this.values[field] = '';
      return;
    }
    let a = colon + 1;
    let b = end;
    while (a < b && (buf[a] === SPACE || buf[a] === TAB)) a++;
    while (b > a && (buf[b - 1] === SPACE || buf[b - 1] === TAB)) b--;
    this.values[field] = buf.toString('utf8', a, b);
  }

  private flush(): void {
    if (!this.filled) return;
    const fields: IndexFields = {};
    const values = this.values;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value === undefined) continue;
      fields[INDEX_FIELDS[i]!] = value;
      values[i] = undefined;
    }
    this.filled = false;
    this.last = -1;
    this.onStanza(fields);
  }
}

/** The index in INDEX_FIELDS of the field named by bytes [start, end) of `buf` (any case), or -1. */
function fieldAt(buf: Buffer, start: number, end: number): number {
  const candidates = BY_LENGTH[end - start];
  if (candidates === undefined) return -1;
  next: for (const { index, bytes } of candidates) {
    for (let i = 0; i < bytes.length; i++) if (((buf[start + i] as number) | 0x20) !== bytes[i]) continue next;
    return index;
  }
  return -1;
}
