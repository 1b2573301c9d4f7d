import type { GroupAccount, UserAccount } from './types.js';
import { DEFAULT_GROUPS, DEFAULT_SHELL, DEFAULT_USERS, defaultHome } from './default-accounts.js';
import { Unique } from './unique.js';
import type { Located, YamlReader } from './yaml-reader.js';

/** Pattern of a user or group name. */
const ACCOUNT_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

const MAX_ID = 2 ** 31 - 1;

/** Validates `accounts:`; a `users` or `groups` list replaces the matching default list. */
export function readAccounts(r: YamlReader, value: Located | undefined): { users: UserAccount[]; groups: GroupAccount[] } {
  const fields = value === undefined ? undefined : r.map(value, ['users', 'groups']);
  const usersAt = fields?.get('users');
  const groupsAt = fields?.get('groups');
  const users = usersAt === undefined ? DEFAULT_USERS.map((u) => ({ ...u })) : readUsers(r, usersAt);
  const groups = groupsAt === undefined ? DEFAULT_GROUPS.map((g) => ({ ...g, members: [] })) : readGroups(r, groupsAt, users);
  return { users, groups };
}

function readUsers(r: YamlReader, value: Located): UserAccount[] {
  const out: UserAccount[] = [];
  const names = new Unique(r, 'user name');
  const ids = new Unique(r, 'uid');
  for (const item of r.list(value) ?? []) {
    const fields = r.map(item, ['name', 'uid', 'gid', 'home', 'shell']);
    if (fields === undefined) continue;
    const name = accountName(r, item, fields.get('name'));
    const uid = idField(r, item, fields.get('uid'), 'uid');
    const gidAt = fields.get('gid');
    const gid = gidAt === undefined ? uid : r.integer(gidAt, 0, MAX_ID);
    const homeAt = fields.get('home');
    const shellAt = fields.get('shell');
    const home = homeAt === undefined ? undefined : r.absolutePath(homeAt);
    const shell = shellAt === undefined ? DEFAULT_SHELL : r.absolutePath(shellAt);
    if (name !== undefined) names.check(name, fields.get('name')!);
    if (uid !== undefined) ids.check(uid, fields.get('uid')!);
    if (name === undefined || uid === undefined || gid === undefined || shell === undefined) continue;
    if (homeAt !== undefined && home === undefined) continue;
    out.push({ name, uid, gid, home: home ?? defaultHome(name, uid), shell });
  }
  return out;
}

function readGroups(r: YamlReader, value: Located, users: readonly UserAccount[]): GroupAccount[] {
  const out: GroupAccount[] = [];
  const names = new Unique(r, 'group name');
  const ids = new Unique(r, 'gid');
  for (const item of r.list(value) ?? []) {
    const fields = r.map(item, ['name', 'gid', 'members']);
    if (fields === undefined) continue;
    const name = accountName(r, item, fields.get('name'));
    const gid = idField(r, item, fields.get('gid'), 'gid');
    if (name !== undefined) names.check(name, fields.get('name')!);
    if (gid !== undefined) ids.check(gid, fields.get('gid')!);
    const membersAt = fields.get('members');
    const members = membersAt === undefined ? [] : r.stringList(membersAt);
    for (const member of members ?? []) {
      if (!users.some((u) => u.name === member.value)) r.problem(member.at, `"${member.value}" is not a user of accounts.users`);
    }
    if (name === undefined || gid === undefined || members === undefined) continue;
    out.push({ name, gid, members: members.map((m) => m.value) });
  }
  return out;
}

function accountName(r: YamlReader, parent: Located, value: Located | undefined): string | undefined {
  if (value === undefined) {
    r.problem(parent, 'missing required key "name"');
    return undefined;
  }
  const name = r.string(value);
  if (name !== undefined && !ACCOUNT_NAME.test(name)) {
    r.problem(
      value,
      `"${name}" is not a valid account name`,
      'lowercase letters, digits, _ and -, starting with a letter or _, at most 32',
    );
    return undefined;
  }
  return name;
}

function idField(r: YamlReader, parent: Located, value: Located | undefined, key: string): number | undefined {
  if (value === undefined) {
    r.problem(parent, `missing required key "${key}"`);
    return undefined;
  }
  return r.integer(value, 0, MAX_ID);
}
