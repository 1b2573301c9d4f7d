import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { RecipeInvalidError } from '../../src/recipe/issues.js';
import { checkRecipe, parseRecipe } from '../../src/recipe/parse.js';

/** A valid recipe of five lines; cases append lines from line 6 on. */
const BASE = 'name: test/app\narchs: [amd64]\nsnapshot: 20250520T000000Z\ndist: bookworm\npackages: [libc6]\n';

/** Every issue as `line:col: message (hint)`. */
function issuesOf(text: string): string[] {
  return checkRecipe(text, 'r.yaml', '/recipes').issues.map(
    (i) => `${i.line}:${i.col}: ${i.message}${i.hint === undefined ? '' : ` (${i.hint})`}`,
  );
}

const cases: Array<{ name: string; text: string; expect: string[] }> = [
  { name: 'unknown key with suggestion', text: `${BASE}packges: [x]\n`, expect: ['6:1: unknown key "packges" — did you mean "packages"?'] },
  {
    name: 'unknown key, camelCase of a kebab key',
    text: `${BASE}runAs: nonroot\n`,
    expect: ['6:1: unknown key "runAs" — did you mean "run-as"?'],
  },
  { name: 'unknown key without suggestion', text: `${BASE}zzzzzz: 1\n`, expect: ['6:1: unknown key "zzzzzz"'] },
  {
    name: 'unknown nested key',
    text: `${BASE}files:\n  - {src: a, dts: /a}\n`,
    expect: ['7:5: files[0]: missing required key "dst"', '7:14: unknown key "dts" in files[0] — did you mean "dst"?'],
  },
  {
    name: 'missing required keys',
    text: 'tag: x\n',
    expect: [
      '1:1: missing required key "name"',
      '1:1: missing required key "archs"',
      '1:1: missing required key "packages"',
      '1:1: no sources: the recipe has neither snapshot + dist nor sources',
    ],
  },
  { name: 'not a map', text: '- a\n- b\n', expect: ['1:1: recipe: must be a map, got a list'] },
  { name: 'non-string key', text: `${BASE}1: x\n`, expect: ['6:1: recipe: keys must be strings, got the number 1'] },
  { name: 'empty file', text: '', expect: ['1:1: the recipe is empty'] },
  {
    name: 'syntax error',
    text: 'name: [a\nb: c\n',
    expect: ['2:1: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  },
  { name: 'duplicate yaml key', text: `${BASE}name: other/app\n`, expect: ['6:1: Map keys must be unique'] },
  { name: 'unknown alias', text: `${BASE}cmd: *nope\n`, expect: ['6:1: cmd: must be a list, got nothing', '6:6: unknown alias *nope'] },
  { name: 'bad name', text: BASE.replace('test/app', 'Test/App'), expect: ['1:7: name: "Test/App" is not a repository name'] },
  { name: 'name of wrong type', text: BASE.replace('test/app', '[a]'), expect: ['1:7: name: must be a string, got a list'] },
  { name: 'bad tag', text: `${BASE}tag: -x\n`, expect: ['6:6: tag: "-x" is not a tag'] },
  {
    name: 'unknown arch',
    text: BASE.replace('[amd64]', '[amd64, amd46, sparc]'),
    expect: ['2:16: archs[1]: unknown arch "amd46" — did you mean "amd64"?', '2:23: archs[2]: unknown arch "sparc"'],
  },
  { name: 'empty archs', text: BASE.replace('[amd64]', '[]'), expect: ['2:8: archs: must list at least one arch'] },
  {
    name: 'bad snapshot format',
    text: BASE.replace('20250520T000000Z', '2025-05-20'),
    expect: ['3:11: snapshot: "2025-05-20" is not a snapshot timestamp of the form YYYYMMDDTHHMMSSZ'],
  },
  {
    name: 'snapshot not a real date',
    text: BASE.replace('20250520T000000Z', '20250231T000000Z'),
    expect: ['3:11: snapshot: "20250231T000000Z" is not a real date and time'],
  },
  {
    name: 'snapshot before the first',
    text: BASE.replace('20250520T000000Z', '20010101T000000Z'),
    expect: ['3:11: snapshot: "20010101T000000Z" is before the first snapshot'],
  },
  {
    name: 'dist without snapshot',
    text: 'name: a\narchs: [amd64]\ndist: bookworm\npackages: [xx]\nsources: [{url: "https://ftp.example.org/debian", suites: [bookworm]}]\n',
    expect: ['3:7: dist: dist needs snapshot (add snapshot: YYYYMMDDTHHMMSSZ'],
  },
  { name: 'snapshot without dist', text: BASE.replace('dist: bookworm\n', ''), expect: ['3:11: snapshot: snapshot needs dist'] },
  {
    name: 'no sources',
    text: 'name: a\narchs: [amd64]\npackages: [xx]\n',
    expect: ['1:1: no sources: the recipe has neither snapshot + dist nor sources'],
  },
  {
    name: 'bad source',
    text: `${BASE}sources:\n  - {url: "ftp://x/debian", suites: [], components: [main, main]}\n  - url: https://a/b\n`,
    expect: [
      '7:11: sources[0].url: "ftp://x/debian" must be an http or https URL',
      '7:37: sources[0].suites: must list at least one suite',
      '7:60: sources[0].components[1]: duplicate component "main" (first at line 7)',
      '8:5: sources[1]: missing required key "suites"',
    ],
  },
  {
    name: 'source duplicating the snapshot',
    text: `${BASE}sources: [{url: "https://snapshot.debian.org/archive/debian/20250520T000000Z/", suites: [bookworm]}]\n`,
    expect: [
      '6:17: sources[0].url: "https://snapshot.debian.org/archive/debian/20250520T000000Z" is already a source through snapshot + dist',
    ],
  },
  {
    name: 'package problems',
    text: BASE.replace('[libc6]', '[libc6, "libc6=2.36", "a b", "xx=1.0", "yy=abc", "zz (>= 1)"]'),
    expect: [
      '5:19: packages[1]: duplicate package "libc6" (first at line 5)',
      '5:33: packages[2]: "a b" is not a package spec',
      '5:50: packages[4]: "yy=abc" is not a package spec',
      '5:60: packages[5]: "zz (>= 1)" is not a package spec',
    ],
  },
  { name: 'empty packages', text: BASE.replace('[libc6]', '[]'), expect: ['5:11: packages: must list at least one package'] },
  {
    name: 'packages as a string',
    text: BASE.replace('[libc6]', 'libc6'),
    expect: ['5:11: packages: must be a list of strings, got a string'],
  },
  {
    name: 'bad resolve',
    text: `${BASE}resolve: explict\n`,
    expect: ['6:10: resolve: unknown mode "explict" — did you mean "explicit"? (use dependencies or explicit)'],
  },
  {
    name: 'bad exclude',
    text: `${BASE}exclude: [libc6, Bad, debconf, debconf]\n`,
    expect: [
      '6:11: exclude[0]: "libc6" is both in packages and in exclude',
      '6:18: exclude[1]: "Bad" is not a package name',
      '6:32: exclude[3]: duplicate excluded package "debconf"',
    ],
  },
  { name: 'empty keyring', text: `${BASE}keyring: []\n`, expect: ['6:10: keyring: must list at least one keyring'] },
  {
    name: 'file problems',
    text: `${BASE}files:\n  - {src: "bin/{archh}/a}", dst: "usr/a", mode: "0799", uid: -1, check-elf: "no"}\n  - {src: a, dst: /b/../a, mode: 99999}\n`,
    expect: [
      '7:11: files[0].src: unknown placeholder "{archh}" — did you mean "arch"?',
      '7:11: files[0].src: unbalanced brace in "bin/{archh}/a}"',
      '7:34: files[0].dst: "usr/a" must be a normalized absolute file path',
      '7:49: files[0].mode: "0799" is not an octal mode',
      '7:62: files[0].uid: -1 is out of range 0..2147483647',
      '7:77: files[0].check-elf: must be true or false, got the string "no"',
      '8:19: files[1].dst: "/b/../a" must be a normalized absolute file path',
      '8:34: files[1].mode: "99999" is not an octal mode',
    ],
  },
  {
    name: 'duplicate file dst and placeholder in dst',
    text: `${BASE}files:\n  - {src: a, dst: /a}\n  - {src: b, dst: /a}\n  - {src: c, dst: "/{arch}"}\n`,
    expect: ['8:19: files[1].dst: "/a" is already the dst of another file (line 7)', '9:19: files[2].dst: "/{arch}" contains a brace'],
  },
  {
    name: 'account problems',
    text: `${BASE}accounts:\n  users:\n    - {name: app, uid: 10}\n    - {name: app, uid: 10, home: rel}\n    - {uid: 11}\n  groups:\n    - {name: g, gid: 5, members: [app, ghost]}\n    - {name: g, gid: 5}\n    - {name: "Bad!", gid: 6}\n`,
    expect: [
      '9:14: accounts.users[1].name: duplicate user name "app" (first at line 8)',
      '9:24: accounts.users[1].uid: duplicate uid 10 (first at line 8)',
      '9:34: accounts.users[1].home: "rel" must be an absolute path',
      '10:7: accounts.users[2]: missing required key "name"',
      '12:40: accounts.groups[0].members[1]: "ghost" is not a user of accounts.users',
      '13:14: accounts.groups[1].name: duplicate group name "g" (first at line 12)',
      '13:22: accounts.groups[1].gid: duplicate gid 5 (first at line 12)',
      '14:14: accounts.groups[2].name: "Bad!" is not a valid account name',
    ],
  },
  {
    name: 'run-as of an unknown user',
    text: `${BASE}run-as: app\n`,
    expect: ['6:9: run-as: user "app" is not in accounts.users (known users: root, nobody, nonroot)'],
  },
  {
    name: 'run-as of an unknown group',
    text: `${BASE}run-as: "nonroot:wheel"\n`,
    expect: ['6:9: run-as: group "wheel" is not in accounts.groups'],
  },
  { name: 'run-as malformed', text: `${BASE}run-as: "a:b:c"\n`, expect: ['6:9: run-as: "a:b:c" is not a user name or uid[:gid]'] },
  {
    name: 'run-as uid or gid beyond 2^31-1, as files: ids',
    text: `${BASE}run-as: "4294967296:1"\n`,
    expect: ['6:9: run-as: uid 4294967296 is out of range 0..2147483647'],
  },
  {
    name: 'run-as gid beyond 2^31-1',
    text: `${BASE}run-as: "1:2147483648"\n`,
    expect: ['6:9: run-as: gid 2147483648 is out of range 0..2147483647'],
  },
  {
    name: 'a NUL character in workdir, cmd, env, labels (key and value), annotations, a files dst, a keyring: each at its place',
    text: `${BASE}workdir: "/\\u0000"\ncmd: [a, "b\\0c"]\nenv: {A: "x\\0"}\nlabels: {"k\\0": v, k: "v\\0"}\nannotations: {a: "\\0"}\nfiles: [{src: a, dst: "/x\\0"}]\nkeyring: ["\\0"]\n`,
    expect: [
      '6:10: workdir: "/\\u0000" holds a NUL character (\\0) (remove it: no path, argument, variable, label or annotation of an image may hold one)',
      '7:10: cmd[1]: "b\\u0000c" holds a NUL character',
      '8:10: env.A: "x\\u0000" holds a NUL character',
      '9:10: labels key: "k\\u0000" holds a NUL character',
      '9:23: labels.k: "v\\u0000" holds a NUL character',
      '10:18: annotations.a: "\\u0000" holds a NUL character',
      '11:23: files[0].dst: "/x\\u0000" holds a NUL character',
      '12:11: keyring[0]: "\\u0000" holds a NUL character',
    ],
  },
  {
    name: 'a NUL character another check refuses is reported once',
    text: `${BASE}stop-signal: "SIG\\0"\n`,
    expect: ['6:14: stop-signal: "SIG'],
  },
  {
    name: 'cmd as a string',
    text: `${BASE}cmd: /bin/app --serve\n`,
    expect: ['6:6: cmd: must be a list of strings, got a string (write one item per argument: ["/bin/app","--serve"])'],
  },
  {
    name: 'entrypoint with a non-string',
    text: `${BASE}entrypoint: [/bin/app, [x]]\n`,
    expect: ['6:24: entrypoint[1]: must be a string, got a list'],
  },
  {
    name: 'env problems',
    text: `${BASE}env:\n  1BAD: x\n  EMPTY:\n  LIST: [a]\n`,
    expect: [
      '7:3: env.1BAD: "1BAD" is not a valid environment variable name',
      '8:3: env.EMPTY: must be a string, got nothing (write "" for an empty string)',
      '9:9: env.LIST: must be a string, got a list',
    ],
  },
  { name: 'labels not a map', text: `${BASE}labels: [a]\n`, expect: ['6:9: labels: must be a map of strings, got a list'] },
  { name: 'relative workdir', text: `${BASE}workdir: app\n`, expect: ['6:10: workdir: "app" must be an absolute path'] },
  { name: 'bad stop-signal', text: `${BASE}stop-signal: TERM\n`, expect: ['6:14: stop-signal: "TERM" is not a signal'] },
  {
    name: 'stop-signal number out of range',
    text: `${BASE}stop-signal: 99\n`,
    expect: ['6:14: stop-signal: signal 99 is out of range 1..64'],
  },
  {
    name: 'bad source-date-epoch',
    text: `${BASE}source-date-epoch: "1700000000"\n`,
    expect: ['6:20: source-date-epoch: must be an integer, got the string "1700000000"'],
  },
  { name: 'max-layers below 3', text: `${BASE}max-layers: 2\n`, expect: ['6:13: max-layers: 2 is out of range 3..125'] },
  { name: 'max-layers above 125', text: `${BASE}max-layers: 126\n`, expect: ['6:13: max-layers: 126 is out of range 3..125'] },
  { name: 'max-layers not an integer', text: `${BASE}max-layers: 10.5\n`, expect: ['6:13: max-layers: must be an integer'] },
  {
    name: 'paths: unknown type with suggestion, missing path',
    text: `${BASE}paths:\n  - {type: symlnk, target: x}\n`,
    expect: ['7:5: paths[0]: missing required key "path"', '7:12: paths[0].type: unknown type "symlnk" — did you mean "symlink"?'],
  },
  {
    name: 'paths: relative path, link without target, target on a directory',
    text: `${BASE}paths:\n  - {type: directory, path: var/x, target: /y}\n  - {type: symlink, path: /bin/sh}\n`,
    expect: [
      '7:29: paths[0].path: "var/x" must be a normalized absolute path',
      '7:44: paths[0].target: only links have a target, not a directory',
      '8:5: paths[1]: missing required key "target" for a symlink',
    ],
  },
  {
    name: 'paths: a mode on a link, a bad mode, an unknown key',
    text: `${BASE}paths:\n  - {type: symlink, path: /bin/sh, target: busybox, mode: "0755"}\n  - {type: empty-file, path: /etc/x, mode: "0999", size: 1}\n`,
    expect: [
      '7:59: paths[0].mode: a symlink has no mode of its own',
      '8:44: paths[1].mode: "0999" is not an octal mode',
      '8:52: unknown key "size" in paths[1]',
    ],
  },
  {
    name: 'paths: a duplicate path, a path that is a files dst, a hardlink to nothing the recipe places',
    text: `${BASE}files: [{src: a, dst: /usr/bin/app}]\npaths:\n  - {type: empty-file, path: /etc/x}\n  - {type: directory, path: /etc/x}\n  - {type: empty-file, path: /usr/bin/app}\n  - {type: hardlink, path: /usr/bin/b, target: /usr/bin/c}\n`,
    expect: [
      '9:29: paths[1].path: "/etc/x" is already in paths (line 8)',
      '10:30: paths[2].path: "/usr/bin/app" is also the dst of a file',
      '11:48: paths[3].target: "/usr/bin/c" is not a file this recipe places',
    ],
  },
];

for (const c of cases) {
  test(`recipe validation: ${c.name}`, () => {
    const got = issuesOf(c.text);
    assert.equal(got.length, c.expect.length, `expected ${c.expect.length} issues, got:\n${got.join('\n')}`);
    c.expect.forEach((want, i) => assert.ok(got[i]!.startsWith(want), `issue ${i}:\n  got  ${got[i]}\n  want ${want}…`));
  });
}

test('parseRecipe throws one RECIPE_INVALID listing every problem as file:line:col, in file order', () => {
  const text = `${BASE}resolve: explict\npackges: [x]\n`.replace('[amd64]', '[amd46]');
  assert.throws(
    () => parseRecipe(text, 'dir/r.yaml', '/recipes'),
    (err) => {
      assert.ok(isAlbaError(err, 'RECIPE_INVALID'));
      assert.deepEqual(
        err.message.split('\n').map((l) => l.split(': ')[0]),
        ['dir/r.yaml:2:9', 'dir/r.yaml:6:10', 'dir/r.yaml:7:1'],
      );
      assert.match(err.hint ?? '', /3 problems/);
      assert.ok(err instanceof RecipeInvalidError);
      assert.deepEqual(
        err.problems.map((p) => [p.file, p.line, p.col]),
        [
          ['dir/r.yaml', 2, 9],
          ['dir/r.yaml', 6, 10],
          ['dir/r.yaml', 7, 1],
        ],
      );
      assert.match(err.problems[2]?.message ?? '', /^unknown key "packges"/);
      return true;
    },
  );
});

test('a valid recipe has no issues', () => {
  assert.deepEqual(issuesOf(BASE), []);
});

test('paths: every type parses with its defaults; a hardlink may name a files dst or an empty-file', () => {
  const r = parseRecipe(
    `${BASE}files: [{src: a, dst: /usr/bin/app}]\npaths:\n  - {type: directory, path: /var/cache/app/, uid: 65532, gid: 65532, mode: "0770"}\n  - {type: empty-file, path: /etc/app.conf}\n  - {type: symlink, path: /bin/sh, target: busybox}\n  - {type: hardlink, path: /usr/bin/app2, target: /usr/bin/app}\n  - {type: permissions, path: /var/local, gid: 50, mode: "2775"}\n`,
    'r.yaml',
    '/',
  );
  assert.deepEqual(r.paths, [
    { type: 'directory', path: '/var/cache/app', mode: 0o770, uid: 65532, gid: 65532 },
    { type: 'empty-file', path: '/etc/app.conf', mode: 0o644, uid: 0, gid: 0 },
    { type: 'symlink', path: '/bin/sh', target: 'busybox', mode: 0o777, uid: 0, gid: 0 },
    { type: 'hardlink', path: '/usr/bin/app2', target: '/usr/bin/app', mode: 0o644, uid: 0, gid: 0 },
    { type: 'permissions', path: '/var/local', mode: 0o2775, uid: 0, gid: 50 },
  ]);
});
