/**
 * The base layer's content, as a pure plan (written by base-layer.ts). Distroless layout:
 * - etc/passwd, etc/group from the recipe's accounts (`name:x:uid:gid:name:home:shell`,
 *   `name:x:gid:member,member`), etc/nsswitch.conf (files-only lookups, dns for hosts),
 *   etc/ssl/certs/ca-certificates.crt when a CA bundle is given, the recipe's additional CA
 *   files in usr/local/share/ca-certificates/; all 0644.
 * - tmp/ 1777, root/ 0700, and a 0700 home for every user whose home is not `/` or
 *   `/nonexistent`, owned by that user (distroless: /home/nonroot 0700 65532:65532);
 *   the directories above homes are 0755 root.
 * Everything else is owned by 0:0. Entries are sorted by path, so parents come first.
 */
import type { GroupAccount, UserAccount } from '../recipe/types.js';
import { DIR_MODE, normaliseEntryPath, parentDirs } from './tar-path.js';
import { recipeProblem } from '../recipe/issues.js';

/** One entry of a generated layer; mtime is the build's sourceDateEpoch. */
export interface PlannedEntry {
  path: string;
  type: 'file' | 'directory';
  mode: number;
  uid: number;
  gid: number;
  content?: string;
}

/** What the base layer is made from. */
export interface BaseFilesInput {
  users: readonly UserAccount[];
  groups: readonly GroupAccount[];
  /** The CA bundle text (see ca-bundle.ts); no certificate file when undefined. */
  caBundle?: string;
  /** The recipe's additional CA files (additional-cas.ts): layer path and text, 0644. */
  localCas?: readonly { path: string; text: string }[];
}

/** Where the CA bundle goes (the path OpenSSL, Go and distroless's SSL_CERT_FILE use). */
export const CA_BUNDLE_PATH = 'etc/ssl/certs/ca-certificates.crt';

/** nsswitch.conf of the image: only files (and DNS for hosts); no NIS/db modules exist there. */
export const NSSWITCH_CONF = `passwd:         files
group:          files
shadow:         files
gshadow:        files

hosts:          files dns
networks:       files

protocols:      files
services:       files
ethers:         files
rpc:            files
`;

const NO_HOME = new Set(['/', '/nonexistent']);

/** /etc/passwd text: one line per user, in the order given (the gecos field is the user name). */
export function passwdText(users: readonly UserAccount[]): string {
  return users.map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.name}:${u.home}:${u.shell}\n`).join('');
}

/** /etc/group text: one line per group, in the order given. */
export function groupText(groups: readonly GroupAccount[]): string {
  return groups.map((g) => `${g.name}:x:${g.gid}:${g.members.join(',')}\n`).join('');
}

/** Every entry of the base layer, sorted by path. */
export function planBaseFiles(input: BaseFilesInput): PlannedEntry[] {
  const byPath = new Map<string, PlannedEntry>();
  const add = (entry: PlannedEntry): void => {
    for (const dir of parentDirs(entry.path)) {
      if (!byPath.has(dir)) byPath.set(dir, { path: dir, type: 'directory', mode: DIR_MODE, uid: 0, gid: 0 });
    }
    if (!byPath.has(entry.path)) byPath.set(entry.path, entry);
  };
  const file = (path: string, content: string): PlannedEntry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, content });
  add(file('etc/passwd', passwdText(input.users)));
  add(file('etc/group', groupText(input.groups)));
  add(file('etc/nsswitch.conf', NSSWITCH_CONF));
  if (input.caBundle !== undefined) add(file(CA_BUNDLE_PATH, input.caBundle));
  for (const ca of input.localCas ?? []) add(file(ca.path, ca.text));
  add({ path: 'tmp/', type: 'directory', mode: 0o1777, uid: 0, gid: 0 });
  add({ path: 'root/', type: 'directory', mode: 0o700, uid: 0, gid: 0 });
  for (const user of input.users) {
    if (NO_HOME.has(user.home)) continue;
    const path = homePath(user);
    if (path !== '') add({ path, type: 'directory', mode: 0o700, uid: user.uid, gid: user.gid });
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function homePath(user: UserAccount): string {
  if (user.home.startsWith('/') && !user.home.split('/').includes('..')) return normaliseEntryPath(`.${user.home}`, true, user.name);
  throw recipeProblem(
    `user ${user.name}: home ${JSON.stringify(user.home)} is not an absolute path without ".."`,
    'write the home directory as an absolute path, e.g. /home/app',
  );
}
