import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
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
