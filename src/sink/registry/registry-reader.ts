/** A registry repository as the graph walks and the referrer finder read it (oci/reachability.ts, oci/artifacts.ts). */
import { AlbaError } from '../../errors.js';
import type { ArtifactReader } from '../../oci/artifacts.js';
import type { RegistryClient } from './client.js';

/**
 * Reads manifests (checked against their digest by the client), referrers (the referrers API or
 * its tag fallback) and blobs (checked against size and digest) of the client's repository; a
 * manifest that does not read as one is error[REGISTRY] naming `repository@digest`, with `hint`.
 */
export function registryReader(client: RegistryClient, hint: string): ArtifactReader {
  return {
    manifest: async (digest) => (await client.manifestIfFound(digest))?.bytes,
    // with an artifactType (the referrer finder), the API is asked for that type only
    referrers: async (subject, artifactType) =>
      artifactType === undefined ? client.storedReferrers(subject) : { entries: await client.referrers(subject, artifactType) },
    invalid: (digest, why) => new AlbaError('REGISTRY', `${client.repository}@${digest} is not a manifest: ${why}`, { hint }),
    blob: (d) => client.blob(d),
  };
}
