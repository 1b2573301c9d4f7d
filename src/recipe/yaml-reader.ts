import { isAlias, isMap, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { IssueList } from './issues.js';
import { didYouMean } from './suggest.js';

/** A YAML value together with where it is and what the recipe calls it (`files[0].dst`). */
export interface Located {
  node: unknown;
  /** Source offset to report problems at. */
  at: number;
  what: string;
}

/** Reads typed values out of YAML nodes, recording a positioned issue for every mismatch. */
export class YamlReader {
  constructor(
    private readonly doc: Document,
    private readonly source: string,
    readonly issues: IssueList,
  ) {}

  /** Records a problem about a value. */
  problem(value: Located, message: string, hint?: string): void {
    this.issues.at(value.at, `${value.what === '' ? 'recipe' : value.what}: ${message}`, hint);
  }

  /** The fields of a map, each located; unknown keys are reported with a suggestion. Undefined when not a map. */
  map(value: Located, known: readonly string[]): Map<string, Located> | undefined {
    const node = this.deref(value.node);
    if (!isMap(node)) {
      this.problem(value, `must be a map, got ${describe(node)}`);
      return undefined;
    }
    const fields = new Map<string, Located>();
    for (const pair of node.items) {
      const key = this.deref(pair.key);
      const keyAt = offsetOf(key) ?? value.at;
      if (!isScalar(key) || typeof key.value !== 'string') {
        this.issues.at(keyAt, `${value.what === '' ? 'recipe' : value.what}: keys must be strings, got ${describe(key)}`);
        continue;
      }
      const name = key.value;
      const where = value.what === '' ? '' : ` in ${value.what}`;
      if (!known.includes(name)) {
        this.issues.at(keyAt, `unknown key "${name}"${where}${didYouMean(name, known)}`);
        continue;
      }
      const inner = this.deref(pair.value);
      const empty = inner === null || (isScalar(inner) && inner.value === null);
      const at = empty ? keyAt : (offsetOf(inner) ?? keyAt);
      fields.set(name, { node: pair.value, at, what: value.what === '' ? name : `${value.what}.${name}` });
    }
    return fields;
  }

  /** The items of a list, each located. Undefined when not a list. */
  list(value: Located): Located[] | undefined {
    const node = this.deref(value.node);
    if (!isSeq(node)) {
      this.problem(value, `must be a list, got ${describe(node)}`);
      return undefined;
    }
    return node.items.map((item, i) => ({
      node: item,
      at: offsetOf(this.deref(item)) ?? value.at,
      what: `${value.what}[${i}]`,
    }));
  }

  /** A string scalar. */
  string(value: Located, hint?: string): string | undefined {
    const node = this.deref(value.node);
    if (isScalar(node) && typeof node.value === 'string') return node.value;
    this.problem(value, `must be a string, got ${describe(node)}`, hint);
    return undefined;
  }

  /** A string that is an absolute path (`/…`): workdir, a user's home and shell. */
  absolutePath(value: Located): string | undefined {
    const text = this.string(value);
    if (text !== undefined && !text.startsWith('/')) {
      this.problem(value, `"${text}" must be an absolute path`);
      return undefined;
    }
    return text;
  }

  /** A scalar as written: strings as they are, plain numbers and booleans as their source text (`1.10` stays `1.10`). */
  text(value: Located): string | undefined {
    const node = this.deref(value.node);
    if (isScalar(node) && typeof node.value === 'string') return node.value;
    if (isScalar(node) && node.value !== null && node.range && node.type === 'PLAIN') {
      return this.source.slice(node.range[0], node.range[1]);
    }
    const empty = node === null || (isScalar(node) && node.value === null);
    this.problem(value, `must be a string, got ${describe(node)}`, empty ? 'write "" for an empty string' : undefined);
    return undefined;
  }

  /** The source text of a plain number scalar (`0755`), or undefined when the value is not one. */
  numberSource(value: Located): string | undefined {
    const node = this.deref(value.node);
    if (isScalar(node) && typeof node.value === 'number' && node.range) {
      return this.source.slice(node.range[0], node.range[1]);
    }
    return undefined;
  }

  /** An integer within [min, max]. */
  integer(value: Located, min: number, max: number): number | undefined {
    const node = this.deref(value.node);
    if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value)) {
      this.problem(value, `must be an integer, got ${describe(node)}`);
      return undefined;
    }
    if (node.value < min || node.value > max) {
      this.problem(value, `${node.value} is out of range ${min}..${max}`);
      return undefined;
    }
    return node.value;
  }

  /** A boolean. */
  boolean(value: Located): boolean | undefined {
    const node = this.deref(value.node);
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    this.problem(value, `must be true or false, got ${describe(node)}`);
    return undefined;
  }

  /** True when the value is a scalar of the given JavaScript type (after following aliases). */
  isScalarOf(value: Located, type: 'string' | 'number' | 'boolean'): boolean {
    const node = this.deref(value.node);
    return isScalar(node) && typeof node.value === type;
  }

  /** A list of strings; a single string is refused with a hint to write a list. */
  stringList(value: Located): Array<{ value: string; at: Located }> | undefined {
    if (this.isScalarOf(value, 'string')) {
      const text = this.string(value) ?? '';
      this.problem(
        value,
        'must be a list of strings, got a string',
        `write one item per argument: ${JSON.stringify(text.split(/\s+/).filter(Boolean))}`,
      );
      return undefined;
    }
    const items = this.list(value);
    if (items === undefined) return undefined;
    const out: Array<{ value: string; at: Located }> = [];
    let ok = true;
    for (const item of items) {
      const text = this.string(item);
      if (text === undefined) ok = false;
      else out.push({ value: text, at: item });
    }
    return ok ? out : undefined;
  }

  /** A map of string to string; plain numbers and booleans are taken as written. */
  stringMap(value: Located, checkKey?: (key: string, at: Located) => void): Record<string, string> | undefined {
    const node = this.deref(value.node);
    if (!isMap(node)) {
      this.problem(value, `must be a map of strings, got ${describe(node)}`);
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const pair of node.items) {
      const key = this.deref(pair.key);
      const keyAt = offsetOf(key) ?? value.at;
      const keyText = this.text({ node: key, at: keyAt, what: `${value.what} key` });
      if (keyText === undefined) continue;
      const item = {
        node: pair.value,
        at: this.isEmpty({ node: pair.value, at: keyAt, what: '' }) ? keyAt : (offsetOf(this.deref(pair.value)) ?? keyAt),
        what: `${value.what}.${keyText}`,
      };
      checkKey?.(keyText, { ...item, at: keyAt });
      const text = this.text(item);
      if (text !== undefined) out[keyText] = text;
    }
    return out;
  }

  /** True when the value is missing or null. */
  isEmpty(value: Located): boolean {
    const node = this.deref(value.node);
    return node === null || node === undefined || (isScalar(node) && node.value === null);
  }

  /** Follows an alias to the node it names; unknown aliases count as null (the parser reports them). */
  private deref(node: unknown): unknown {
    if (isAlias(node)) return node.resolve(this.doc) ?? null;
    return node;
  }
}

/** Start offset of a YAML node, when it has one. */
function offsetOf(node: unknown): number | undefined {
  return (node as Node | null | undefined)?.range?.[0];
}

/** A short description of a YAML value for messages: `a list`, `the number 3`, `the string "abc"`. */
function describe(node: unknown): string {
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'nothing';
    if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
    if (typeof v === 'number') return `the number ${v}`;
    if (typeof v === 'boolean') return `${v}`;
  }
  if (node === null || node === undefined) return 'nothing';
  return 'an unsupported value';
}
