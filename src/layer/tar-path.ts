import { AlbaError } from '../errors.js';

/** Directory modes alba gives the directories it adds itself. */
export const DIR_MODE = 0o755;

/**
 * Normalises a tar entry name to layer form: relative, without `./`, without empty or `.`
 * components; directories end with `/`. Returns '' for the root directory itself.
 * A name that is absolute (after removing a leading `./`) or has a `..` component could
 * write outside the root: DEB_UNSAFE_ENTRY naming `what`.
 */
export function normaliseEntryPath(name: string, isDirectory: boolean, what: string): string {
  const stripped = name.startsWith('./') ? name.slice(2) : name === '.' ? '' : name;
  if (stripped.startsWith('/')) throw unsafe(what, name, 'is an absolute path');
  const parts = stripped.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw unsafe(what, name, 'has a ".." component');
  if (parts.length === 0) return '';
  const path = parts.join('/');
  return isDirectory ? `${path}/` : path;
}

/** The directories above `path` (a normalised layer path), outermost first, each ending with `/`. */
export function parentDirs(path: string): string[] {
  const parts = path.replace(/\/$/, '').split('/');
  const dirs: string[] = [];
  for (let i = 1; i < parts.length; i++) dirs.push(`${parts.slice(0, i).join('/')}/`);
  return dirs;
}

/** The error for an archive entry alba refuses to put into a layer. */
export function unsafe(what: string, name: string, why: string): AlbaError {
  return new AlbaError('DEB_UNSAFE_ENTRY', `${what}: refusing entry ${JSON.stringify(name)}: it ${why}`, {
    hint: 'a Debian package never contains such an entry; the file is corrupt or hostile — check where it came from',
  });
}
