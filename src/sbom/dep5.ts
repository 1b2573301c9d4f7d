import { field, parseDeb822, type Stanza } from '../debian/deb822.js';
import { licenseRef, spdxExceptionId, spdxLicenseId } from './license-ids.js';
import type { DeclaredLicense, ExtractedLicense } from './types.js';

/** A licence expression tree: a leaf is one SPDX term (`GPL-2.0-or-later WITH X`, `LicenseRef-…`). */
type Expr = { leaf: string } | { op: 'AND' | 'OR'; args: Expr[] };

/** One Debian licence name that has no SPDX id, as written in the file. */
interface Unknown {
  ref: string;
  name: string;
}

const FORMAT_RE = /copyright-format\/1\.0\/?$/;

/**
 * Declared licence of a package from its debian/copyright file.
 * Only machine-readable (DEP-5, copyright-format/1.0) files are read: the `License:` names of all
 * `Files` paragraphs become one SPDX expression (AND of the distinct terms, sorted); names without an
 * SPDX id, and licence lines that are not DEP-5 expressions, become LicenseRefs carrying the licence
 * text found in the file. Returns undefined for any other file, or a DEP-5 file with a Files paragraph
 * that names no licence: the SBOM then says NOASSERTION rather than guess.
 */
export function parseDep5(text: string): DeclaredLicense | undefined {
  const [header, ...rest] = parseDeb822(text);
  const format = header === undefined ? undefined : field(header, 'Format');
  if (format === undefined || !FORMAT_RE.test(format.trim())) return undefined;
  const filesParagraphs = rest.filter((p) => field(p, 'Files') !== undefined);
  if (filesParagraphs.length === 0) return undefined;

  const terms = new Map<string, Expr>();
  const unknowns = new Map<string, Unknown>();
  for (const paragraph of filesParagraphs) {
    const license = field(paragraph, 'License');
    const nameLine = license?.split('\n')[0]?.trim();
    if (nameLine === undefined || nameLine === '') return undefined;
    const unknown = (name: string): string => {
      const ref = licenseRef(name);
      unknowns.set(ref, { ref, name });
      return ref;
    };
    // A line that is not a DEP-5 expression (`MIT/X Consortium License`, `A and/or B`) is kept whole, as one LicenseRef.
    const expr: Expr = parseExpression(nameLine, unknown) ?? { leaf: unknown(nameLine) };
    for (const conjunct of conjuncts(expr)) terms.set(render(conjunct, undefined), conjunct);
  }
  const expression =
    terms.size === 1
      ? [...terms.keys()].join('')
      : [...terms.values()]
          .map((t) => render(t, 'AND'))
          .sort(compare)
          .join(' AND ');
  const extracted = extractedLicenses(expression, unknowns, rest);
  return { expression, extracted };
}

/** Every LicenseRef in `expression` with its text: a standalone License paragraph, else a Files paragraph's. */
function extractedLicenses(expression: string, unknowns: Map<string, Unknown>, paragraphs: Stanza[]): ExtractedLicense[] {
  const refs = [...new Set(expression.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? [])].sort(compare);
  return refs.map((ref) => {
    const name = unknowns.get(ref)?.name ?? ref.slice('LicenseRef-'.length);
    return { id: ref, name, text: licenseText(name, paragraphs) };
  });
}

/** The text under `License: <name>`; standalone paragraphs first; a statement when the file has none. */
function licenseText(name: string, paragraphs: Stanza[]): string {
  const wanted = normalize(name);
  const ordered = [...paragraphs.filter((p) => field(p, 'Files') === undefined), ...paragraphs];
  for (const paragraph of ordered) {
    const license = field(paragraph, 'License') ?? '';
    // the name line alone is compared: a body is split only for the paragraph that names the licence
    const end = license.indexOf('\n');
    if (normalize(end === -1 ? license : license.slice(0, end)) !== wanted) continue;
    const text = (end === -1 ? [] : license.slice(end + 1).split('\n')).map(unfoldLine).join('\n').trim();
    if (text !== '') return text;
  }
  return `The Debian copyright file names the licence "${name}" without giving its text.`;
}

/** One continuation line of a deb822 field: drop the leading space; a lone `.` is an empty line. */
function unfoldLine(line: string): string {
  const content = line.replace(/^[ \t]/, '');
  return content.trim() === '.' ? '' : content;
}

function normalize(name: string): string {
  return name.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * Parses a DEP-5 licence line: `A or B, and C with X exception`.
 * `and` binds tighter than `or`; a comma separates groups at the lowest precedence.
 */
function parseExpression(line: string, unknown: (name: string) => string): Expr | undefined {
  const tokens = line
    .replace(/,/g, ' , ')
    .split(/\s+/)
    .filter((t) => t !== '');
  let pos = 0;
  const peek = (): string | undefined => tokens[pos]?.toLowerCase();

  const term = (): Expr | undefined => {
    const name = tokens[pos];
    if (name === undefined || ['and', 'or', ',', 'with'].includes(name.toLowerCase())) return undefined;
    pos++;
    if (peek() !== 'with') return { leaf: spdxLicenseId(name) ?? unknown(name) };
    pos++;
    const words: string[] = [];
    while (pos < tokens.length && peek() !== 'exception') words.push(tokens[pos++] as string);
    if (peek() !== 'exception' || words.length === 0) return undefined;
    pos++;
    const base = spdxLicenseId(name);
    const exception = spdxExceptionId(words.join(' '));
    if (base !== undefined && exception !== undefined && !base.includes(' ')) return { leaf: `${base} WITH ${exception}` };
    return { leaf: unknown(`${name} with ${words.join(' ')} exception`) };
  };
  const chain = (op: 'AND' | 'OR', word: string, next: () => Expr | undefined): Expr | undefined => {
    const first = next();
    if (first === undefined) return undefined;
    const args = [first];
    while (peek() === word) {
      pos++;
      const arg = next();
      if (arg === undefined) return undefined;
      args.push(arg);
    }
    return args.length === 1 ? first : { op, args };
  };
  const group = (): Expr | undefined => chain('OR', 'or', () => chain('AND', 'and', term));

  let expr = group();
  while (expr !== undefined && peek() === ',') {
    pos++;
    const word = peek();
    if (word !== 'and' && word !== 'or') return undefined;
    pos++;
    const right = group();
    expr = right === undefined ? undefined : { op: word === 'and' ? 'AND' : 'OR', args: [expr, right] };
  }
  return expr !== undefined && pos === tokens.length ? expr : undefined;
}

/** The operands of a top-level AND, nested ANDs flattened; the expression itself otherwise. */
function conjuncts(expr: Expr): Expr[] {
  return 'op' in expr && expr.op === 'AND' ? expr.args.flatMap(conjuncts) : [expr];
}

/** SPDX text of an expression; parenthesised when an OR sits inside an AND. */
function render(expr: Expr, parent: 'AND' | 'OR' | undefined): string {
  if ('leaf' in expr) return parent === 'AND' && expr.leaf.includes(' OR ') ? `(${expr.leaf})` : expr.leaf;
  const text = expr.args.map((arg) => render(arg, expr.op)).join(` ${expr.op} `);
  return parent === 'AND' && expr.op === 'OR' ? `(${text})` : text;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
