import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { pae, signedEnvelope, parseEnvelope } from '../../src/trust/dsse.js';
import { fingerprintOf, loadPublicKey, loadSigningKey, verifySignature } from '../../src/trust/keys.js';
import { repoRoot } from '../helpers/repo-root.js';

// Keys: cosign's encrypted key (made by cosign 2.5 generate-key-pair, passphrase below) and
// openssl's PKCS#8 P-256; other curves and algorithms refused; the passphrase never in a message.

const dir = join(repoRoot(), 'test', 'unit', 'trust-keys');
const PASSWORD = 'unit test only';

describe('signing keys', () => {
  test("cosign's encrypted key opens with ALBA_SIGN_PASSWORD, or COSIGN_PASSWORD, and signs what cosign.pub verifies", async () => {
    const pub = await loadPublicKey(join(dir, 'cosign-test.pub'));
    for (const env of [
      { ALBA_SIGN_PASSWORD: PASSWORD },
      { COSIGN_PASSWORD: PASSWORD },
      { ALBA_SIGN_PASSWORD: PASSWORD, COSIGN_PASSWORD: 'other' },
    ]) {
      const key = await loadSigningKey(join(dir, 'cosign-test.key'), env);
      const data = Buffer.from('payload');
      assert.ok(verifySignature(pub, data, key.sign(data)));
      assert.ok(!verifySignature(pub, Buffer.from('other payload'), key.sign(data)));
      assert.equal(key.fingerprint, fingerprintOf(pub));
    }
  });

  test('a wrong or missing passphrase is SIGN_KEY, and the message holds neither it nor the key', async () => {
    const pem = await readFile(join(dir, 'cosign-test.key'), 'utf8');
    const body = pem.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
    for (const env of [{ ALBA_SIGN_PASSWORD: 'not the passphrase' }, {}]) {
      await assert.rejects(loadSigningKey(join(dir, 'cosign-test.key'), env), (err: unknown) => {
        assert.ok(isAlbaError(err, 'SIGN_KEY'), String(err));
        const text = `${err.message} ${err.hint ?? ''}`;
        assert.ok(!text.includes('not the passphrase') && !text.includes(PASSWORD), text);
        for (const line of body) assert.ok(!text.includes(line), 'the message holds the key');
        return true;
      });
    }
  });

  test('a PKCS#8 P-256 key signs; P-384, RSA, a public key or garbage as a signing key are SIGN_KEY', async () => {
    const key = await loadSigningKey(join(dir, 'p256.pem'), {});
    const pub = createPublicKey(await readFile(join(dir, 'p256.pem')));
    assert.ok(verifySignature(pub, Buffer.from('x'), key.sign(Buffer.from('x'))));
    for (const file of ['p384.pem', 'rsa.pem', 'cosign-test.pub', 'README.md', 'missing.pem']) {
      await assert.rejects(loadSigningKey(join(dir, file), {}), (err: unknown) => isAlbaError(err, 'SIGN_KEY'), file);
    }
    await assert.rejects(loadPublicKey(join(dir, 'p384.pem')), (err: unknown) => isAlbaError(err, 'SIGN_KEY'));
  });
});

describe('signing key files that are not keys', () => {
  /** A cosign key with these scrypt parameters (the passphrase never opens it: the parameters are refused first). */
  async function cosignKey(params: Record<string, number>): Promise<string> {
    const body = {
      kdf: { name: 'scrypt', params, salt: 'AAAA' },
      cipher: { name: 'nacl/secretbox', nonce: Buffer.alloc(24).toString('base64') },
      ciphertext: 'AAAA',
    };
    const pem = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${Buffer.from(JSON.stringify(body)).toString('base64')}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
    const file = join(await mkdtemp(join(tmpdir(), 'alba-keys-')), `${Object.values(params).join('-')}.key`);
    await writeFile(file, pem);
    return file;
  }

  test('scrypt parameters Node refuses (N not a power of two above 1, r*p beyond its memory, N too large for r) are SIGN_KEY naming the file', async () => {
    for (const params of [
      { N: 3, r: 8, p: 1 },
      { N: 1, r: 8, p: 1 },
      { N: 2, r: 2 ** 19, p: 16 },
      // small, but refused by OpenSSL (N < 2^(16r)): Node throws as scrypt() is called
      { N: 65536, r: 1, p: 1 },
      { N: 2 ** 20, r: 1, p: 1 },
    ]) {
      const file = await cosignKey(params);
      await assert.rejects(loadSigningKey(file, { ALBA_SIGN_PASSWORD: 'x' }), (err: unknown) => {
        assert.ok(isAlbaError(err, 'SIGN_KEY'), `${JSON.stringify(params)}: ${String(err)}`);
        assert.match(err.message, new RegExp(`^${file}: its scrypt parameters \\(N=${params.N}, r=${params.r}, p=${params.p}\\)`));
        return true;
      });
    }
    // and no OpenSSL error is left behind for the next key read (Node leaves the one of scrypt's refusal queued)
    assert.ok(await loadSigningKey(join(dir, 'p256.pem'), {}));
  });

  test('/dev/null, a directory or a FIFO as --key or --sign-key: SIGN_KEY saying it is not a regular file, at once', async () => {
    const fifo = join(await mkdtemp(join(tmpdir(), 'alba-keys-')), 'fifo.pem');
    spawnSync('mkfifo', [fifo]);
    const module = new URL('../../src/trust/keys.js', import.meta.url).href;
    // in a child with a timeout: a regression waiting on the FIFO fails here instead of hanging the runner
    const script = `const m = await import(${JSON.stringify(module)});
      for (const path of ${JSON.stringify(['/dev/null', dir, fifo])})
        for (const load of [m.loadPublicKey, (f) => m.loadSigningKey(f, {})])
          await load(path).then(() => console.log('read', path), (e) => console.log(e.code, e.message));`;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(res.signal, null, `timed out: ${res.stdout}`);
    const expected = ['/dev/null', dir, fifo].flatMap((path) =>
      Array<string>(2).fill(`SIGN_KEY ${path}: it is not a regular file (a directory, a FIFO or a device)`),
    );
    assert.deepEqual(res.stdout.trim().split('\n'), expected);
    await assert.rejects(
      loadPublicKey(join(dir, 'missing.pub')),
      (err: unknown) => isAlbaError(err, 'SIGN_KEY') && /no such key file/.test(err.message),
    );
  });
});

describe('DSSE', () => {
  test("PAE is the spec's encoding (DSSEv1 SP len(type) SP type SP len(body) SP body)", () => {
    assert.equal(
      pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(),
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  test('an envelope signs PAE(payloadType, payload), not the payload alone', async () => {
    const key = await loadSigningKey(join(dir, 'p256.pem'), {});
    const payload = Buffer.from('{"a":1}');
    const envelope = parseEnvelope(signedEnvelope(payload, key.sign), 'test');
    const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
    assert.ok(verifySignature(key.publicKey, pae(envelope.payloadType, payload), sig));
    assert.ok(!verifySignature(key.publicKey, payload, sig));
  });
});
