import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isCaCertificatePath } from '../../src/layer/ca-bundle.js';
import { buildDebLayer, buildDebsLayer, type DebSource } from '../../src/layer/deb-layer.js';
import { isAlbaError } from '../../src/errors.js';
import { BlobStore } from '../../src/oci/blob-store.js';
import { makeDeb, type DebEntry, type DebSpec } from '../helpers/make-deb.js';
import { readLayerEntries, type ReadEntry } from '../helpers/read-layer.js';

const EPOCH = 1_750_000_000;
let dir: string;
let store: BlobStore;
let counter = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alba-layer-debs-'));
  store = new BlobStore(join(dir, 'store'));
});
after(() => rm(dir, { recursive: true, force: true }));

const control = (name: string): Record<string, string> => ({
  Package: name,
  Version: '1.0-1',
  Architecture: 'all',
  Maintainer: 'A <a@example.org>',
  Description: name,
});
const d = (path: string): DebEntry => ({ path, type: 'directory' });
const f = (path: string, content: string): DebEntry => ({ path, content });

/** alpha ships var/ itself and etc/conf; beta overrides etc/conf and has a certificate; gamma has a hard link and no copyright. */
const FILES: Record<string, DebEntry[]> = {
  alpha: [
    d('./'),
    d('./usr/'),
    d('./usr/bin/'),
    f('./usr/bin/alpha', 'a'),
    d('./usr/share/'),
    d('./usr/share/doc/'),
    d('./usr/share/doc/alpha/'),
    f('./usr/share/doc/alpha/copyright', 'alpha copyright\n'),
    d('./etc/'),
    f('./etc/conf', 'from alpha\n'),
    d('./var/'),
  ],
  beta: [
    d('./'),
    d('./usr/'),
    d('./usr/share/'),
    d('./usr/share/ca-certificates/'),
    d('./usr/share/ca-certificates/mozilla/'),
    f('./usr/share/ca-certificates/mozilla/X.crt', 'X\n'),
    d('./usr/share/doc/'),
    d('./usr/share/doc/beta/'),
    f('./usr/share/doc/beta/copyright', 'beta copyright\n'),
    d('./etc/'),
    f('./etc/conf', 'from beta\n'),
  ],
  gamma: [
    d('./'),
    d('./usr/'),
    d('./usr/lib/'),
    f('./usr/lib/gamma.so', 'g'),
    { path: './usr/lib/gamma.so.1', type: 'link', linkname: './usr/lib/gamma.so' },
  ],
};

async function debFile(spec: DebSpec): Promise<string> {
  const path = join(dir, `p${counter++}.deb`);
  await writeFile(path, await makeDeb(spec));
  return path;
}

async function source(name: string, files = FILES[name]!, compression: DebSpec['compression'] = 'xz'): Promise<DebSource> {
  return {
    debPath: await debFile({ control: control(name), files, compression }),
    packageName: name,
    what: `${name} 1.0-1`,
    ...(name === 'beta' ? { capture: isCaCertificatePath } : {}),
  };
}

async function three(compression: DebSpec['compression'] = 'xz'): Promise<DebSource[]> {
  return [
    await source('alpha', undefined, compression),
    await source('beta', undefined, compression),
    await source('gamma', undefined, compression),
  ];
}

const text = (entries: ReadEntry[], name: string): string[] =>
  entries.filter((e) => e.header.name === name).map((e) => e.content.toString('utf8'));

