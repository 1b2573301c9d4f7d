import { posix, resolve } from 'node:path';
import type { FileSpec } from './types.js';
import { didYouMean } from './suggest.js';
import type { Located, YamlReader } from './yaml-reader.js';

/** Placeholders a file's `src` may use; the build expands them per arch. */
export const FILE_PLACEHOLDERS = ['os', 'arch', 'variant', 'debarch'] as const;

const FILE_KEYS = ['src', 'dst', 'mode', 'uid', 'gid', 'check-elf'];
const DEFAULT_FILE_MODE = 0o755;
const MAX_ID = 2 ** 31 - 1;

/** Validates `files:`; `src` is resolved against `baseDir` with its placeholders left in place. */
export function readFiles(r: YamlReader, value: Located, baseDir: string): FileSpec[] {
  const items = r.list(value) ?? [];
  const out: FileSpec[] = [];
  const seen = new Map<string, number>();
  for (const item of items) {
    const fields = r.map(item, FILE_KEYS);
    if (fields === undefined) continue;
    const srcAt = required(r, item, fields, 'src');
    const dstAt = required(r, item, fields, 'dst');
    const src = srcAt && checkedSrc(r, srcAt);
    const dst = dstAt && checkedDst(r, dstAt);
    if (dst !== undefined && dstAt !== undefined) {
      const first = seen.get(dst);
      if (first !== undefined) r.problem(dstAt, `"${dst}" is already the dst of another file (line ${r.issues.lineOf(first)})`);
      else seen.set(dst, dstAt.at);
    }
    const modeAt = fields.get('mode');
    const uidAt = fields.get('uid');
    const gidAt = fields.get('gid');
    const elfAt = fields.get('check-elf');
    const mode = modeAt === undefined ? DEFAULT_FILE_MODE : readMode(r, modeAt);
    const uid = uidAt === undefined ? 0 : r.integer(uidAt, 0, MAX_ID);
    const gid = gidAt === undefined ? 0 : r.integer(gidAt, 0, MAX_ID);
    const checkElf = elfAt === undefined ? true : r.boolean(elfAt);
    if (src === undefined || dst === undefined || mode === undefined || uid === undefined || gid === undefined || checkElf === undefined)
      continue;
    out.push({ src: resolve(baseDir, src), dst, mode, uid, gid, checkElf });
  }
  return out;
}

/** A permission mode: octal digits as a string or number (`"0755"`, `0755`, `644`, `0o644`), up to 07777. */
export function parseMode(text: string): number | undefined {
  const m = /^(?:0o|0)?([0-7]{1,4})$/.exec(text);
  return m === null ? undefined : parseInt(m[1]!, 8);
}

/** A `mode:` value (see parseMode), or undefined with the problem recorded. */
export function readMode(r: YamlReader, value: Located): number | undefined {
  const text = r.numberSource(value) ?? (r.isScalarOf(value, 'string') ? r.string(value) : undefined);
  if (text === undefined) {
    r.problem(value, 'must be an octal mode such as "0755"');
    return undefined;
  }
  const mode = parseMode(text);
  if (mode === undefined) r.problem(value, `"${text}" is not an octal mode`, 'write octal digits, at most 07777, e.g. "0644"');
  return mode;
}

function required(r: YamlReader, parent: Located, fields: Map<string, Located>, key: string): Located | undefined {
  const value = fields.get(key);
  if (value === undefined) r.problem(parent, `missing required key "${key}"`);
  return value;
}

function checkedSrc(r: YamlReader, value: Located): string | undefined {
  const src = r.string(value);
  if (src === undefined) return undefined;
  if (src === '') {
    r.problem(value, 'must not be empty');
    return undefined;
  }
  let ok = true;
  for (const [, name] of src.matchAll(/\{([^{}]*)\}/g)) {
    if (!(FILE_PLACEHOLDERS as readonly string[]).includes(name!)) {
      const known = FILE_PLACEHOLDERS.map((p) => `{${p}}`).join(' ');
      r.problem(value, `unknown placeholder "{${name}}"${didYouMean(name!, FILE_PLACEHOLDERS)}`, `known placeholders: ${known}`);
      ok = false;
    }
  }
  if (/[{}]/.test(src.replace(/\{[^{}]*\}/g, ''))) {
    r.problem(value, `unbalanced brace in "${src}"`);
    ok = false;
  }
  return ok ? src : undefined;
}

function checkedDst(r: YamlReader, value: Located): string | undefined {
  const dst = r.string(value);
  if (dst === undefined) return undefined;
  if (!dst.startsWith('/') || dst === '/' || posix.normalize(dst) !== dst || dst.endsWith('/')) {
    r.problem(value, `"${dst}" must be a normalized absolute file path`, 'write it like /usr/local/bin/app');
    return undefined;
  }
  if (/[{}]/.test(dst)) {
    r.problem(value, `"${dst}" contains a brace; placeholders are expanded in src only`);
    return undefined;
  }
  return dst;
}
