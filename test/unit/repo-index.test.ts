import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { MAX_LINE } from '../../src/debian/deb822.js';
import { CORRUPT, indexCachePath, IndexTableWriter, openCachedTable } from '../../src/debian/index-cache.js';
import { IndexTable, toIndexPackage } from '../../src/debian/index-table.js';
import { packagesOf } from '../helpers/index-packages.js';
import { pickPackagesIndex } from '../../src/debian/packages-index.js';
import { PackagesScanner, type IndexFields } from '../../src/debian/packages-scanner.js';
import type { Release } from '../../src/debian/release.js';
import type { IndexPackage } from '../../src/debian/types.js';

const H = 'f'.repeat(64);
const BASE = `Package: p\nVersion: 1.0-1\nArchitecture: amd64\nFilename: pool/main/p/p/p_1.0-1_amd64.deb\nSize: 10\nSHA256: ${H.toUpperCase()}\n`;
/** Scans a Packages text pushed as the given chunks. */
const scan = (...chunks: string[]): IndexFields[] => {
  const got: IndexFields[] = [];
  const scanner = new PackagesScanner((f) => got.push(f), 'IDX');
  for (const c of chunks) scanner.push(Buffer.from(c, 'utf8'));
  scanner.end();
  return got;
};
const stanza = (extra: string, base = BASE): IndexFields => {
  const s = scan(base + extra)[0];
  assert.ok(s !== undefined);
  return s;
};
const plain: IndexPackage = {
  name: 'p',
  version: '1.0-1',
  architecture: 'amd64',
  source: 'p',
  sourceVersion: '1.0-1',
  filename: 'pool/main/p/p/p_1.0-1_amd64.deb',
  size: 10,
  sha256: H,
};

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
    [
      'a Version that is no Debian version',
      BASE.replace('Version: 1.0-1', 'Version: :::1.0-'),
      /^IDX: stanza of p :::1\.0-: Version ":::1\.0-" is not a Debian version: its epoch is empty$/,
    ],
    [
      'an empty revision',
      BASE.replace('Version: 1.0-1', 'Version: 1.0-'),
      /Version "1\.0-" is not a Debian version: its revision is empty$/,
    ],
    [
      'a SHA256 that is not 64 hex digits',
      BASE.replace(H.toUpperCase(), 'abc'),
      /^IDX: stanza of p 1\.0-1: SHA256 "abc" is not 64 hex digits$/,
    ],
    [
      'a Source version that is no Debian version',
      `${BASE}Source: psrc (1.0 beta)\n`,
      /Source version "1\.0 beta" is not a Debian version: it holds a space$/,
    ],
  ];
  for (const [name, text, message] of broken) {
    test(`INDEX_INVALID: ${name}`, () => {
      assert.throws(
        () => toIndexPackage(stanza('', text), 'IDX'),
        (err) => isAlbaError(err, 'INDEX_INVALID') && message.test(err.message),
      );
    });
  }
});

