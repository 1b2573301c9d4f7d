/**
 * A PKCS#12 trust store (RFC 7292) as Java 9+ reads `cacerts` by default: one unencrypted
 * SafeContents of certBags, each with the alias as `friendlyName` and Java's trusted-usage
 * attribute (OID 2.16.840.1.113894.746875.1.1 = anyExtendedKeyUsage, what keytool writes for a
 * trusted certificate entry; without it Java ignores a certificate that has no key), and an
 * HMAC-SHA256 MacData keyed from the password with the PKCS#12 KDF (RFC 7292 B.2), 10000
 * iterations, as keytool writes it.
 *
 * Deterministic: the bags are in the order given; the MAC salt is the first 20 bytes of the
 * SHA-256 of the AuthenticatedSafe, so the same certificates and aliases give the same bytes.
 * Certificates are public: nothing is encrypted (no IV, no key); the MAC only lets keytool check
 * the password `changeit`, which Debian's ca-certificates-java and distroless use.
 *
 * About 100 lines of DER instead of a dependency: node-forge's PKCS#12 writer cannot add Java's
 * trusted-usage attribute, and takes random salts.
 */
import { createHash, createHmac } from 'node:crypto';

/** One trusted certificate: its alias (lowercase, as Java stores PKCS#12 aliases) and DER bytes. */
export interface TrustedCertificate {
  alias: string;
  der: Buffer;
}

/** The password Java's `cacerts` has by default (`keytool -cacerts` asks for it). */
export const JAVA_CACERTS_PASSWORD = 'changeit';

const MAC_ITERATIONS = 10_000;

const OID = {
  data: '1.2.840.113549.1.7.1',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  javaTrustedKeyUsage: '2.16.840.1.113894.746875.1.1',
  anyExtendedKeyUsage: '2.5.29.37.0',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
/** DER SET OF: elements sorted by their encodings. */
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat([...items].sort(Buffer.compare)));
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const explicit0 = (b: Buffer): Buffer => tlv(0xa0, b);
const NULL = Buffer.from([0x05, 0x00]);

function integer(n: number): Buffer {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const b: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) b.unshift(0x80 | (v & 0x7f));
    out.push(...b);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTF-16BE, as BMPString and PKCS#12 passwords are written. */
function bmp(text: string): Buffer {
  const le = Buffer.from(text, 'utf16le');
  const be = Buffer.alloc(le.length);
  for (let i = 0; i < le.length; i += 2) {
    be[i] = le[i + 1]!;
    be[i + 1] = le[i]!;
  }
  return be;
}

const attribute = (type: string, value: Buffer): Buffer => seq(oid(type), set(value));

function certBag(cert: TrustedCertificate): Buffer {
  const value = seq(oid(OID.x509Certificate), explicit0(octets(cert.der)));
  const attributes = set(
    attribute(OID.friendlyName, tlv(0x1e, bmp(cert.alias))),
    attribute(OID.javaTrustedKeyUsage, oid(OID.anyExtendedKeyUsage)),
  );
  return seq(oid(OID.certBag), explicit0(value), attributes);
}

/** RFC 7292 B.2 with SHA-256 (u = 32, v = 64), ID 3 (MAC key), n = 32 bytes. */
export function pkcs12MacKey(password: string, salt: Buffer, iterations: number): Buffer {
  const v = 64;
  const u = 32;
  const fill = (src: Buffer): Buffer => {
    if (src.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const D = Buffer.alloc(v, 3);
  const I = Buffer.concat([fill(salt), fill(Buffer.concat([bmp(password), Buffer.from([0, 0])]))]);
  let A = createHash('sha256').update(D).update(I).digest();
  for (let r = 1; r < iterations; r++) A = createHash('sha256').update(A).digest();
  // one block suffices: n = u = 32 bytes, so I need not be adjusted for a next block
  return A.subarray(0, u);
}

/** The PKCS#12 bytes of a trust store holding `certificates`, in that order (see the module comment). */
export function pkcs12TrustStore(certificates: readonly TrustedCertificate[], password: string = JAVA_CACERTS_PASSWORD): Buffer {
  const aliases = new Set<string>();
  for (const c of certificates) {
    if (aliases.has(c.alias)) throw new RangeError(`duplicate trust store alias ${c.alias}`);
    aliases.add(c.alias);
  }
  const safeContents = seq(...certificates.map(certBag));
  const authSafe = seq(seq(oid(OID.data), explicit0(octets(safeContents))));
  const salt = createHash('sha256').update(authSafe).digest().subarray(0, 20);
  const mac = createHmac('sha256', pkcs12MacKey(password, salt, MAC_ITERATIONS))
    .update(authSafe)
    .digest();
  const macData = seq(seq(seq(oid(OID.sha256), NULL), octets(mac)), octets(salt), integer(MAC_ITERATIONS));
  return seq(integer(3), seq(oid(OID.data), explicit0(octets(authSafe))), macData);
}
