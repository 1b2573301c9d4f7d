import { AlbaError } from '../errors.js';
import { closeSync, readSync } from 'node:fs';
import type { NameIndex } from './name-index.js';
import { PackagesScanner, type IndexFields } from './packages-scanner.js';
import type { IndexPackage } from './types.js';
import { versionProblem } from './version.js';

/**
 * One Packages index, kept out of memory: the kept fields of its stanzas are a deb822 file (the
 * parsed-index cache entry, index-cache.ts; about 60 % of the decoded index), and memory holds
 * only the offset of each stanza by a hash of its package name (name-index.ts) and the Provides fields. Packages become objects
 * only when the resolver asks for their name (candidateAt reads the stanza at its offset, from the
 * page cache), so a resolution touches a few hundred of an index's 60k stanzas and a process's
 * memory does not grow with the indexes. The file stays open until close(): replacing or removing
 * the cache entry meanwhile does not change what this table reads.
 */
export class IndexTable {
  constructor(
    /** Names the index in errors. */
    readonly where: string,
    private readonly fd: number,
    /** Offsets in the file of the stanzas, by package name. */
    private readonly names: NameIndex,
    /** Offset and Provides value of each stanza that has one. */
    readonly provides: readonly (readonly [offset: number, value: string])[],
  ) {}

  /** The offsets of the stanzas that may be of package `name` (names are kept as hashes: the caller checks the name of what it reads). */
  offsetsNamed(name: string): number[] {
    return this.names.candidates(name);
  }

  /** The offset of every stanza, in order. */
  offsets(): number[] {
    return this.names.all();
  }

  /** The package of the stanza at `offset`. */
  candidateAt(offset: number): IndexPackage {
    let found: IndexFields | undefined;
    const scanner = new PackagesScanner((fields) => (found ??= fields), this.where);
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    for (let at = offset; found === undefined; at += READ_BYTES) {
      const got = readSync(this.fd, buffer, 0, READ_BYTES, at);
      if (got === 0) break;
      const chunk = buffer.subarray(0, got);
      const end = chunk.indexOf('\n\n');
      scanner.push(end < 0 ? chunk : chunk.subarray(0, end + 2));
    }
    scanner.end();
    if (found === undefined) throw new Error(`no stanza at offset ${offset} of ${this.where}`);
    return toIndexPackage(found, this.where);
  }

  /** Closes the file. */
  close(): void {
    closeSync(this.fd);
  }
}

const READ_BYTES = 4096;

/** Adds the stanza at `offset` to the name and Provides tables. */
export function addStanza(names: NameIndex, provides: [number, string][], fields: IndexFields, offset: number): void {
  names.add(fields.package as string, offset);
  if (fields.provides !== undefined) provides.push([offset, fields.provides]);
}

/** Throws INDEX_INVALID, naming the index, the package and the field, when a stanza lacks a field alba needs or holds an invalid one. */
export function checkIndexFields(f: IndexFields, where: string): void {
  const { package: name, version, size, sha256 } = f;
  if (
    name === undefined ||
    version === undefined ||
    f.architecture === undefined ||
    f.filename === undefined ||
    size === undefined ||
    sha256 === undefined ||
    !isDigits(size)
  ) {
    const missing = (['package', 'version', 'architecture', 'filename', 'size', 'sha256'] as const).filter((k) => f[k] === undefined);
    throw new AlbaError(
      'INDEX_INVALID',
      `${where}: stanza of ${name ?? '(no Package field)'} ${missing.length > 0 ? `lacks ${missing.join(', ')}` : `has a bad Size ${size}`}`,
      {
        hint: 'the repository index is broken; report it to the repository maintainers',
      },
    );
  }
  const versionIssue = versionProblem(version);
  if (versionIssue !== undefined)
    throw badField(where, name, version, 'Version', `${JSON.stringify(version)} is not a Debian version: ${versionIssue}`);
  if (!isHex64(sha256)) throw badField(where, name, version, 'SHA256', `${JSON.stringify(sha256.slice(0, 80))} is not 64 hex digits`);
  // a Source without `(version)` has the binary's version, checked above
  if (f.source === undefined || !f.source.includes('(')) return;
  const sourceVersion = splitSource(f.source, name, version)[1];
  const sourceIssue = versionProblem(sourceVersion);
  if (sourceIssue !== undefined)
    throw badField(where, name, version, 'Source', `version ${JSON.stringify(sourceVersion)} is not a Debian version: ${sourceIssue}`);
}

function badField(where: string, name: string, version: string, field: string, problem: string): AlbaError {
  return new AlbaError('INDEX_INVALID', `${where}: stanza of ${name} ${version}: ${field} ${problem}`, {
    hint: 'the repository index is broken or hostile; report it to the repository maintainers',
  });
}

/** True when `text` is one or more decimal digits. */
function isDigits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** True when `text` is 64 hex digits (a loop: this runs for every stanza of every index). */
function isHex64(text: string): boolean {
  if (text.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = text.charCodeAt(i) | 0x20;
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** The IndexPackage of one Packages stanza's kept fields, checked (checkIndexFields). */
export function toIndexPackage(f: IndexFields, where: string): IndexPackage {
  checkIndexFields(f, where);
  const name = f['package'] as string;
  const version = f['version'] as string;
  const [source, sourceVersion] = splitSource(f['source'], name, version);
  const p: IndexPackage = {
    name,
    version,
    architecture: f['architecture'] as string,
    source,
    sourceVersion,
    filename: f['filename'] as string,
    size: Number(f['size']),
    sha256: (f['sha256'] as string).toLowerCase(),
  };
  if (f['depends'] !== undefined) p.depends = f['depends'];
  if (f['pre-depends'] !== undefined) p.preDepends = f['pre-depends'];
  if (f['provides'] !== undefined) p.provides = f['provides'];
  if (f['multi-arch'] !== undefined) p.multiArch = f['multi-arch'];
  if (f['maintainer'] !== undefined) p.maintainer = f['maintainer'];
  return p;
}

/** `Source: name (version)` → [name, version]; absent → the binary's own name and version. */
function splitSource(value: string | undefined, name: string, version: string): [string, string] {
  if (value === undefined) return [name, version];
  const m = /^(\S+)\s*\((.+)\)$/.exec(value);
  return m === null ? [value, version] : [m[1] as string, (m[2] as string).trim()];
}
