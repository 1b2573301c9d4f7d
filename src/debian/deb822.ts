/** One deb822 paragraph: field names as written, values with continuation lines joined by `\n`. */
export type Stanza = Map<string, string>;

/**
 * Incremental deb822 parser: feed text chunks, receive each complete paragraph.
 * Field names keep their case; look them up with `field()` for case-insensitive access.
 */
export class Deb822Parser {
  private rest = '';
  private current: Stanza = new Map();
  private lastKey: string | undefined;

  constructor(private readonly onStanza: (stanza: Stanza) => void) {}

  /** Parses every complete line of `chunk`; keeps a partial last line for the next call. */
  push(chunk: string): void {
    const text = this.rest + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
      this.line(text.slice(start, nl));
      start = nl + 1;
    }
    this.rest = text.slice(start);
  }

  /** Flushes the final paragraph. */
  end(): void {
    if (this.rest.length > 0) this.line(this.rest);
    this.rest = '';
    this.flush();
  }

  private line(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') {
      this.flush();
      return;
    }
    if (line.startsWith('#')) return;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (this.lastKey !== undefined) {
        this.current.set(this.lastKey, `${this.current.get(this.lastKey)}\n${line}`);
      }
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return;
    // Copy the value so retained strings do not pin the whole chunk in memory.
    this.lastKey = line.slice(0, colon);
    this.current.set(this.lastKey, (' ' + line.slice(colon + 1).trim()).slice(1));
  }

  private flush(): void {
    if (this.current.size > 0) this.onStanza(this.current);
    this.current = new Map();
    this.lastKey = undefined;
  }
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

/** Writes a paragraph back in deb822 form (fields in insertion order), ending with a newline. */
export function formatStanza(stanza: Stanza): string {
  let out = '';
  for (const [key, value] of stanza) out += value.startsWith('\n') ? `${key}:${value}\n` : `${key}: ${value}\n`;
  return out;
}
