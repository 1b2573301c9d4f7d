/** A Debian version split into its three parts: `[epoch:]upstream[-revision]`. */
export interface DebianVersion {
  epoch: number;
  upstream: string;
  /** Debian revision; `""` when absent (which dpkg orders equal to `"0"`). */
  revision: string;
}

/** A version relation operator as written in control files, after normalising the obsolete `<` and `>`. */
export type RelationOp = '<<' | '<=' | '=' | '>=' | '>>';

/**
 * Splits a version as dpkg does: the epoch is what precedes the first `:` (0 when absent), the
 * revision what follows the last `-`. Tolerant: a non-numeric epoch is kept in the upstream part.
 */
export function parseVersion(version: string): DebianVersion {
  let rest = version.trim();
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon > 0 && /^[0-9]+$/.test(rest.slice(0, colon))) {
    epoch = Number(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  if (hyphen === -1) return { epoch, upstream: rest, revision: '' };
  return { epoch, upstream: rest.slice(0, hyphen), revision: rest.slice(hyphen + 1) };
}

/**
 * Why `version` is not a Debian version by dpkg's rules, or undefined when it is one: a numeric
 * epoch before the first `:` when there is one, a non-empty upstream part of letters, digits and
 * `.+~-:`, a non-empty revision after the last `-` of letters, digits and `.+~`, no spaces.
 */
export function versionProblem(version: string): string | undefined {
  if (version === '') return 'it is empty';
  if (/\s/.test(version)) return 'it holds a space';
  const colon = version.indexOf(':');
  if (colon !== -1 && !/^[0-9]+$/.test(version.slice(0, colon))) return colon === 0 ? 'its epoch is empty' : 'its epoch is not a number';
  const rest = version.slice(colon + 1);
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen === -1 ? rest : rest.slice(0, hyphen);
  if (upstream === '') return 'its upstream version is empty';
  if (!/^[A-Za-z0-9.+~:-]+$/.test(upstream)) return 'its upstream version holds a character other than letters, digits and .+~-:';
  if (hyphen !== -1) {
    const revision = rest.slice(hyphen + 1);
    if (revision === '') return 'its revision is empty';
    if (!/^[A-Za-z0-9.+~]+$/.test(revision)) return 'its revision holds a character other than letters, digits and .+~';
  }
  return undefined;
}

/** Orders dpkg versions: negative when `a` sorts before `b`, 0 when equal, positive after. */
export function compareVersions(a: string, b: string): number {
  const va = parseVersion(a);
  const vb = parseVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  return sign(verrevcmp(va.upstream, vb.upstream)) || sign(verrevcmp(va.revision, vb.revision));
}

/** True when `version` satisfies `op wanted` (`<` and `>` are read as dpkg does: `<=` and `>=`). */
export function satisfies(version: string, op: RelationOp | '<' | '>', wanted: string): boolean {
  const c = compareVersions(version, wanted);
  switch (op) {
    case '<<':
      return c < 0;
    case '<=':
    case '<':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
    case '>':
      return c >= 0;
    case '>>':
      return c > 0;
  }
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** dpkg's character weight: `~` before the end of the string, before letters, before anything else. */
function order(s: string, i: number): number {
  if (i >= s.length) return 0;
  const code = s.charCodeAt(i);
  if (isDigit(code)) return 0;
  if (isLetter(code)) return code;
  if (code === 126) return -1;
  return code + 256;
}

/** dpkg's verrevcmp: alternating non-digit runs (by weight) and digit runs (numerically). */
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const diff = order(a, i) - order(b, j);
      if (diff !== 0) return diff;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 48) i++;
    while (b.charCodeAt(j) === 48) j++;
    let firstDiff = 0;
    while (i < a.length && j < b.length && isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && isDigit(a.charCodeAt(i))) return 1;
    if (j < b.length && isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}
