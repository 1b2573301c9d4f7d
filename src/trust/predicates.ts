/**
 * The referrer kinds alba attests, and the in-toto predicate type each becomes (what
 * `cosign verify-attestation --type` names). A new SBOM format is one more row.
 */
import { CYCLONEDX_SBOM, SPDX_SBOM, type ArtifactKind } from '../oci/artifacts.js';

export interface AttestedKind {
  kind: ArtifactKind;
  predicateType: string;
  /** cosign's `--type` for it. */
  cosignType: string;
}

export const ATTESTED_KINDS: readonly AttestedKind[] = [
  { kind: SPDX_SBOM, predicateType: 'https://spdx.dev/Document', cosignType: 'spdxjson' },
  { kind: CYCLONEDX_SBOM, predicateType: 'https://cyclonedx.org/bom', cosignType: 'cyclonedx' },
];
