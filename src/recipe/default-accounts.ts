import type { GroupAccount, UserAccount } from './types.js';

/** Login shell of every default account: nobody logs in to a distroless image. */
export const DEFAULT_SHELL = '/sbin/nologin';

/** The distroless users, in distroless's order: root, nobody (65534), nonroot (65532). */
export const DEFAULT_USERS: readonly UserAccount[] = [
  { name: 'root', uid: 0, gid: 0, home: '/root', shell: DEFAULT_SHELL },
  { name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent', shell: DEFAULT_SHELL },
  { name: 'nonroot', uid: 65532, gid: 65532, home: '/home/nonroot', shell: DEFAULT_SHELL },
];

/**
 * The distroless groups: root, tty (5), staff (50: the group of /var/local and /usr/local in
 * base-files), nobody, nonroot.
 */
export const DEFAULT_GROUPS: readonly GroupAccount[] = [
  { name: 'root', gid: 0, members: [] },
  { name: 'tty', gid: 5, members: [] },
  { name: 'staff', gid: 50, members: [] },
  { name: 'nobody', gid: 65534, members: [] },
  { name: 'nonroot', gid: 65532, members: [] },
];

/** Home directory of a user the recipe does not give one: /root for uid 0, else /home/<name>. */
export function defaultHome(name: string, uid: number): string {
  return uid === 0 ? '/root' : `/home/${name}`;
}