describe('buildDebsLayer of three packages', () => {
  test('writes each package in order with its status.d files; the status.d parents once', async () => {
    const layer = await buildDebsLayer({ debs: await three(), store, sourceDateEpoch: EPOCH });
    const entries = await readLayerEntries(store.path(layer.digest));
    assert.deepEqual(
      entries.map((e) => e.header.name),
      [
        'usr/',
        'usr/bin/',
        'usr/bin/alpha',
        'usr/share/',
        'usr/share/doc/',
        'usr/share/doc/alpha/',
        'usr/share/doc/alpha/copyright',
        'etc/',
        'etc/conf',
        'var/',
        'var/lib/',
        'var/lib/dpkg/',
        'var/lib/dpkg/status.d/',
        'var/lib/dpkg/status.d/alpha',
        'var/lib/dpkg/status.d/alpha.md5sums',
        'usr/',
        'usr/share/',
        'usr/share/ca-certificates/',
        'usr/share/ca-certificates/mozilla/',
        'usr/share/ca-certificates/mozilla/X.crt',
        'usr/share/doc/',
        'usr/share/doc/beta/',
        'usr/share/doc/beta/copyright',
        'etc/',
        'etc/conf',
        'var/lib/dpkg/status.d/beta',
        'var/lib/dpkg/status.d/beta.md5sums',
        'usr/',
        'usr/lib/',
        'usr/lib/gamma.so',
        'usr/lib/gamma.so.1',
        'var/lib/dpkg/status.d/gamma',
        'var/lib/dpkg/status.d/gamma.md5sums',
      ],
    );
    assert.deepEqual(
      text(entries, 'etc/conf'),
      ['from alpha\n', 'from beta\n'],
      'the later package comes later, so it wins in a tar merge',
    );
    for (const name of ['alpha', 'beta', 'gamma']) {
      assert.deepEqual(text(entries, `var/lib/dpkg/status.d/${name}`), [
        `Package: ${name}\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: all\nMaintainer: A <a@example.org>\nDescription: ${name}\n`,
      ]);
      assert.match(text(entries, `var/lib/dpkg/status.d/${name}.md5sums`)[0] ?? '', /^[0-9a-f]{32} {2}\S/);
    }
    const link = entries.find((e) => e.header.name === 'usr/lib/gamma.so.1');
    assert.deepEqual([link?.header.type, link?.header.linkname], ['link', 'usr/lib/gamma.so']);
  });

  test("returns each package's control, copyright, file count and captured files, in order", async () => {
    const layer = await buildDebsLayer({ debs: await three(), store, sourceDateEpoch: EPOCH });
    assert.deepEqual(
      layer.packages.map((p) => [
        p.control.split('\n')[0],
        p.copyright,
        p.fileCount,
        [...p.captured].map(([path, c]) => [path, c.toString()]),
      ]),
      [
        ['Package: alpha', 'alpha copyright\n', 3, []],
        ['Package: beta', 'beta copyright\n', 3, [['usr/share/ca-certificates/mozilla/X.crt', 'X\n']]],
        ['Package: gamma', undefined, 1, []],
      ],
    );
  });

  test('is deterministic: the same packages in the same order give the same digest, another order another', async () => {
    const first = await buildDebsLayer({ debs: await three('xz'), store, sourceDateEpoch: EPOCH });
    const again = await buildDebsLayer({ debs: await three('gz'), store, sourceDateEpoch: EPOCH });
    assert.deepEqual([again.digest, again.diffId, again.size], [first.digest, first.diffId, first.size]);
    const reversed = await buildDebsLayer({ debs: (await three()).reverse(), store, sourceDateEpoch: EPOCH });
    assert.notEqual(reversed.digest, first.digest);
  });

  test("a one-package layer is exactly buildDebLayer's", async () => {
    const alpha = await source('alpha');
    const single = await buildDebLayer({ ...alpha, store, sourceDateEpoch: EPOCH });
    const group = await buildDebsLayer({ debs: [alpha], store, sourceDateEpoch: EPOCH });
    assert.deepEqual([group.digest, group.diffId, group.size], [single.digest, single.diffId, single.size]);
    assert.deepEqual(group.packages[0], {
      control: single.control,
      copyright: single.copyright,
      fileCount: single.fileCount,
      captured: single.captured,
    });
  });

  test('writes the status.d parents again when a later package replaced one with a file', async () => {
    const beta = await source('beta', [d('./'), d('./var/'), f('./var/lib', 'not a directory')]);
    const layer = await buildDebsLayer({ debs: [await source('alpha'), beta], store, sourceDateEpoch: EPOCH });
    const names = (await readLayerEntries(store.path(layer.digest))).map((e) => e.header.name);
    assert.deepEqual(names.slice(names.indexOf('var/lib')), [
      'var/lib',
      'var/lib/',
      'var/lib/dpkg/',
      'var/lib/dpkg/status.d/',
      'var/lib/dpkg/status.d/beta',
      'var/lib/dpkg/status.d/beta.md5sums',
    ]);
  });

  const refusals: { name: string; debs: () => Promise<DebSource[]>; mentions: string[] }[] = [
    {
      name: 'a hard link to a file of an earlier package of the layer',
      debs: async () => [
        await source('alpha'),
        await source('gamma', [d('./'), { path: './usr/bin/alpha2', type: 'link', linkname: './usr/bin/alpha' }]),
      ],
      mentions: ['gamma 1.0-1', 'not an earlier file of the package'],
    },
    {
      name: 'a later package making a status.d parent a symlink',
      debs: async () => [
        await source('alpha'),
        await source('beta', [d('./'), d('./var/'), { path: './var/lib', type: 'symlink', linkname: '/tmp' }]),
      ],
      mentions: ['beta 1.0-1', 'var/lib/', 'symlink where the dpkg status directory must be'],
    },
  ];
  for (const c of refusals) {
    test(`refuses ${c.name}`, async () => {
      const debs = await c.debs();
      await assert.rejects(buildDebsLayer({ debs, store, sourceDateEpoch: EPOCH }), (err: unknown) => {
        assert.ok(isAlbaError(err, 'DEB_UNSAFE_ENTRY'), String(err));
        for (const m of c.mentions) assert.ok(err.message.includes(m), err.message);
        return true;
      });
    });
  }

  test('refuses an empty list', async () => {
    await assert.rejects(buildDebsLayer({ debs: [], store, sourceDateEpoch: EPOCH }), RangeError);
  });
});
