import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readHostAptSources, type AptSource, type HostAptSources } from '../../src/debian/apt-sources.js';
import { isAlbaError } from '../../src/errors.js';
import { applyMirrors, parseMirrorOption, type MirrorOption } from '../../src/recipe/mirror.js';
import { expandSnapshot } from '../../src/recipe/snapshot.js';
import type { SourceSpec } from '../../src/recipe/types.js';

const TS = '20250520T000000Z';
const SNAPSHOT = expandSnapshot(TS, 'bookworm');
const EXPLICIT: SourceSpec = { url: 'https://deb.example.org/extra', suites: ['bookworm'], components: ['main'], snapshot: false };

function host(...sources: Array<Omit<AptSource, 'file'>>): HostAptSources {
  return {
    files: ['/etc/apt/sources.list.d/test.sources'],
    sources: sources.map((s) => ({ ...s, file: '/etc/apt/sources.list.d/test.sources' })),
  };
}
const HOST = host(
  { uri: 'http://docker.example/linux/debian', suites: ['bookworm'], components: ['stable'] },
  { uri: 'http://mirror.example/debian/', suites: ['bookworm', 'bookworm-updates'], components: ['main', 'contrib'] },
  { uri: 'http://mirror.example/debian-security', suites: ['bookworm-security'], components: ['main'] },
);

/** `suite -> fetchUrl` for each target, in order. */
const table = (sources: SourceSpec[], mirrors: MirrorOption[], h?: HostAptSources): string[] =>
  applyMirrors(sources, mirrors, h).map((t) => `${t.suite} -> ${t.fetchUrl}`);

const cases: Array<{ name: string; mirrors: string[]; sources?: SourceSpec[]; host?: HostAptSources; expect: string[] }> = [
  {
    name: 'no mirror: canonical URLs',
    mirrors: [],
    expect: [
      `bookworm -> https://snapshot.debian.org/archive/debian/${TS}`,
      `bookworm-updates -> https://snapshot.debian.org/archive/debian/${TS}`,
      `bookworm-security -> https://snapshot.debian.org/archive/debian-security/${TS}`,
    ],
  },
  {
    name: 'base URL: URL/<archive>',
    mirrors: ['http://m.example/snap/'],
    expect: [
      'bookworm -> http://m.example/snap/debian',
      'bookworm-updates -> http://m.example/snap/debian',
      'bookworm-security -> http://m.example/snap/debian-security',
    ],
  },
  {
    name: 'ARCHIVE=URL for one archive only',
    mirrors: ['debian-security=http://sec.example/ds'],
    expect: [
      `bookworm -> https://snapshot.debian.org/archive/debian/${TS}`,
      `bookworm-updates -> https://snapshot.debian.org/archive/debian/${TS}`,
      'bookworm-security -> http://sec.example/ds',
    ],
  },
  {
    name: 'ARCHIVE=URL wins over the base URL, which wins over apt',
    mirrors: ['apt', 'http://m.example', 'debian-security=http://sec.example/ds'],
    host: HOST,
    expect: [
      'bookworm -> http://m.example/debian',
      'bookworm-updates -> http://m.example/debian',
      'bookworm-security -> http://sec.example/ds',
    ],
  },
  {
    name: 'apt: by suite, skipping host sources without the components',
    mirrors: ['apt'],
    host: HOST,
    expect: [
      'bookworm -> http://mirror.example/debian',
      'bookworm-updates -> http://mirror.example/debian',
      'bookworm-security -> http://mirror.example/debian-security',
    ],
  },
  {
    name: 'apt: prefers the host URI named after the archive',
    mirrors: ['apt'],
    host: host(
      { uri: 'http://other.example/x', suites: ['bookworm-security'], components: ['main'] },
      { uri: 'http://m.example/debian-security', suites: ['bookworm-security'], components: ['main'] },
    ),
    sources: [SNAPSHOT[1]!],
    expect: ['bookworm-security -> http://m.example/debian-security'],
  },
  {
    name: 'apt: a source with several suites maps suite by suite',
    mirrors: ['apt'],
    host: host(
      { uri: 'http://a.example/debian', suites: ['bookworm'], components: ['main'] },
      { uri: 'http://b.example/debian', suites: ['bookworm-updates'], components: ['main'] },
    ),
    sources: [SNAPSHOT[0]!],
    expect: ['bookworm -> http://a.example/debian', 'bookworm-updates -> http://b.example/debian'],
  },
  {
    name: 'explicit non-snapshot sources are never mirrored',
    mirrors: ['apt', 'http://m.example'],
    host: HOST,
    sources: [EXPLICIT],
    expect: ['bookworm -> https://deb.example.org/extra'],
  },
];

for (const c of cases) {
  test(`applyMirrors: ${c.name}`, () => {
    assert.deepEqual(table(c.sources ?? SNAPSHOT, c.mirrors.map(parseMirrorOption), c.host), c.expect);
  });
}

