/**
 * Signing keys: cosign's encrypted private key (what `cosign generate-key-pair` writes: a PEM
 * `ENCRYPTED SIGSTORE PRIVATE KEY` or `ENCRYPTED COSIGN PRIVATE KEY` holding JSON — scrypt
 * parameters and salt, a nacl secretbox nonce and the sealed PKCS#8 DER), or a plain PKCS#8 PEM
 * EC P-256 key (openssl). Key material stays inside the KeyObject: no message, error or file
 * alba writes holds it (messages name the key's path, never its bytes or passphrase).
 */
import { createHash, createPrivateKey, createPublicKey, scrypt, sign, verify, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';
import { AlbaError } from '../errors.js';
import { isMissingFile, readSmallFile } from '../util/regular-file.js';

/** A key that signs: ECDSA P-256 with SHA-256, DER signatures (what cosign writes and reads). */
export interface SigningKey {
  /** The key file, for messages. */
  readonly file: string;
  readonly publicKey: KeyObject;
  /** sha256 of the public key's SPKI DER, hex: names the signer (never secret). */
  readonly fingerprint: string;
  sign(data: Buffer): Buffer;
}

/** The largest key file read. */
const MAX_KEY_FILE = 64 * 1024;
/** scrypt's memory for cosign's N=65536, r=8 (64 MiB) with room; larger parameters are refused. */
const SCRYPT_MAXMEM = 256 * 1024 * 1024;
const ENCRYPTED = /-----BEGIN ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----([\s\S]*?)-----END ENCRYPTED \1 PRIVATE KEY-----/;

/** Reads a signing key; the passphrase of an encrypted one from ALBA_SIGN_PASSWORD, else COSIGN_PASSWORD. */
export async function loadSigningKey(file: string, env: NodeJS.ProcessEnv = process.env): Promise<SigningKey> {
  const text = await readKeyFile(file);
  const encrypted = ENCRYPTED.exec(text);
  let key: KeyObject;
  if (encrypted !== null) {
    const password = env.ALBA_SIGN_PASSWORD ?? env.COSIGN_PASSWORD;
    if (password === undefined)
      throw new AlbaError('SIGN_KEY', `${file} is an encrypted cosign key and no passphrase was given`, {
        hint: 'set ALBA_SIGN_PASSWORD (or COSIGN_PASSWORD) to its passphrase (an empty one is allowed)',
      });
    key = pkcs8(await openCosignKey(file, encrypted[2] ?? '', password), file);
  } else if (/-----BEGIN PRIVATE KEY-----/.test(text)) {
    key = pkcs8(text, file);
  } else {
    throw unsupported(file, 'it is neither a cosign encrypted key nor a PKCS#8 PEM private key');
  }
  checkP256(key, file);
  const publicKey = createPublicKey(key);
  return {
    file,
    publicKey,
    fingerprint: fingerprintOf(publicKey),
    sign: (data) => sign('sha256', data, key),
  };
}

/** Reads a PEM public key (SPKI, what `cosign generate-key-pair` writes as cosign.pub), or the public half of a private key. */
export async function loadPublicKey(file: string): Promise<KeyObject> {
  const text = await readKeyFile(file);
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    throw unsupported(file, 'it is not a PEM public key');
  }
  checkP256(key, file);
  return key;
}

/** True when `signature` (DER) is an ECDSA P-256/SHA-256 signature of `data` by `key`. */
export function verifySignature(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    return verify('sha256', data, key, signature);
  } catch {
    return false;
  }
}

