/**
 * `alba verify`: the cosign signatures of an image's root and of each platform manifest, checked
 * with a public key; the attestations signed by that key (their DSSE signature, their subject
 * being the image they are attached to); the SBOM referrers being the documents the attestations
 * sign. Signatures and attestations of other keys are passed over (a second signer's), but one of
 * this key that names another image is a failure. Reads any store through an ArtifactReader.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KeyObject } from 'node:crypto';
import { AlbaError, type ErrorCode } from '../errors.js';
import { findArtifact, readArtifact, type ArtifactReader } from '../oci/artifacts.js';
import { attachmentLayers, attachmentTag, Cosign } from '../oci/cosign.js';
import { digestHex, type Digest } from '../oci/digest.js';
import { parseManifestJson } from '../oci/manifest-json.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import { MAX_ENVELOPE_BYTES, pae, parseEnvelope, parseStatement, signedDigest } from './dsse.js';
import { installedPackages, sbomPackages } from './installed.js';
import { verifySignature } from './keys.js';
import { ATTESTED_KINDS } from './predicates.js';

/** Where to verify: a store, the root digest, how messages name it, and the manifests its tags name. */
export interface TrustSource {
  name: string;
  reader: ArtifactReader;
  root: Digest;
  /** The manifest bytes `tag` points at (cosign's `sha256-<hex>.sig|.att`), undefined when there is none. */
  tag(tag: string): Promise<Buffer | undefined>;
}

/** What was found for one manifest (the root, or a platform's). */
export interface SubjectReport {
  digest: string;
  platform?: string;
  /** Signatures of this key that verify. */
  signatures: number;
  /** Predicate types of the attestations of this key that verify (with their subject). */
  attestations: string[];
  /** Layers of other keys, passed over. */
  others: number;
}

/** The result: each subject, and every failure (code and message). */
export interface VerifyReport {
  name: string;
  root: string;
  subjects: SubjectReport[];
  failures: { code: ErrorCode; digest: string; message: string }[];
}

/** Verifies the image `source.root` names with `key`; failures are listed, not thrown (see failIfAny). */
export async function verifyImage(source: TrustSource, key: KeyObject): Promise<VerifyReport> {
  const report: VerifyReport = { name: source.name, root: source.root, subjects: [], failures: [] };
  const rootBytes = await source.reader.manifest(source.root);
  // the store's error: a layout's LAYOUT_INVALID (it was REGISTRY, whatever the store)
  if (rootBytes === undefined) throw source.reader.invalid(source.root, 'it is not there');
  const root = parseManifestJson(rootBytes, (why) => source.reader.invalid(source.root, why));
  const children: Descriptor[] =
    root.mediaType === MediaType.index || root.mediaType === MediaType.dockerManifestList ? (root.manifests ?? []) : [];
  const subjects = [{ digest: source.root } as Descriptor, ...children];
  for (const subject of subjects) {
    const fail = (code: ErrorCode, message: string): void =>
      void report.failures.push({ code, digest: subject.digest, message: `${source.name}@${subject.digest}: ${message}` });
    const entry: SubjectReport = {
      digest: subject.digest,
      ...(subject.platform === undefined ? {} : { platform: platformText(subject.platform) }),
      signatures: 0,
      attestations: [],
      others: 0,
    };
    report.subjects.push(entry);
    await checkSignatures(source, subject.digest as Digest, key, entry, fail);
    await checkAttestations(
      source,
      subject.digest as Digest,
      key,
      entry,
      fail,
      subject.digest === source.root && children.length > 0 ? undefined : () => platformPackages(source, subject.digest as Digest),
    );
  }
  return report;
}

/** Throws the first failure's code with every failure in the message. */
export function failIfAny(report: VerifyReport): void {
  const [first] = report.failures;
  if (first === undefined) return;
  throw new AlbaError(first.code, report.failures.map((f) => f.message).join('\n  '), {
    hint: 'do not deploy this image on the strength of these signatures; sign it again (alba build --push --sign-key, cosign sign) or check the key',
  });
}

type Fail = (code: ErrorCode, message: string) => void;

async function checkSignatures(source: TrustSource, subject: Digest, key: KeyObject, entry: SubjectReport, fail: Fail): Promise<void> {
  const tag = attachmentTag(subject, 'sig');
  const layers = attachmentLayers(await source.tag(tag)).filter((l) => l.mediaType === Cosign.simpleSigning);
  if (layers.length === 0) return fail('SIGNATURE_MISSING', `no signature (no ${tag} with simple signing layers)`);
  if (!readable(layers, tag, 'SIGNATURE_INVALID', fail)) return;
  for (const layer of layers) {
    const payload = await source.reader.blob(layer, MAX_ENVELOPE_BYTES);
    const annotation: unknown = layer.annotations?.[Cosign.signature];
    // a store's annotation may be anything: no string, no signature
    const signature = Buffer.from(typeof annotation === 'string' ? annotation : '', 'base64');
    if (!verifySignature(key, payload, signature)) {
      entry.others++;
      continue;
    }
    const claimed = signedDigest(payload, `${source.name}@${layer.digest}`);
    if (claimed !== subject) return fail('SIGNATURE_INVALID', `a signature by this key names another image (${claimed})`);
    entry.signatures++;
  }
  if (entry.signatures === 0) fail('SIGNATURE_INVALID', `none of the ${layers.length} signatures under ${tag} verifies with this key`);
}

