import { posix } from 'node:path';
import { didYouMean } from './suggest.js';
import type { FileSpec, PathSpec, PathType } from './types.js';
import { readMode } from './validate-files.js';
import type { Located, YamlReader } from './yaml-reader.js';

/** The kinds of `paths:` entries. */
export const PATH_TYPES: readonly PathType[] = ['directory', 'empty-file', 'symlink', 'hardlink', 'permissions'];
const PATH_KEYS = ['type', 'path', 'target', 'mode', 'uid', 'gid'];
const MAX_ID = 2 ** 31 - 1;
/** Modes when the entry gives none (links are 0777 in a tar, whatever is asked). */
const DEFAULT_MODE: Record<PathType, number> = {
  directory: 0o755,
  'empty-file': 0o644,
  symlink: 0o777,
  hardlink: 0o644,
  permissions: 0o755,
};

/**
 * Validates `paths:` (apko's field): `type` one of PATH_TYPES, `path` an absolute normalized
 * path, `target` for links only (a hardlink's target must be a file the recipe places: a
 * `files:` dst or an `empty-file`), `mode` (not for links), `uid`, `gid`. Paths are unique, and
 * none is also a `files:` dst.
 */
export function readPaths(r: YamlReader, value: Located, files: readonly FileSpec[]): PathSpec[] {
  const out: PathSpec[] = [];
  const seen = new Map<string, number>();
  const hardlinks: { spec: PathSpec; at: Located }[] = [];
  for (const item of r.list(value) ?? []) {
    const fields = r.map(item, PATH_KEYS);
    if (fields === undefined) continue;
    const typeAt = fields.get('type');
    const pathAt = fields.get('path');
    if (typeAt === undefined) r.problem(item, 'missing required key "type"', `one of ${PATH_TYPES.join(', ')}`);
    if (pathAt === undefined) r.problem(item, 'missing required key "path"');
    const typeText = typeAt === undefined ? undefined : r.string(typeAt);
    const type = PATH_TYPES.find((t) => t === typeText);
    if (typeAt !== undefined && typeText !== undefined && type === undefined)
      r.problem(typeAt, `unknown type "${typeText}"${didYouMean(typeText, PATH_TYPES)}`, `one of ${PATH_TYPES.join(', ')}`);
    const path = pathAt === undefined ? undefined : imagePath(r, pathAt);
    if (path !== undefined && pathAt !== undefined) {
      const first = seen.get(path);
      if (first !== undefined) r.problem(pathAt, `"${path}" is already in paths (line ${r.issues.lineOf(first)})`);
      else if (files.some((f) => f.dst === path))
        r.problem(pathAt, `"${path}" is also the dst of a file`, 'a path is either a file of files: or an entry of paths:');
      else seen.set(path, pathAt.at);
    }
    const link = type === 'symlink' || type === 'hardlink';
    const targetAt = fields.get('target');
    if (type !== undefined && link && targetAt === undefined) r.problem(item, `missing required key "target" for a ${type}`);
    if (type !== undefined && !link && targetAt !== undefined) r.problem(targetAt, `only links have a target, not a ${type}`);
    const target = targetAt === undefined || !link ? undefined : type === 'hardlink' ? imagePath(r, targetAt) : nonEmpty(r, targetAt);
    const modeAt = fields.get('mode');
    if (link && modeAt !== undefined) r.problem(modeAt, `a ${type} has no mode of its own`);
    const mode = modeAt === undefined || link ? (type === undefined ? undefined : DEFAULT_MODE[type]) : readMode(r, modeAt);
    const uidAt = fields.get('uid');
    const gidAt = fields.get('gid');
    const uid = uidAt === undefined ? 0 : r.integer(uidAt, 0, MAX_ID);
    const gid = gidAt === undefined ? 0 : r.integer(gidAt, 0, MAX_ID);
    if (
      type === undefined ||
      path === undefined ||
      mode === undefined ||
      uid === undefined ||
      gid === undefined ||
      (link && target === undefined)
    )
      continue;
    const spec: PathSpec = { type, path, mode, uid, gid, ...(target === undefined ? {} : { target }) };
    if (type === 'hardlink' && targetAt !== undefined) hardlinks.push({ spec, at: targetAt });
    out.push(spec);
  }
  const placed = new Set([...files.map((f) => f.dst), ...out.filter((p) => p.type === 'empty-file').map((p) => p.path)]);
  for (const { spec, at } of hardlinks) {
    if (!placed.has(spec.target!))
      r.problem(
        at,
        `"${spec.target}" is not a file this recipe places`,
        'a hard link must point at a files: dst or an empty-file of paths: (OCI layers cannot link into other layers)',
      );
  }
  return out;
}

function imagePath(r: YamlReader, value: Located): string | undefined {
  const text = r.string(value);
  if (text === undefined) return undefined;
  const path = text.length > 1 ? text.replace(/\/$/, '') : text;
  if (!path.startsWith('/') || path === '/' || posix.normalize(path) !== path) {
    r.problem(value, `"${text}" must be a normalized absolute path`, 'write it like /var/cache/app');
    return undefined;
  }
  return path;
}

function nonEmpty(r: YamlReader, value: Located): string | undefined {
  const text = r.string(value);
  if (text === '') r.problem(value, 'must not be empty');
  return text === '' ? undefined : text;
}