test('applyMirrors keeps the canonical source with each target', () => {
  const targets = applyMirrors(SNAPSHOT, [parseMirrorOption('http://m.example')]);
  assert.deepEqual(
    targets.map((t) => t.source),
    [SNAPSHOT[0], SNAPSHOT[0], SNAPSHOT[1]],
  );
});

const aptErrors: Array<{ name: string; host?: HostAptSources; message: RegExp }> = [
  {
    name: 'no host source for a suite',
    host: host({ uri: 'http://m.example/debian', suites: ['bookworm', 'bookworm-updates'], components: ['main'] }),
    message: /no host apt source serves suite bookworm-security .*read \/etc\/apt\/sources\.list\.d\/test\.sources/,
  },
  {
    name: 'host source lacks a component',
    host: host({ uri: 'http://m.example/debian', suites: ['bookworm', 'bookworm-updates', 'bookworm-security'], components: ['contrib'] }),
    message: /suite bookworm offer components contrib but .* needs main/,
  },
  { name: 'no host files at all', host: { files: [], sources: [] }, message: /no apt source files were found/ },
  { name: 'host sources not read', message: /were not read/ },
];
for (const c of aptErrors) {
  test(`applyMirrors apt error: ${c.name}`, () => {
    assert.throws(
      () => applyMirrors(SNAPSHOT, [{ kind: 'apt' }], c.host),
      (err) => isAlbaError(err, 'APT_SOURCES') && c.message.test(err.message),
    );
  });
}

test('applyMirrors lists every unmatched suite in one error', () => {
  assert.throws(
    () => applyMirrors(SNAPSHOT, [{ kind: 'apt' }], host()),
    (err) => isAlbaError(err, 'APT_SOURCES') && (err.message.match(/no host apt source serves/g) ?? []).length === 3,
  );
});

test('conflicting mirrors are a usage error', () => {
  for (const mirrors of [
    ['http://a.example', 'http://b.example'],
    ['debian=http://a.example', 'debian=http://b.example'],
  ]) {
    assert.throws(
      () => applyMirrors(SNAPSHOT, mirrors.map(parseMirrorOption)),
      (err) => isAlbaError(err, 'USAGE'),
    );
  }
});

const options: Array<[string, MirrorOption | 'USAGE']> = [
  ['apt', { kind: 'apt' }],
  ['http://m.example/snap/', { kind: 'base', url: 'http://m.example/snap' }],
  ['debian-security=https://m.example/ds', { kind: 'archive', archive: 'debian-security', url: 'https://m.example/ds' }],
  ['http://m.example/x?a=b', { kind: 'base', url: 'http://m.example/x?a=b' }],
  ['ftp://m.example', 'USAGE'],
  ['debian=', 'USAGE'],
  ['mirror.example', 'USAGE'],
  ['Debian=http://x', 'USAGE'],
];
for (const [text, want] of options) {
  test(`parseMirrorOption(${text})`, () => {
    if (want === 'USAGE')
      assert.throws(
        () => parseMirrorOption(text),
        (err) => isAlbaError(err, 'USAGE'),
      );
    else assert.deepEqual(parseMirrorOption(text), want);
  });
}

test('--mirror apt against this machine maps every suite of a bookworm snapshot', async (t) => {
  const real = await readHostAptSources();
  const serves = (suite: string) => real.sources.some((s) => s.suites.includes(suite) && /^https?:/.test(s.uri));
  if (!['bookworm', 'bookworm-updates', 'bookworm-security'].every(serves)) {
    const why = 'the host apt sources do not serve bookworm, bookworm-updates and bookworm-security';
    if (process.env.CI === 'true') assert.fail(`${why}, and CI=true`);
    t.skip(why);
    return;
  }
  const targets = applyMirrors(SNAPSHOT, [{ kind: 'apt' }], real);
  assert.deepEqual(
    targets.map((x) => x.suite),
    ['bookworm', 'bookworm-updates', 'bookworm-security'],
  );
  for (const x of targets) assert.ok(real.sources.some((s) => s.uri.replace(/\/+$/, '') === x.fetchUrl && s.suites.includes(x.suite)));
});

test('a refused --mirror never prints its password, whether it names an archive or not', () => {
  for (const text of [
    'debian=htps://reader:S3CRET@mirror.example/debian',
    'debian=http://reader:S3CRET@mirror.example:99999/debian',
    'htps://reader:S3CRET@mirror.example/debian',
    'debian=http://reader:S3#CRET@mirror.example/debian',
  ]) {
    assert.throws(
      () => parseMirrorOption(text),
      (err) => isAlbaError(err, 'USAGE') && !err.message.includes('S3') && err.message.includes('mirror.example'),
      text,
    );
  }
});
