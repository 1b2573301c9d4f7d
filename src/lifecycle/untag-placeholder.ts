/**
 * The placeholder manifest that removes a registry tag alone where the registry refuses a DELETE
 * by tag (sink/registry/registry-removal.ts): the tag is pointed at it, then it is deleted by
 * digest, as `regctl tag rm` does. It depends on the tag and the digest the tag named (no time, no
 * run id), so the next removal recognises a tag a killed run left on it (lifecycle/removal-plan.ts,
 * `unfinishedTags`) and finishes that run: deleting it by digest takes the tag away.
 */
import type { JsonBlob } from '../oci/json.js';
import { artifactManifestBlob, EMPTY_DESCRIPTOR } from '../oci/manifest.js';

const PLACEHOLDER_TYPE = 'application/vnd.alba.untagged.v1+json';

/** The placeholder of removing `tag`, which named `digest` (the annotation is their journal entry, `TAG@DIGEST`). */
export function untagPlaceholder(tag: string, digest: string): JsonBlob {
  return artifactManifestBlob({
    artifactType: PLACEHOLDER_TYPE,
    layers: [EMPTY_DESCRIPTOR],
    annotations: { 'dev.alba.untagged': `${tag}@${digest}` },
  });
}
