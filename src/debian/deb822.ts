import { AlbaError } from '../errors.js';

/** The longest line of a field alba keeps (documented in docs/errors.md, INDEX_INVALID). */
export const MAX_LINE = 4 * 1024 * 1024;

/** One deb822 paragraph: field names as written, values with continuation lines joined by `\n`. */
export type Stanza = Map<string, string>;

/**
 * Incremental deb822 parser: feed text chunks, receive each complete paragraph.
 * Field names keep their case; look them up with `field()` for case-insensitive access.
 * (Packages indexes have their own scanner, over bytes: packages-scanner.ts.)
 */
export class Deb822Parser {
  /** The start of a line whose end has not come yet. */
  private rest = '';
  private current: Stanza = new Map();
  private lastKey: string | undefined;

  constructor(
    private readonly onStanza: (stanza: Stanza) => void,
    /** Names the text in errors. */
    private readonly where = 'a deb822 text',
  ) {}

  /** Parses every complete line of `chunk`; keeps a partial last line (up to MAX_LINE) for the next call. */
  push(chunk: string): void {
    let start = 0;
    if (this.rest.length > 0) {
      const nl = chunk.indexOf('\n');
      if (nl === -1) {
        this.partial(this.rest + chunk);
        return;
      }
      const line = this.rest + chunk.slice(0, nl);
      this.rest = '';
      this.line(line, 0, line.length);
      start = nl + 1;
    }
    for (let nl = chunk.indexOf('\n', start); nl !== -1; nl = chunk.indexOf('\n', start)) {
      this.line(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) this.partial(chunk.slice(start));
  }

  /** Flushes the final paragraph. */
  end(): void {
    if (this.rest.length > 0) this.line(this.rest, 0, this.rest.length);
    this.rest = '';
    this.flush();
  }

  /** Holds the start of an unfinished line. */
  private partial(text: string): void {
    if (text.length > MAX_LINE) {
      throw new AlbaError('INDEX_INVALID', `${this.where}: a line of over ${MAX_LINE} bytes (${JSON.stringify(text.slice(0, 40))}…)`, {
        hint: 'no field alba reads is that long; the file is broken or hostile',
      });
    }
    this.rest = text;
  }

  /** Handles text[start, end) as one line. */
  private line(text: string, start: number, end: number): void {
    if (end > start && text.charCodeAt(end - 1) === 13) end--;
    if (isBlank(text, start, end)) {
      this.flush();
      return;
    }
    const first = text.charCodeAt(start);
    if (first === 32 || first === 9) {
      if (this.lastKey !== undefined) {
        this.current.set(this.lastKey, `${this.current.get(this.lastKey)}\n${text.slice(start, end)}`);
      }
      return;
    }
    if (first === 35) return; // '#': a comment
    const colon = text.indexOf(':', start);
    if (colon <= start || colon >= end) return;
    const key = text.slice(start, colon);
    this.lastKey = key;
    // Copy the value so retained strings do not pin the whole chunk in memory.
    this.current.set(key, (' ' + text.slice(colon + 1, end).trim()).slice(1));
  }

  private flush(): void {
    if (this.current.size > 0) this.onStanza(this.current);
    this.current = new Map();
    this.lastKey = undefined;
  }
}

/** True when text[start, end) holds only spaces and tabs. */
function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/** Parses a whole deb822 text into paragraphs. */
export function parseDeb822(text: string): Stanza[] {
  const out: Stanza[] = [];
  const parser = new Deb822Parser((s) => out.push(s));
  parser.push(text);
  parser.end();
  return out;
}

/** Case-insensitive field lookup. */
export function field(stanza: Stanza, name: string): string | undefined {
  const direct = stanza.get(name);
  if (direct !== undefined) return direct;
  const lower = name.toLowerCase();
  for (const [key, value] of stanza) if (key.toLowerCase() === lower) return value;
  return undefined;
}
