import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { buildBaseLayer } from '../../src/layer/base-layer.js';
import { groupText, NSSWITCH_CONF, passwdText, planBaseFiles } from '../../src/layer/base-files.js';
import { caBundle, isCaCertificatePath } from '../../src/layer/ca-bundle.js';
import { BlobStore } from '../../src/oci/blob-store.js';
import { DEFAULT_GROUPS, DEFAULT_USERS } from '../../src/recipe/default-accounts.js';
import { readLayerEntries } from '../helpers/read-layer.js';

const EPOCH = 1_700_000_000;
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alba-layer-base-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('passwd and group', () => {
  test('distroless accounts, in the order given', () => {
    assert.equal(
      passwdText(DEFAULT_USERS),
      'root:x:0:0:root:/root:/sbin/nologin\n' +
        'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' +
        'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
    );
    assert.equal(groupText(DEFAULT_GROUPS), 'root:x:0:\ntty:x:5:\nstaff:x:50:\nnobody:x:65534:\nnonroot:x:65532:\n');
    assert.equal(groupText([{ name: 'app', gid: 1000, members: ['a', 'b'] }]), 'app:x:1000:a,b\n');
  });
});

describe('planBaseFiles', () => {
  test('entries, modes and owners (distroless layout), sorted with parents first', () => {
    const plan = planBaseFiles({ users: DEFAULT_USERS, groups: DEFAULT_GROUPS, caBundle: 'CERT\n' });
    assert.deepEqual(
      plan.map((e) => [e.path, e.type, e.mode.toString(8), `${e.uid}:${e.gid}`]),
      [
        ['etc/', 'directory', '755', '0:0'],
        ['etc/group', 'file', '644', '0:0'],
        ['etc/nsswitch.conf', 'file', '644', '0:0'],
        ['etc/passwd', 'file', '644', '0:0'],
        ['etc/ssl/', 'directory', '755', '0:0'],
        ['etc/ssl/certs/', 'directory', '755', '0:0'],
        ['etc/ssl/certs/ca-certificates.crt', 'file', '644', '0:0'],
        ['home/', 'directory', '755', '0:0'],
        ['home/nonroot/', 'directory', '700', '65532:65532'],
        ['root/', 'directory', '700', '0:0'],
        ['tmp/', 'directory', '1777', '0:0'],
      ],
    );
    assert.equal(plan.find((e) => e.path === 'etc/nsswitch.conf')?.content, NSSWITCH_CONF);
    assert.equal(plan.find((e) => e.path === 'etc/ssl/certs/ca-certificates.crt')?.content, 'CERT\n');
  });

  test('no CA bundle → no certificate file', () => {
    const paths = planBaseFiles({ users: DEFAULT_USERS, groups: DEFAULT_GROUPS }).map((e) => e.path);
    assert.ok(!paths.some((p) => p.startsWith('etc/ssl')), paths.join(' '));
  });

  test('a home outside /home gets its parents', () => {
    const plan = planBaseFiles({ users: [{ name: 'app', uid: 10, gid: 20, home: '/srv/app', shell: '/sbin/nologin' }], groups: [] });
    assert.deepEqual(
      plan.filter((e) => e.path.startsWith('srv')).map((e) => [e.path, e.mode.toString(8), `${e.uid}:${e.gid}`]),
      [
        ['srv/', '755', '0:0'],
        ['srv/app/', '700', '10:20'],
      ],
    );
  });

  test('a relative or escaping home is a recipe error', () => {
    for (const home of ['home/x', '/home/../etc']) {
      assert.throws(
        () => planBaseFiles({ users: [{ name: 'x', uid: 1, gid: 1, home, shell: '/bin/false' }], groups: [] }),
        (err: unknown) => isAlbaError(err, 'RECIPE_INVALID') && err.message.includes(home),
      );
    }
  });
});

describe('caBundle', () => {
  test('certificates in sorted path order, each ending with a newline; other files ignored', () => {
    const certs = new Map([
      ['usr/share/ca-certificates/mozilla/b.crt', Buffer.from('B')],
      ['usr/share/ca-certificates/mozilla/a.crt', Buffer.from('A\n')],
      ['usr/share/ca-certificates/cacert.org/z.crt', Buffer.from('Z')],
      ['usr/share/doc/ca-certificates/README', Buffer.from('no')],
    ]);
    assert.equal(caBundle(certs), 'Z\nA\nB\n');
  });

  test('isCaCertificatePath', () => {
    const table: [string, boolean][] = [
      ['usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt', true],
      ['usr/share/ca-certificates/mozilla/', false],
      ['etc/ssl/certs/ca-certificates.crt', false],
      ['usr/share/ca-certificates/x.pem', false],
    ];
    for (const [path, expected] of table) assert.equal(isCaCertificatePath(path), expected, path);
  });
});

describe('buildBaseLayer', () => {
  test('writes the plan with mtime = epoch, deterministically', async () => {
    const store = new BlobStore(join(dir, 'store'));
    const opts = { store, users: DEFAULT_USERS, groups: DEFAULT_GROUPS, caBundle: 'CERT\n', sourceDateEpoch: EPOCH };
    const first = await buildBaseLayer(opts);
    const second = await buildBaseLayer(opts);
    assert.equal(second.digest, first.digest);
    assert.equal(second.diffId, first.diffId);
    const entries = await readLayerEntries(store.path(first.digest));
    assert.deepEqual(
      entries.map((e) => e.header.name),
      planBaseFiles(opts).map((e) => e.path),
    );
    for (const e of entries) assert.equal(e.header.mtime.getTime() / 1000, EPOCH, e.header.name);
    assert.equal(entries.find((e) => e.header.name === 'etc/passwd')?.content.toString(), passwdText(DEFAULT_USERS));
    const other = await buildBaseLayer({ ...opts, sourceDateEpoch: EPOCH + 1 });
    assert.notEqual(other.digest, first.digest, 'the epoch is part of the content');
  });
});
