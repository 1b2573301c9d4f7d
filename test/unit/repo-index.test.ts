import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { Deb822Parser, MAX_LINE, parseDeb822, type Stanza } from '../../src/debian/deb822.js';
import { CORRUPT, indexCachePath, readIndexCache, writeIndexCache } from '../../src/debian/index-cache.js';
import { pickPackagesIndex, toIndexPackage } from '../../src/debian/packages-index.js';
import type { Release } from '../../src/debian/release.js';
import type { IndexPackage } from '../../src/debian/types.js';

const H = 'f'.repeat(64);
const BASE = `Package: p\nVersion: 1.0-1\nArchitecture: amd64\nFilename: pool/main/p/p/p_1.0-1_amd64.deb\nSize: 10\nSHA256: ${H.toUpperCase()}\n`;
const stanza = (extra: string, base = BASE) => {
  const s = parseDeb822(base + extra)[0];
  assert.ok(s !== undefined);
  return s;
};
const plain: IndexPackage = { name: 'p', version: '1.0-1', architecture: 'amd64', source: 'p', sourceVersion: '1.0-1', filename: 'pool/main/p/p/p_1.0-1_amd64.deb', size: 10, sha256: H };

describe('toIndexPackage', () => {
  const cases: [string, string, IndexPackage][] = [
    ['only the required fields', '', plain],
    ['Source without version', 'Source: psrc\n', { ...plain, source: 'psrc' }],
    ['Source with version', 'Source: psrc (1:0.9-2)\n', { ...plain, source: 'psrc', sourceVersion: '1:0.9-2' }],
    [
      'relations, maintainer, multi-arch (field names in any case); other fields dropped',
      'depends: a, b (>= 1)\nPRE-DEPENDS: c\nProvides: v (= 1)\nMulti-Arch: same\nMaintainer: M <m@x>\nDescription: long\n text\nTag: x\n',
      { ...plain, depends: 'a, b (>= 1)', preDepends: 'c', provides: 'v (= 1)', multiArch: 'same', maintainer: 'M <m@x>' },
    ],
  ];
  for (const [name, extra, expected] of cases) {
    test(name, () => assert.deepEqual(toIndexPackage(stanza(extra), 'IDX'), expected));
  }

  const broken: [string, string, RegExp][] = [
    ['no SHA256', BASE.replace(/SHA256:.*\n/, ''), /^IDX: stanza of p lacks sha256$/],
    ['no Package', BASE.replace(/Package:.*\n/, ''), /^IDX: stanza of \(no Package field\) lacks package$/],
    ['bad Size', BASE.replace('Size: 10', 'Size: ten'), /^IDX: stanza of p has a bad Size ten$/],
    ['a Version that is no Debian version', BASE.replace('Version: 1.0-1', 'Version: :::1.0-'), /^IDX: stanza of p :::1\.0-: Version ":::1\.0-" is not a Debian version: its epoch is empty$/],
    ['an empty revision', BASE.replace('Version: 1.0-1', 'Version: 1.0-'), /Version "1\.0-" is not a Debian version: its revision is empty$/],
    ['a SHA256 that is not 64 hex digits', BASE.replace(H.toUpperCase(), 'abc'), /^IDX: stanza of p 1\.0-1: SHA256 "abc" is not 64 hex digits$/],
    ['a Source version that is no Debian version', `${BASE}Source: psrc (1.0 beta)\n`, /Source version "1\.0 beta" is not a Debian version: it holds a space$/],
  ];
  for (const [name, text, message] of broken) {
    test(`INDEX_INVALID: ${name}`, () => {
      assert.throws(() => toIndexPackage(stanza('', text), 'IDX'), (err) => isAlbaError(err, 'INDEX_INVALID') && message.test(err.message));
    });
  }
});

describe('Deb822Parser on hostile input', () => {
  test('one 100 MB line of a skipped field streams through in linear time with flat memory', () => {
    const got: Stanza[] = [];
    const parser = new Deb822Parser((s) => got.push(s), ['Package', 'Version'], 'IDX');
    const chunk = 'x'.repeat(64 * 1024);
    const rss = process.memoryUsage().rss;
    parser.push('Package: a\nVersion: 1\nDescription: ');
    for (let i = 0; i < 1600; i++) parser.push(chunk); // 100 MiB
    parser.push('\n continued\n\nPackage: b\nVersion: 2\n');
    parser.end();
    assert.deepEqual(got.map((s) => Object.fromEntries(s)), [{ Package: 'a', Version: '1' }, { Package: 'b', Version: '2' }]);
    assert.ok(process.memoryUsage().rss - rss < 64 * 1024 * 1024, 'the line is not held');
  });

  test('a kept field longer than MAX_LINE is INDEX_INVALID, naming the text', () => {
    const parser = new Deb822Parser(() => undefined, ['Depends'], 'IDX');
    parser.push('Depends: ');
    const chunk = 'y'.repeat(64 * 1024);
    assert.throws(() => {
      for (let i = 0; i <= MAX_LINE / chunk.length + 1; i++) parser.push(chunk);
    }, (err) => isAlbaError(err, 'INDEX_INVALID') && /^IDX: a line of over \d+ bytes/.test(err.message));
  });

  test('lines split across chunks at every offset parse as one text', () => {
    const text = 'Package: p\r\nDescription: long\n more\n# comment\nVersion: 1:2.0-1\n\nPackage: q\nVersion: 3\n';
    const whole = parseDeb822(text).map((s) => Object.fromEntries(s));
    for (let cut = 1; cut < text.length; cut++) {
      const got: Stanza[] = [];
      const parser = new Deb822Parser((s) => got.push(s), ['Package', 'Version']);
      parser.push(text.slice(0, cut));
      parser.push(text.slice(cut));
      parser.end();
      assert.deepEqual(got.map((s) => Object.fromEntries(s)), whole.map((s) => ({ Package: s['Package'], Version: s['Version'] })), `cut at ${cut}`);
    }
  });
});