async function checkAttestations(
  source: TrustSource,
  subject: Digest,
  key: KeyObject,
  entry: SubjectReport,
  fail: Fail,
  installed?: () => Promise<Set<string>>,
): Promise<void> {
  let packages: Promise<Set<string>> | undefined;
  const tag = attachmentTag(subject, 'att');
  const layers = attachmentLayers(await source.tag(tag)).filter((l) => l.mediaType === Cosign.dsse);
  if (!readable(layers, tag, 'ATTESTATION_INVALID', fail)) return;
  for (const layer of layers) {
    const where = `${source.name}@${layer.digest}`;
    let envelope;
    try {
      envelope = parseEnvelope(await source.reader.blob(layer, MAX_ENVELOPE_BYTES), where);
    } catch (err) {
      if (err instanceof AlbaError) return fail(err.code, err.message);
      throw err;
    }
    const payload = Buffer.from(envelope.payload, 'base64');
    const signedBytes = pae(envelope.payloadType, payload);
    const signed = envelope.signatures.some((s) => verifySignature(key, signedBytes, Buffer.from(s.sig, 'base64')));
    if (!signed) {
      entry.others++;
      continue;
    }
    let statement;
    try {
      statement = parseStatement(payload, where);
    } catch (err) {
      if (err instanceof AlbaError) return fail(err.code, err.message);
      throw err;
    }
    if (!statement.subject.some((s) => s.digest?.sha256 === digestHex(subject)))
      return fail(
        'ATTESTATION_INVALID',
        `an attestation (${statement.predicateType}) by this key is about another image (${statement.subject.map((s) => s.digest?.sha256).join(', ')})`,
      );
    const attested = ATTESTED_KINDS.find((a) => a.predicateType === statement.predicateType);
    if (attested !== undefined) {
      const found = await findArtifact(source.reader, subject, attested.kind);
      let document: unknown;
      try {
        document = found === undefined ? undefined : (JSON.parse((await readArtifact(source.reader, found)).toString('utf8')) as unknown);
      } catch (err) {
        if (err instanceof AlbaError) throw err;
        return fail('ATTESTATION_INVALID', `the ${attested.kind.what} attached (${found?.descriptor.digest}) is not JSON`);
      }
      if (document !== undefined && !isDeepStrictEqual(document, statement.predicate))
        return fail(
          'ATTESTATION_INVALID',
          `the ${attested.kind.what} attached (${found?.descriptor.digest}) is not the one the attestation signs`,
        );
      const listed = sbomPackages(statement.predicate);
      if (installed !== undefined && listed !== undefined) {
        const image = await (packages ??= installed());
        const missing = [...image].filter((p) => !listed.has(p));
        const extra = [...listed].filter((p) => !image.has(p));
        if (missing.length + extra.length > 0)
          return fail(
            'ATTESTATION_INVALID',
            `the signed ${attested.kind.what} does not list what the image's status.d says (${[...missing.map((p) => `missing ${p}`), ...extra.map((p) => `not installed: ${p}`)].slice(0, 5).join('; ')})`,
          );
      }
    }
    entry.attestations.push(statement.predicateType);
  }
}

/** The most layers of one `.sig` or `.att` tag alba reads (each a signer's signature or attestation of a type). */
export const MAX_ATTACHMENT_LAYERS = 1000;

/**
 * True when the layers of `tag` are few enough to read, one by one: at most MAX_ATTACHMENT_LAYERS
 * of MAX_ENVELOPE_BYTES in all (a size that is no byte count counts as a read up to that cap);
 * else `fail` with `code` and false, before any is read.
 */
function readable(layers: readonly Descriptor[], tag: string, code: ErrorCode, fail: Fail): boolean {
  const bytes = layers.reduce((n, l) => n + (Number.isSafeInteger(l.size) && l.size >= 0 ? l.size : MAX_ENVELOPE_BYTES), 0);
  if (layers.length <= MAX_ATTACHMENT_LAYERS && bytes <= MAX_ENVELOPE_BYTES) return true;
  fail(
    code,
    `${tag} has ${layers.length} layers of ${bytes} bytes in all, more than alba reads (${MAX_ATTACHMENT_LAYERS} layers, ${MAX_ENVELOPE_BYTES} bytes)`,
  );
  return false;
}

/** The packages the status.d of the image manifest `digest` lists. */
async function platformPackages(source: TrustSource, digest: Digest): Promise<Set<string>> {
  const bytes = await source.reader.manifest(digest);
  if (bytes === undefined) throw source.reader.invalid(digest, 'it is not there');
  return installedPackages(
    source.reader,
    parseManifestJson(bytes, (why) => source.reader.invalid(digest, why)),
    digest,
  );
}

function platformText(p: NonNullable<Descriptor['platform']>): string {
  return [p.os, p.architecture, ...(p.variant === undefined ? [] : [p.variant])].join('/');
}
