/**
 * DSSE envelopes (secure-systems-lab/dsse: the signature covers PAE(payloadType, payload), never
 * the JSON around it) holding in-toto statements v1 (subject: the image's name and digest,
 * predicateType, predicate), and cosign's simple signing payload. Pure: keys sign and verify.
 */
import { AlbaError } from '../errors.js';
import { digestHex, type Digest } from '../oci/digest.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
/** The largest DSSE envelope or signature payload alba reads into memory (an SBOM, base64). */
export const MAX_ENVELOPE_BYTES = 512 * 1024 * 1024;
/** The most signatures of one envelope alba checks (each over the whole payload); cosign and alba write one. */
export const MAX_ENVELOPE_SIGNATURES = 64;

/** DSSE's pre-authentication encoding: `DSSEv1 <len(type)> <type> <len(body)> <body>`. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** A DSSE envelope. */
export interface Envelope {
  payloadType: string;
  /** base64 */
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

/** The envelope of `payload`, signed by `sign` (DER ECDSA), as JSON bytes. */
export function signedEnvelope(payload: Buffer, sign: (data: Buffer) => Buffer, payloadType = IN_TOTO_PAYLOAD_TYPE): Buffer {
  const envelope: Envelope = {
    payloadType,
    payload: payload.toString('base64'),
    signatures: [{ keyid: '', sig: sign(pae(payloadType, payload)).toString('base64') }],
  };
  return Buffer.from(JSON.stringify(envelope), 'utf8');
}

/** An envelope read back; ATTESTATION_INVALID naming `where` when it is not one. */
export function parseEnvelope(bytes: Buffer, where: string): Envelope {
  let value: Partial<Envelope>;
  try {
    value = JSON.parse(bytes.toString('utf8')) as Partial<Envelope>;
  } catch {
    throw invalidAttestation(where, 'it is not JSON');
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value.payloadType !== 'string' ||
    typeof value.payload !== 'string' ||
    !Array.isArray(value.signatures)
  )
    throw invalidAttestation(where, 'it is not a DSSE envelope (payloadType, payload, signatures)');
  if (value.signatures.length > MAX_ENVELOPE_SIGNATURES)
    throw invalidAttestation(where, `it holds ${value.signatures.length} signatures, more than the ${MAX_ENVELOPE_SIGNATURES} alba checks`);
  const signatures = value.signatures.filter(
    (s): s is Envelope['signatures'][number] => typeof s === 'object' && s !== null && typeof s.sig === 'string',
  );
  return { payloadType: value.payloadType, payload: value.payload, signatures };
}

/** An in-toto statement v1 about one image. */
export interface Statement {
  _type: string;
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: string;
  predicate: unknown;
}

/** The statement that `predicate` (of `predicateType`) is about the image `name@digest`. */
export function statement(name: string, digest: Digest, predicateType: string, predicate: unknown): Buffer {
  const value: Statement = { _type: STATEMENT_V1, subject: [{ name, digest: { sha256: digestHex(digest) } }], predicateType, predicate };
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** A statement read back from an envelope's payload (v1 or cosign's v0.1); ATTESTATION_INVALID when it is not one. */
export function parseStatement(payload: Buffer, where: string): Statement {
  let value: Partial<Statement>;
  try {
    value = JSON.parse(payload.toString('utf8')) as Partial<Statement>;
  } catch {
    throw invalidAttestation(where, 'its payload is not JSON');
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value._type !== 'string' ||
    !value._type.startsWith('https://in-toto.io/Statement/') ||
    typeof value.predicateType !== 'string' ||
    !Array.isArray(value.subject)
  )
    throw invalidAttestation(where, 'its payload is not an in-toto statement');
  // subjects that are not `{name, digest: {…}}` name nothing (a signed payload, yet checked)
  const subject = (value.subject as unknown[]).filter(
    (s): s is Statement['subject'][number] =>
      typeof s === 'object' &&
      s !== null &&
      typeof (s as { digest?: unknown }).digest === 'object' &&
      (s as { digest?: unknown }).digest !== null,
  );
  return { ...(value as Statement), subject };
}

/** cosign's simple signing payload: the claim that `reference` names the image `digest`. */
export function simpleSigningPayload(reference: string, digest: Digest): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': reference },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
    'utf8',
  );
}

/** The digest a simple signing payload claims; SIGNATURE_INVALID naming `where` when it is not such a payload. */
export function signedDigest(payload: Buffer, where: string): string {
  try {
    const value = JSON.parse(payload.toString('utf8')) as { critical?: { type?: unknown; image?: { 'docker-manifest-digest'?: unknown } } };
    const digest = value.critical?.image?.['docker-manifest-digest'];
    if (value.critical?.type === 'cosign container image signature' && typeof digest === 'string') return digest;
  } catch {
    // below
  }
  throw new AlbaError('SIGNATURE_INVALID', `${where}: the signed payload is not a cosign simple signing claim`, {
    hint: 'this signature was not made by cosign or alba; do not trust the image on its strength',
  });
}

export function invalidAttestation(where: string, why: string): AlbaError {
  return new AlbaError('ATTESTATION_INVALID', `${where}: ${why}`, { hint: 'do not trust this attestation; sign the image again' });
}
