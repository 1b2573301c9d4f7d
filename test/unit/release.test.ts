import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createCleartextMessage, createMessage, sign } from 'openpgp';
import { isAlbaError } from '../../src/errors.js';
import { checkValidUntil, parseRelease, verifyDetached, verifyInRelease } from '../../src/debian/release.js';
import type { Keyring } from '../../src/debian/keyring.js';
import { makeRepoKey } from '../helpers/make-repo.js';

const H1 = 'a'.repeat(64);
const H2 = 'B'.repeat(64);
const RELEASE = `Origin: Debian
Suite: stable
Codename: bookworm
Date: Sat, 10 May 2025 08:50:25 UTC
Valid-Until: Sat, 17 May 2025 08:50:25 UTC
Architectures: all amd64  arm64
Components: main contrib
MD5Sum:
 ${'c'.repeat(32)}  123 main/binary-amd64/Packages
SHA256:
 ${H1}     1234 main/binary-amd64/Packages
 ${H2}  99 main/binary-amd64/Packages.xz
`;

describe('parseRelease', () => {
  test('Acquire-By-Hash: yes is recognised', () => {
    assert.equal(parseRelease(RELEASE.replace('Suite: stable', 'Suite: stable\nAcquire-By-Hash: yes'), 'R').acquireByHash, true);
  });
  test('reads the fields and the SHA256 list (not the MD5 one)', () => {
    const info = parseRelease(RELEASE, 'R');
    assert.deepEqual(info, {
      suiteName: 'stable',
      codename: 'bookworm',
      date: '2025-05-10T08:50:25.000Z',
      validUntil: '2025-05-17T08:50:25.000Z',
      architectures: ['all', 'amd64', 'arm64'],
      components: ['main', 'contrib'],
      acquireByHash: false,
      files: new Map([
        ['main/binary-amd64/Packages', { size: 1234, sha256: H1 }],
        ['main/binary-amd64/Packages.xz', { size: 99, sha256: H2.toLowerCase() }],
      ]),
    });
  });

  const bad: [string, string, RegExp][] = [
    ['no SHA256 list', 'Suite: x\nMD5Sum:\n abc 1 p\n', /R has no SHA256 file list/],
    ['empty text', '', /R has no SHA256 file list/],
    ['bad hash', `SHA256:\n zz${H1.slice(2)} 1 p\n`, /R: malformed SHA256 line/],
    ['bad size', `SHA256:\n ${H1} -1 p\n`, /R: malformed SHA256 line/],
    ['bad date', `Date: yesterday\nSHA256:\n ${H1} 1 p\n`, /R: cannot read Date "yesterday"/],
    ['date past 9999 (a lock refuses it)', `Date: Sat, 01 Jan 10000 00:00:00 UTC\nSHA256:\n ${H1} 1 p\n`, /R: cannot read Date/],
  ];
  for (const [name, text, message] of bad) {
    test(`RELEASE_INVALID: ${name}`, () => {
      assert.throws(
        () => parseRelease(text, 'R'),
        (err) => isAlbaError(err, 'RELEASE_INVALID') && message.test(err.message),
      );
    });
  }
});

describe('checkValidUntil', () => {
  const info = parseRelease(RELEASE, 'R');
  const cases: [string, string, boolean][] = [
    ['before', '2025-05-16T00:00:00Z', true],
    ['exactly at', '2025-05-17T08:50:25Z', true],
    ['after', '2025-05-17T08:50:26Z', false],
  ];
  for (const [name, now, ok] of cases) {
    test(`now ${name} Valid-Until → ${ok ? 'accepted' : 'RELEASE_INVALID'}`, () => {
      const run = (): void => checkValidUntil(info, 'R', new Date(now));
      if (ok) run();
      else
        assert.throws(
          run,
          (err) => isAlbaError(err, 'RELEASE_INVALID') && /R expired: Valid-Until 2025-05-17T08:50:25.000Z/.test(err.message),
        );
    });
  }
  test('no Valid-Until never expires', () => {
    const { validUntil: _none, ...withoutValidUntil } = info;
    checkValidUntil(withoutValidUntil, 'R', new Date('2999-01-01'));
  });
});

describe('signature checks', async () => {
  const trusted = await makeRepoKey('trusted');
  const stranger = await makeRepoKey('stranger');
  const keyring: Keyring = { keys: [trusted.privateKey.toPublic()], paths: ['trusted.gpg'] };
  const idOf = async (k: typeof trusted): Promise<string> => (await k.privateKey.getSigningKey()).getKeyID().toHex();
  const clearsign = async (text: string, keys: (typeof trusted)[]): Promise<string> =>
    sign({ message: await createCleartextMessage({ text }), signingKeys: keys.map((k) => k.privateKey) });
  const detach = async (data: Buffer, k: typeof trusted): Promise<string> =>
    sign({ message: await createMessage({ binary: data }), signingKeys: k.privateKey, detached: true });

  test('InRelease signed by the trusted key: its text, no problem', async () => {
    const check = await verifyInRelease(await clearsign(RELEASE, [trusted]), keyring);
    assert.deepEqual(check, { text: RELEASE, signedBy: [await idOf(trusted)] });
  });

  test('one trusted signature among unknown ones is enough', async () => {
    const check = await verifyInRelease(await clearsign(RELEASE, [stranger, trusted]), keyring);
    assert.deepEqual(check.signedBy, [await idOf(trusted)]);
    assert.equal(check.problem, undefined);
  });

  const problems: [string, () => Promise<string>, RegExp][] = [
    [
      'altered text',
      async () => (await clearsign(RELEASE, [trusted])).replace('Suite: stable', 'Suite: evil'),
      /^has a signature that does not verify: key [0-9a-f]{16} \(/,
    ],
    [
      'unknown key',
      async () => clearsign(RELEASE, [stranger]),
      new RegExp(`^is signed by unknown key ${await idOf(stranger)} \\(not in trusted\\.gpg\\)$`),
    ],
    ['not signed at all', async () => RELEASE, /^is not an OpenPGP cleartext-signed file/],
  ];
  for (const [name, make, problem] of problems) {
    test(`InRelease with ${name} has a problem`, async () => {
      const check = await verifyInRelease(await make(), keyring);
      assert.deepEqual(check.signedBy, []);
      assert.match(check.problem ?? '', problem);
    });
  }

  test('detached signature: valid, altered data, unknown key, garbage', async () => {
    const data = Buffer.from(RELEASE);
    const good = await verifyDetached(data, Buffer.from(await detach(data, trusted)), keyring);
    assert.deepEqual(good, { text: RELEASE, signedBy: [await idOf(trusted)] });
    const altered = await verifyDetached(
      Buffer.from(RELEASE.replace('main contrib', 'main evil')),
      Buffer.from(await detach(data, trusted)),
      keyring,
    );
    assert.match(altered.problem ?? '', /^has a signature that does not verify/);
    const unknown = await verifyDetached(data, Buffer.from(await detach(data, stranger)), keyring);
    assert.match(unknown.problem ?? '', /^is signed by unknown key/);
    const garbage = await verifyDetached(data, Buffer.from('not a signature'), keyring);
    assert.match(garbage.problem ?? '', /^has an unreadable signature file Release\.gpg/);
  });
});
