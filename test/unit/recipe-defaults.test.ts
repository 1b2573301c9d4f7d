import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_GROUPS, DEFAULT_USERS } from '../../src/recipe/default-accounts.js';
import { parseRecipe } from '../../src/recipe/parse.js';
import { expandSnapshot, parseSnapshotUrl } from '../../src/recipe/snapshot.js';
import { parseMode } from '../../src/recipe/validate-files.js';
import { parsePackageSpec } from '../../src/recipe/validate.js';

const BASE = 'name: test/app\narchs: [amd64]\nsnapshot: 20250520T000000Z\ndist: bookworm\npackages: [libc6]\n';
const parse = (text: string) => parseRecipe(text, 'app.yaml', '/recipes/app');

test('defaults of a minimal recipe', () => {
  const r = parse(BASE);
  assert.equal(r.path, '/recipes/app/app.yaml');
  assert.equal(r.tag, 'latest');
  assert.equal(r.resolve, 'dependencies');
  assert.deepEqual(r.keyrings, ['/usr/share/keyrings/debian-archive-keyring.gpg']);
  assert.deepEqual(r.exclude, []);
  assert.deepEqual(r.files, []);
  assert.deepEqual(r.users, DEFAULT_USERS);
  assert.deepEqual(r.groups, DEFAULT_GROUPS);
  assert.deepEqual([r.env, r.labels, r.annotations], [{}, {}, {}]);
  for (const key of ['runAs', 'entrypoint', 'cmd', 'workdir', 'stopSignal', 'sourceDateEpoch'] as const) assert.equal(key in r, false, key);
  assert.equal(r.snapshot, '20250520T000000Z');
  assert.deepEqual(r.packages, [{ name: 'libc6' }]);
  assert.equal(r.maxLayers, 100);
});

test('max-layers is read within 3..125', () => {
  for (const n of [3, 40, 125]) assert.equal(parse(`${BASE}max-layers: ${n}\n`).maxLayers, n);
});

test('default accounts are the distroless ones', () => {
  assert.deepEqual(
    DEFAULT_USERS.map((u) => [u.name, u.uid, u.gid, u.home, u.shell]),
    [
      ['root', 0, 0, '/root', '/sbin/nologin'],
      ['nobody', 65534, 65534, '/nonexistent', '/sbin/nologin'],
      ['nonroot', 65532, 65532, '/home/nonroot', '/sbin/nologin'],
    ],
  );
  assert.deepEqual(
    DEFAULT_GROUPS.map((g) => [g.name, g.gid]),
    [
      ['root', 0],
      ['tty', 5],
      ['staff', 50],
      ['nobody', 65534],
      ['nonroot', 65532],
    ],
  );
});

const expansions: Array<{ dist: string; urls: string[]; suites: string[][] }> = [
  {
    dist: 'bookworm',
    urls: ['https://snapshot.debian.org/archive/debian/T', 'https://snapshot.debian.org/archive/debian-security/T'],
    suites: [['bookworm', 'bookworm-updates'], ['bookworm-security']],
  },
  {
    dist: 'buster',
    urls: ['https://snapshot.debian.org/archive/debian/T', 'https://snapshot.debian.org/archive/debian-security/T'],
    suites: [['buster', 'buster-updates'], ['buster/updates']],
  },
  { dist: 'sid', urls: ['https://snapshot.debian.org/archive/debian/T'], suites: [['sid']] },
];
for (const e of expansions) {
  test(`snapshot expansion of ${e.dist}`, () => {
    const sources = expandSnapshot('T', e.dist);
    assert.deepEqual(
      sources.map((s) => s.url),
      e.urls,
    );
    assert.deepEqual(
      sources.map((s) => s.suites),
      e.suites,
    );
    assert.deepEqual(
      sources.map((s) => s.archive),
      ['debian', 'debian-security'].slice(0, e.urls.length),
    );
    assert.ok(sources.every((s) => s.snapshot && s.components.join() === 'main'));
  });
}

test('explicit sources are appended after the snapshot ones; snapshot URLs among them are recognised', () => {
  const r = parse(`${BASE}sources:
  - url: https://deb.example.org/debian/
    suites: [bookworm]
    components: [main, contrib]
  - url: https://snapshot.debian.org/archive/debian-ports/20250520T000000Z
    suites: [sid]
`);
  assert.deepEqual(r.sources.slice(2), [
    { url: 'https://deb.example.org/debian', suites: ['bookworm'], components: ['main', 'contrib'], snapshot: false },
    {
      url: 'https://snapshot.debian.org/archive/debian-ports/20250520T000000Z',
      suites: ['sid'],
      components: ['main'],
      archive: 'debian-ports',
      snapshot: true,
    },
  ]);
  assert.equal(r.sources.length, 4);
});

test('sources without snapshot: no snapshot field', () => {
  const r = parse('name: a\narchs: [amd64]\npackages: [xx]\nsources: [{url: "http://deb.example.org/debian", suites: [bookworm]}]\n');
  assert.equal(r.snapshot, undefined);
  assert.deepEqual(r.sources, [{ url: 'http://deb.example.org/debian', suites: ['bookworm'], components: ['main'], snapshot: false }]);
});

