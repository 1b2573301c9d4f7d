/**
 * Signing a graph before it is published: a cosign signature (simple signing payload, ECDSA
 * P-256) of the root and of every platform manifest; an in-toto attestation in a DSSE envelope
 * of each attested referrer (the SBOMs) for its subject; SLSA provenance for the root and each
 * platform. All become `attachments` of the graph, stored by the one publish walk (sink/publish.ts)
 * after the images and before the tags, merged with the signatures other signers left there.
 */
import { AlbaError } from '../errors.js';
import { MAX_ARTIFACT_BYTES } from '../oci/artifacts.js';
import { attachmentTag, Cosign, type Attachment, type AttachmentLayer } from '../oci/cosign.js';
import { digestOf, type Digest } from '../oci/digest.js';
import { blobBytes, memoryBlob, type Blob, type ImageGraph } from '../oci/graph.js';
import type { Descriptor } from '../oci/types.js';
import { signedEnvelope, simpleSigningPayload, statement } from './dsse.js';
import { verifySignature, type SigningKey } from './keys.js';
import { ATTESTED_KINDS } from './predicates.js';
import { provenancePredicate, SLSA_PROVENANCE_V1, type ProvenanceFacts } from './provenance.js';

/** How to sign. */
export interface SignOptions {
  key: SigningKey;
  /** The repository the signatures name (`HOST/REPO`): the docker-reference of the payload, the subject name of the statements. */
  identity: string;
  /** With it, SLSA provenance is attested too (alba build --push). */
  provenance?: ProvenanceFacts;
}

/** `graph` with the signatures and attestations of its root and platform images. */
export async function signGraph(graph: ImageGraph, options: SignOptions): Promise<ImageGraph> {
  const subjects = uniqueSubjects([graph.root.descriptor, ...graph.images.map((i) => i.manifest.descriptor)]);
  const attachments: Attachment[] = subjects.map((s) => ({
    tag: attachmentTag(s.digest as Digest, 'sig'),
    subject: s,
    layers: [signatureLayer(s, options)],
  }));
  const attestations = new Map<string, AttachmentLayer[]>(subjects.map((s) => [s.digest, []]));
  for (const referrer of graph.referrers) {
    const layers = attestations.get(referrer.subject.digest);
    const attested = ATTESTED_KINDS.find(
      (a) => (referrer.manifest.descriptor.artifactType ?? artifactTypeOf(referrer.manifest)) === a.kind.artifactType,
    );
    const content = referrer.blobs.find((b) => b.descriptor.mediaType === attested?.kind.layerMediaType);
    if (layers === undefined || attested === undefined || content === undefined) continue;
    const predicate = parseDocument(await blobBytes(content, MAX_ARTIFACT_BYTES), content.descriptor.digest, attested.kind.what);
    layers.push(attestationLayer(referrer.subject, attested.predicateType, predicate, options));
  }
  if (options.provenance !== undefined) {
    const predicate = provenancePredicate(options.provenance);
    for (const s of subjects) attestations.get(s.digest)?.push(attestationLayer(s, SLSA_PROVENANCE_V1, predicate, options));
  }
  for (const s of subjects) {
    const layers = attestations.get(s.digest) ?? [];
    if (layers.length > 0) attachments.push({ tag: attachmentTag(s.digest as Digest, 'att'), subject: s, layers });
  }
  return { ...graph, attachments: [...(graph.attachments ?? []), ...attachments] };
}

/** The simple signing layer of `subject`; already present when the tag holds the same payload signed by the same key. */
function signatureLayer(subject: Descriptor, { key, identity }: SignOptions): AttachmentLayer {
  const payload = simpleSigningPayload(identity, subject.digest as Digest);
  const blob = layerBlob(payload, Cosign.simpleSigning, { [Cosign.signature]: key.sign(payload).toString('base64') });
  return {
    blob,
    present: (d) =>
      d.digest === blob.descriptor.digest &&
      verifySignature(key.publicKey, payload, Buffer.from(d.annotations?.[Cosign.signature] ?? '', 'base64')),
    replaces: () => false,
  };
}

/** The DSSE layer of one statement; it replaces the same signer's earlier attestation of that type. */
function attestationLayer(subject: Descriptor, predicateType: string, predicate: unknown, { key, identity }: SignOptions): AttachmentLayer {
  const envelope = signedEnvelope(statement(identity, subject.digest as Digest, predicateType, predicate), key.sign);
  const blob = layerBlob(envelope, Cosign.dsse, {
    [Cosign.signature]: '',
    [Cosign.predicateType]: predicateType,
    [Cosign.signer]: key.fingerprint,
  });
  return {
    blob,
    present: (d) => d.digest === blob.descriptor.digest,
    replaces: (d) => d.annotations?.[Cosign.predicateType] === predicateType && d.annotations[Cosign.signer] === key.fingerprint,
  };
}

function layerBlob(bytes: Buffer, mediaType: string, annotations: Record<string, string>): Blob {
  return memoryBlob({ bytes, descriptor: { mediaType, digest: digestOf(bytes), size: bytes.length, annotations } });
}

function uniqueSubjects(ds: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return ds.filter((d) => !seen.has(d.digest) && seen.add(d.digest) !== undefined);
}

function artifactTypeOf(manifest: Blob): string | undefined {
  if (manifest.bytes === undefined) return undefined;
  try {
    return (JSON.parse(manifest.bytes.toString('utf8')) as { artifactType?: string }).artifactType;
  } catch {
    return undefined;
  }
}

/** The document an attestation signs; ATTESTATION_INVALID naming its blob when it is not JSON. */
function parseDocument(bytes: Buffer, digest: string, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (cause) {
    throw new AlbaError('ATTESTATION_INVALID', `the ${what} to attest (${digest}) is not JSON`, {
      hint: 'build the image again: its SBOM blob is damaged',
      cause,
    });
  }
}
