import type { GroupAccount, Recipe, UserAccount } from './types.js';
import type { Located, YamlReader } from './yaml-reader.js';

/** The image-config part of a recipe (what becomes the OCI image config). */
export type ImageConfigFields = Pick<
  Recipe,
  'runAs' | 'entrypoint' | 'cmd' | 'env' | 'workdir' | 'labels' | 'annotations' | 'stopSignal' | 'sourceDateEpoch'
>;

/** Latest time a source-date-epoch may name: 9999-12-31T23:59:59Z. */
const MAX_EPOCH = 253402300799;
/** The largest uid or gid of `run-as`, as of `files:` and `accounts:`. */
const MAX_ID = 2 ** 31 - 1;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SIGNAL = /^(SIG[A-Z0-9]+([+-][0-9]+)?|[1-9][0-9]?)$/;
const USER_PART = /^([a-z_][a-z0-9_-]*|[0-9]+)$/;

/** Validates run-as, entrypoint, cmd, env, workdir, labels, annotations, stop-signal, source-date-epoch. */
export function readImageConfig(
  r: YamlReader,
  fields: Map<string, Located>,
  accounts: { users: readonly UserAccount[]; groups: readonly GroupAccount[] },
): ImageConfigFields {
  const out: ImageConfigFields = { env: {}, labels: {}, annotations: {} };
  const at = (key: string): Located | undefined => fields.get(key);
  const runAs = at('run-as');
  if (runAs !== undefined) setIf(out, 'runAs', readRunAs(r, runAs, accounts));
  for (const key of ['entrypoint', 'cmd'] as const) {
    const value = at(key);
    if (value !== undefined)
      setIf(
        out,
        key,
        r.stringList(value)?.map((i) => i.value),
      );
  }
  const env = at('env');
  if (env !== undefined) {
    out.env =
      r.stringMap(env, (name, where) => {
        if (!ENV_NAME.test(name)) r.problem(where, `"${name}" is not a valid environment variable name`);
      }) ?? {};
  }
  const workdir = at('workdir');
  if (workdir !== undefined) setIf(out, 'workdir', r.absolutePath(workdir));
  for (const key of ['labels', 'annotations'] as const) {
    const value = at(key);
    if (value !== undefined) {
      out[key] =
        r.stringMap(value, (name, where) => {
          if (name === '') r.problem(where, 'keys must not be empty');
        }) ?? {};
    }
  }
  const signal = at('stop-signal');
  if (signal !== undefined) setIf(out, 'stopSignal', readSignal(r, signal));
  const epoch = at('source-date-epoch');
  if (epoch !== undefined) setIf(out, 'sourceDateEpoch', r.integer(epoch, 0, MAX_EPOCH));
  return out;
}

function setIf<K extends keyof ImageConfigFields>(out: ImageConfigFields, key: K, value: ImageConfigFields[K] | undefined): void {
  if (value !== undefined) out[key] = value;
}

function readRunAs(
  r: YamlReader,
  value: Located,
  accounts: { users: readonly UserAccount[]; groups: readonly GroupAccount[] },
): string | undefined {
  const text = r.text(value);
  if (text === undefined) return undefined;
  const [user, group, ...rest] = text.split(':');
  if (rest.length > 0 || !USER_PART.test(user!) || (group !== undefined && !USER_PART.test(group))) {
    r.problem(value, `"${text}" is not a user name or uid[:gid]`, 'e.g. nonroot, 65532 or 65532:65532');
    return undefined;
  }
  let ok = true;
  // as files: and accounts: ids, at most 2^31-1 (what every runtime and tar take)
  for (const [part, id] of [
    ['uid', user!],
    ['gid', group],
  ] as const) {
    if (id !== undefined && /^[0-9]+$/.test(id) && Number(id) > MAX_ID) {
      r.problem(value, `${part} ${id} is out of range 0..${MAX_ID}`, 'e.g. nonroot, 65532 or 65532:65532');
      ok = false;
    }
  }
  if (!/^[0-9]+$/.test(user!) && !accounts.users.some((u) => u.name === user)) {
    r.problem(
      value,
      `user "${user}" is not in accounts.users`,
      `known users: ${[...new Set(accounts.users.map((u) => u.name))].join(', ')}`,
    );
    ok = false;
  }
  if (group !== undefined && !/^[0-9]+$/.test(group) && !accounts.groups.some((g) => g.name === group)) {
    r.problem(
      value,
      `group "${group}" is not in accounts.groups`,
      `known groups: ${[...new Set(accounts.groups.map((g) => g.name))].join(', ')}`,
    );
    ok = false;
  }
  return ok ? text : undefined;
}

function readSignal(r: YamlReader, value: Located): string | undefined {
  const text = r.text(value);
  if (text !== undefined && !SIGNAL.test(text)) {
    r.problem(value, `"${text}" is not a signal`, 'write a name such as SIGTERM or SIGRTMIN+3, or a number 1-64');
    return undefined;
  }
  if (text !== undefined && /^[0-9]+$/.test(text) && Number(text) > 64) {
    r.problem(value, `signal ${text} is out of range 1..64`);
    return undefined;
  }
  return text;
}