describe('pickPackagesIndex', () => {
  const release = (paths: string[], acquireByHash = false): Release => ({
    url: 'http://canonical/debian', fetchedFrom: 'http://mirror/debian', suite: 'stable', file: 'InRelease', sha256: H,
    verified: true, signedBy: [], architectures: ['amd64'], components: ['main'], acquireByHash,
    files: new Map(paths.map((p, i) => [p, { size: i + 1, sha256: String(i).repeat(64) }])),
  });
  const cases: [string[], string][] = [
    [['main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz', 'main/binary-amd64/Packages.xz'], 'main/binary-amd64/Packages.xz'],
    [['main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz'], 'main/binary-amd64/Packages.gz'],
    [['main/binary-amd64/Packages'], 'main/binary-amd64/Packages'],
  ];
  for (const [paths, chosen] of cases) {
    test(`prefers ${chosen} among ${paths.length}`, () => {
      const file = pickPackagesIndex(release(paths), 'main', 'amd64');
      assert.equal(file.path, chosen);
      assert.equal(file.url, `http://mirror/debian/dists/stable/${chosen}`);
      assert.equal(file.sha256, release(paths).files.get(chosen)?.sha256);
    });
  }
  test('by hash when the Release offers it, with the plain path as fallback', () => {
    const file = pickPackagesIndex(release(['main/binary-amd64/Packages.xz'], true), 'main', 'amd64');
    assert.equal(file.url, `http://mirror/debian/dists/stable/main/binary-amd64/by-hash/SHA256/${'0'.repeat(64)}`);
    assert.equal(file.fallbackUrl, 'http://mirror/debian/dists/stable/main/binary-amd64/Packages.xz');
  });
  test('INDEX_MISSING when the Release lists none', () => {
    assert.throws(() => pickPackagesIndex(release(['main/binary-arm64/Packages.xz']), 'main', 'amd64'), (err) => isAlbaError(err, 'INDEX_MISSING'));
  });
});

describe('index cache', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'alba-index-cache-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const packages: IndexPackage[] = [
    plain,
    { ...plain, name: 'q', source: 'qsrc', sourceVersion: '0.1', depends: 'p', preDepends: 'x', provides: 'y', multiArch: 'foreign', maintainer: 'Zoë 😀 "quoted" <z@x>' },
  ];

  test('round-trips packages through an ASCII-only file', async () => {
    await writeIndexCache(dir, H, packages);
    assert.deepEqual(await readIndexCache(dir, H), packages);
    const bytes = await readFile(indexCachePath(dir, H));
    assert.ok(bytes.every((b) => b < 0x80), 'the cache file is pure ASCII');
    assert.deepEqual(await readdir(join(dir, 'indexes')), [`${H}.json`]);
  });

  test('a missing entry is a miss; a cut, foreign or flipped one is CORRUPT and removed', async () => {
    assert.equal(await readIndexCache(dir, '0'.repeat(64)), undefined);
    await writeFile(indexCachePath(dir, '1'.repeat(64)), '{"format":"alba-packages-index/1","rows":[');
    assert.equal(await readIndexCache(dir, '1'.repeat(64)), CORRUPT);
    await writeFile(indexCachePath(dir, '2'.repeat(64)), '{"format":"other","rows":[]}');
    assert.equal(await readIndexCache(dir, '2'.repeat(64)), CORRUPT);
    await writeIndexCache(dir, '3'.repeat(64), packages);
    const bytes = await readFile(indexCachePath(dir, '3'.repeat(64)));
    const at = bytes.indexOf('1.0-1');
    bytes[at] = '2'.charCodeAt(0); // a flipped bit in a version: still valid JSON
    await writeFile(indexCachePath(dir, '3'.repeat(64)), bytes);
    assert.equal(await readIndexCache(dir, '3'.repeat(64)), CORRUPT);
    await assert.rejects(readFile(indexCachePath(dir, '3'.repeat(64))), 'the corrupt entry is removed');
  });
});