/** sha256 of a public key's SPKI DER, hex. */
export function fingerprintOf(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

async function readKeyFile(file: string): Promise<string> {
  // never waits on a FIFO nor reads a device: a key is a regular file of a few hundred bytes
  const notAKeyFile = (why: string, cause?: unknown): AlbaError =>
    new AlbaError('SIGN_KEY', `${file}: ${why}`, {
      hint: 'give the path of a key file (cosign generate-key-pair, or openssl)',
      ...(cause === undefined ? {} : { cause }),
    });
  const bytes = await readSmallFile(file, MAX_KEY_FILE, (why, cause) => notAKeyFile(`it ${why}`, cause)).catch((err: unknown) => {
    throw isMissingFile(err) ? notAKeyFile('no such key file', err) : err;
  });
  return bytes.toString('latin1');
}

interface CosignKeyJson {
  kdf?: { name?: unknown; params?: { N?: unknown; r?: unknown; p?: unknown }; salt?: unknown };
  cipher?: { name?: unknown; nonce?: unknown };
  ciphertext?: unknown;
}

/** The PKCS#8 DER sealed in a cosign key: scrypt(passphrase, salt) opens the nacl secretbox. */
async function openCosignKey(file: string, body: string, password: string): Promise<Buffer> {
  let json: CosignKeyJson;
  try {
    json = JSON.parse(Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')) as CosignKeyJson;
  } catch {
    throw unsupported(file, 'its PEM body is not the JSON cosign writes');
  }
  const { kdf, cipher, ciphertext } = json;
  const [N, r, p] = [kdf?.params?.N, kdf?.params?.r, kdf?.params?.p];
  if (
    kdf?.name !== 'scrypt' ||
    cipher?.name !== 'nacl/secretbox' ||
    typeof kdf.salt !== 'string' ||
    typeof cipher.nonce !== 'string' ||
    typeof ciphertext !== 'string' ||
    !isCount(N) ||
    !isCount(r) ||
    !isCount(p)
  )
    throw unsupported(file, 'its key derivation or cipher is not scrypt + nacl/secretbox');
  const params = `its scrypt parameters (N=${N}, r=${r}, p=${p})`;
  // OpenSSL's own rules, checked before Node sees them: Node throws "Invalid scrypt params" for
  // parameters it refuses and leaves OpenSSL's error queued, so that the process's next crypto
  // call (reading another key) fails with it
  const why = scryptProblem(N, r, p);
  if (why !== undefined) throw unsupported(file, `${params} ${why}`);
  const secret = await new Promise<Buffer>((resolve, reject) => {
    const refused = (err: unknown): void => reject(unsupported(file, `${params} cannot be used (${(err as Error).message})`, err));
    try {
      scrypt(
        Buffer.from(password, 'utf8'),
        Buffer.from(kdf.salt as string, 'base64'),
        32,
        { N, r, p, maxmem: SCRYPT_MAXMEM },
        (err, key) => (err === null ? resolve(key) : refused(err)),
      );
    } catch (err) {
      // parameters Node refuses all the same (scryptProblem should have said it): thrown here, not in the callback
      refused(err);
    }
  });
  const nonce = Buffer.from(cipher.nonce, 'base64');
  if (nonce.length !== nacl.secretbox.nonceLength) throw unsupported(file, 'its nonce is not 24 bytes');
  const opened = nacl.secretbox.open(Buffer.from(ciphertext, 'base64'), nonce, secret);
  secret.fill(0);
  if (opened === null)
    throw new AlbaError('SIGN_KEY', `${file}: the passphrase does not open this key`, {
      hint: 'check ALBA_SIGN_PASSWORD (or COSIGN_PASSWORD)',
    });
  return Buffer.from(opened);
}

/**
 * Why scrypt(N, r, p) cannot be used, or undefined: OpenSSL's rules (N a power of two above 1 and
 * below 2^(16·r), r·p below 2^30) and alba's memory bound (cosign writes N=65536, r=8, p=1).
 */
function scryptProblem(N: number, r: number, p: number): string | undefined {
  if (N < 2 || !Number.isInteger(Math.log2(N))) return "are not scrypt's: N must be a power of two above 1";
  if (16 * r < 63 && N >= 2 ** (16 * r)) return `are not scrypt's: N must be below 2^(16·r) = ${2 ** (16 * r)}`;
  // OpenSSL's memory: 128·r·(N + 2) for V, 128·r·p for B
  if (p > 16 || 128 * r * (N + 2 + p) > SCRYPT_MAXMEM / 2) return 'are larger than alba accepts';
  return undefined;
}

function pkcs8(key: string | Buffer, file: string): KeyObject {
  try {
    return typeof key === 'string' ? createPrivateKey(key) : createPrivateKey({ key, format: 'der', type: 'pkcs8' });
  } catch {
    throw unsupported(file, 'its private key cannot be read');
  } finally {
    if (typeof key !== 'string') key.fill(0);
  }
}

function checkP256(key: KeyObject, file: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw unsupported(
      file,
      `it is a ${key.asymmetricKeyType ?? 'unknown'} key${key.asymmetricKeyDetails?.namedCurve === undefined ? '' : ` on ${key.asymmetricKeyDetails.namedCurve}`}, not EC P-256`,
    );
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

function unsupported(file: string, why: string, cause?: unknown): AlbaError {
  return new AlbaError('SIGN_KEY', `${file}: ${why}`, {
    hint: 'alba signs with ECDSA P-256 keys: `cosign generate-key-pair`, or `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`',
    ...(cause === undefined ? {} : { cause }),
  });
}