test('parseSnapshotUrl', () => {
  assert.deepEqual(parseSnapshotUrl('https://snapshot.debian.org/archive/debian/20250520T000000Z/'), {
    archive: 'debian',
    timestamp: '20250520T000000Z',
  });
  assert.equal(parseSnapshotUrl('https://ftp.example.org/debian'), undefined);
  assert.equal(parseSnapshotUrl('https://snapshot.debian.org/archive/debian/latest'), undefined);
});

test('archs accept aliases and numbers, keep order and drop duplicates', () => {
  const r = parse(BASE.replace('[amd64]', '[x86_64, armhf, 386, amd64, linux/arm/v7]'));
  assert.deepEqual(
    r.archs.map((a) => a.name),
    ['amd64', 'arm/v7', '386'],
  );
});

test('every value the recipe can set', () => {
  const r = parse(`${BASE}tag: 1.10
resolve: explicit
exclude: [debconf]
keyring: [keys/a.gpg, /etc/k.gpg]
files:
  - {src: "bin/{os}-{arch}{variant}/app", dst: /usr/bin/app}
  - {src: "/abs/{debarch}.conf", dst: /etc/app.conf, mode: "0644", uid: 65532, gid: 65532, check-elf: false}
  - {src: x, dst: /x, mode: 0600}
  - {src: y, dst: /y, mode: 0o640}
accounts:
  users: [{name: app, uid: 1000}, {name: root, uid: 0, shell: /bin/sh}]
  groups: [{name: app, gid: 1000, members: [app, root]}]
run-as: 1000:1000
entrypoint: [/usr/bin/app]
cmd: [--serve]
env: {PORT: 8080, DEBUG: true, VERSION: 1.10, PATH: /usr/bin}
workdir: /srv
labels: {org.opencontainers.image.source: "https://example.org/app"}
annotations: {a: b}
stop-signal: SIGRTMIN+3
source-date-epoch: 1700000000
`);
  assert.equal(r.tag, '1.10');
  assert.equal(r.resolve, 'explicit');
  assert.deepEqual(r.exclude, ['debconf']);
  assert.deepEqual(r.keyrings, ['/recipes/app/keys/a.gpg', '/etc/k.gpg']);
  assert.deepEqual(r.files, [
    { src: '/recipes/app/bin/{os}-{arch}{variant}/app', dst: '/usr/bin/app', mode: 0o755, uid: 0, gid: 0, checkElf: true },
    { src: '/abs/{debarch}.conf', dst: '/etc/app.conf', mode: 0o644, uid: 65532, gid: 65532, checkElf: false },
    { src: '/recipes/app/x', dst: '/x', mode: 0o600, uid: 0, gid: 0, checkElf: true },
    { src: '/recipes/app/y', dst: '/y', mode: 0o640, uid: 0, gid: 0, checkElf: true },
  ]);
  assert.deepEqual(r.users, [
    { name: 'app', uid: 1000, gid: 1000, home: '/home/app', shell: '/sbin/nologin' },
    { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/sh' },
  ]);
  assert.deepEqual(r.groups, [{ name: 'app', gid: 1000, members: ['app', 'root'] }]);
  assert.equal(r.runAs, '1000:1000');
  assert.deepEqual([r.entrypoint, r.cmd], [['/usr/bin/app'], ['--serve']]);
  assert.deepEqual(r.env, { PORT: '8080', DEBUG: 'true', VERSION: '1.10', PATH: '/usr/bin' });
  assert.equal(r.workdir, '/srv');
  assert.deepEqual(r.labels, { 'org.opencontainers.image.source': 'https://example.org/app' });
  assert.deepEqual(r.annotations, { a: 'b' });
  assert.equal(r.stopSignal, 'SIGRTMIN+3');
  assert.equal(r.sourceDateEpoch, 1700000000);
});

test('run-as as a bare uid number and stop-signal as a number', () => {
  const r = parse(`${BASE}run-as: 65532\nstop-signal: 15\n`);
  assert.equal(r.runAs, '65532');
  assert.equal(r.stopSignal, '15');
});

test('YAML anchors and aliases are followed', () => {
  const r = parse(`${BASE}entrypoint: &e [/bin/app]\ncmd: *e\n`);
  assert.deepEqual(r.cmd, ['/bin/app']);
});

const modes: Array<[string, number | undefined]> = [
  ['0755', 0o755],
  ['755', 0o755],
  ['0o644', 0o644],
  ['07777', 0o7777],
  ['0', 0],
  ['0789', undefined],
  ['17777', undefined],
  ['rwx', undefined],
  ['', undefined],
];
for (const [text, want] of modes) test(`parseMode(${JSON.stringify(text)})`, () => assert.equal(parseMode(text), want));

const specs: Array<[string, ReturnType<typeof parsePackageSpec>]> = [
  ['libc6', { name: 'libc6' }],
  ['libc6=2.36-9+deb12u10', { name: 'libc6', version: '2.36-9+deb12u10' }],
  ['busybox-static=1:1.35.0-4+b1', { name: 'busybox-static', version: '1:1.35.0-4+b1' }],
  ['libstdc++6', { name: 'libstdc++6' }],
  ['g++=4:12.2.0-3', { name: 'g++', version: '4:12.2.0-3' }],
  ['x', undefined],
  ['Libc6', undefined],
  ['libc6=', undefined],
  ['libc6=v1', undefined],
  ['libc6 (>= 2)', undefined],
  ['libc6:amd64', undefined],
];
for (const [text, want] of specs) test(`parsePackageSpec(${JSON.stringify(text)})`, () => assert.deepEqual(parsePackageSpec(text), want));