describe('PackagesScanner', () => {
  test('keeps the fields alba reads, in any case, with continuation lines; steps over the rest', () => {
    const text =
      'PACKAGE: p\r\nDescription: long\n more\n# comment\nDepends: a,\n b\nmaintainer: Zoë <z@x>\nversion: 1:2.0-1\n\n\nPackage: q\nVersion: 3\nVersion: 4\n';
    assert.deepEqual(scan(text), [
      { package: 'p', depends: 'a,\n b', maintainer: 'Zoë <z@x>', version: '1:2.0-1' },
      { package: 'q', version: '4' },
    ]);
  });

  test('one 100 MB line of a skipped field streams through in linear time with flat memory', () => {
    const got: IndexFields[] = [];
    const scanner = new PackagesScanner((f) => got.push(f), 'IDX');
    const chunk = Buffer.from('x'.repeat(64 * 1024));
    const rss = process.memoryUsage().rss;
    scanner.push(Buffer.from('Package: a\nVersion: 1\nDescription: '));
    for (let i = 0; i < 1600; i++) scanner.push(chunk); // 100 MiB
    scanner.push(Buffer.from('\n continued\n\nPackage: b\nVersion: 2\n'));
    scanner.end();
    assert.deepEqual(got, [
      { package: 'a', version: '1' },
      { package: 'b', version: '2' },
    ]);
    assert.ok(process.memoryUsage().rss - rss < 64 * 1024 * 1024, 'the line is not held');
  });

  test('a kept field longer than MAX_LINE is INDEX_INVALID, naming the text', () => {
    const scanner = new PackagesScanner(() => undefined, 'IDX');
    scanner.push(Buffer.from('Depends: '));
    const chunk = Buffer.from('y'.repeat(64 * 1024));
    assert.throws(
      () => {
        for (let i = 0; i <= MAX_LINE / chunk.length + 1; i++) scanner.push(chunk);
      },
      (err) => isAlbaError(err, 'INDEX_INVALID') && /^IDX: a line of over \d+ bytes \("Depends: yyy/.test(err.message),
    );
  });

  test('lines split across chunks at every byte offset scan as one text', () => {
    const text = 'Package: p\r\nDescription: long\n more\n# comment\nMaintainer: Zoë\nVersion: 1:2.0-1\n\nPackage: q\nVersion: 3\n';
    const bytes = Buffer.from(text, 'utf8');
    const whole = scan(text);
    assert.equal(whole.length, 2);
    for (let cut = 1; cut < bytes.length; cut++) {
      const got: IndexFields[] = [];
      const scanner = new PackagesScanner((f) => got.push(f), 'IDX');
      scanner.push(bytes.subarray(0, cut));
      scanner.push(bytes.subarray(cut));
      scanner.end();
      assert.deepEqual(got, whole, `cut at ${cut}`);
    }
  });
});

describe('pickPackagesIndex', () => {
  const release = (paths: string[], acquireByHash = false): Release => ({
    url: 'http://canonical/debian',
    fetchedFrom: 'http://mirror/debian',
    suite: 'stable',
    file: 'InRelease',
    sha256: H,
    verified: true,
    signedBy: [],
    architectures: ['amd64'],
    components: ['main'],
    acquireByHash,
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
  test('gz when asked and listed, else the others in order', () => {
    const all = ['main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz', 'main/binary-amd64/Packages.xz'];
    assert.equal(pickPackagesIndex(release(all), 'main', 'amd64', 'gz').path, 'main/binary-amd64/Packages.gz');
    assert.equal(pickPackagesIndex(release(all), 'main', 'amd64', 'gz').compression, 'gz');
    assert.equal(
      pickPackagesIndex(release(['main/binary-amd64/Packages.xz']), 'main', 'amd64', 'gz').path,
      'main/binary-amd64/Packages.xz',
    );
  });
  test('by hash when the Release offers it, with the plain path as fallback', () => {
    const file = pickPackagesIndex(release(['main/binary-amd64/Packages.xz'], true), 'main', 'amd64');
    assert.equal(file.url, `http://mirror/debian/dists/stable/main/binary-amd64/by-hash/SHA256/${'0'.repeat(64)}`);
    assert.equal(file.fallbackUrl, 'http://mirror/debian/dists/stable/main/binary-amd64/Packages.xz');
  });
  test('INDEX_MISSING when the Release lists none', () => {
    assert.throws(
      () => pickPackagesIndex(release(['main/binary-arm64/Packages.xz']), 'main', 'amd64'),
      (err) => isAlbaError(err, 'INDEX_MISSING'),
    );
  });
});

describe('index cache', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'alba-index-cache-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const TEXT = `${BASE}Description: dropped\n\nPackage: q\nSource: qsrc (0.1)\nVersion: 1.0-1\nArchitecture: amd64\nDepends: p\nPre-Depends: x\nProvides: y\nMulti-Arch: foreign\nMaintainer: Zoë 😀 "quoted" <z@x>\nFilename: pool/q.deb\nSize: 10\nSHA256: ${H}\n`;
  const packages: IndexPackage[] = [
    plain,
    {
      ...plain,
      name: 'q',
      source: 'qsrc',
      sourceVersion: '0.1',
      filename: 'pool/q.deb',
      depends: 'p',
      preDepends: 'x',
      provides: 'y',
      multiArch: 'foreign',
      maintainer: 'Zoë 😀 "quoted" <z@x>',
    },
  ];
  const write = (sha256: string, text = TEXT): IndexTable => {
    const writer = new IndexTableWriter('IDX', { cacheDir: dir, sha256 });
    writer.push(Buffer.from(text, 'utf8'));
    return writer.finish();
  };
  const opened: IndexTable[] = [];
  after(() => opened.forEach((t) => t.close()));
  const read = (sha256: string): IndexTable | undefined | typeof CORRUPT => {
    const got = openCachedTable(dir, sha256, 'IDX');
    if (got instanceof IndexTable) opened.push(got);
    return got;
  };

  test('the writer keeps the fields alba reads, the reader finds every package by name', async () => {
    const written = write(H);
    opened.push(written);
    assert.deepEqual(packagesOf({ table: written }), packages);
    const back = read(H);
    assert.ok(back instanceof IndexTable);
    assert.deepEqual(packagesOf({ table: back }), packages);
    assert.deepEqual(
      back.offsetsNamed('q').map((offset) => back.candidateAt(offset).source),
      ['qsrc'],
    );
    assert.deepEqual(back.offsetsNamed('nosuch'), []);
    assert.deepEqual(
      back.provides.map(([, value]) => value),
      ['y'],
    );
    assert.doesNotMatch(await readFile(indexCachePath(dir, H), 'utf8'), /Description/, 'only the fields alba reads are kept');
    assert.deepEqual(await readdir(join(dir, 'indexes')), [`${H}.deb822`]);
  });

  test('a stanza that fails its checks is INDEX_INVALID, and no entry is left', () => {
    const writer = new IndexTableWriter('IDX', { cacheDir: dir, sha256: '4'.repeat(64) });
    assert.throws(
      () => writer.push(Buffer.from(`${BASE.replace('Version: 1.0-1', 'Version: :::1.0-')}\n`)),
      (err) => isAlbaError(err, 'INDEX_INVALID'),
    );
    writer.abort();
    assert.equal(read('4'.repeat(64)), undefined);
  });

  test('a missing entry is a miss; a cut, foreign or flipped one is CORRUPT and removed', async () => {
    assert.equal(read('0'.repeat(64)), undefined);
    await writeFile(indexCachePath(dir, '1'.repeat(64)), '# alba-packages-index/3\nPackage: p\n');
    assert.equal(read('1'.repeat(64)), CORRUPT);
    write('3'.repeat(64)).close();
    const bytes = await readFile(indexCachePath(dir, '3'.repeat(64)));
    const at = bytes.indexOf('1.0-1');
    bytes[at] = '2'.charCodeAt(0); // a flipped bit in a version: still a valid stanza
    await writeFile(indexCachePath(dir, '3'.repeat(64)), bytes);
    assert.equal(read('3'.repeat(64)), CORRUPT);
    await assert.rejects(readFile(indexCachePath(dir, '3'.repeat(64))), 'the corrupt entry is removed');
    await writeFile(indexCachePath(dir, '5'.repeat(64)), `{"format":"alba-packages-index/2","rows":[]}\n${' '.repeat(100)}`);
    assert.equal(read('5'.repeat(64)), CORRUPT, 'a file of another format');
  });
});
