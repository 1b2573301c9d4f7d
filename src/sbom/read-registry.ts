import { referrersTag } from '../oci/referrers.js';
import { RegistryClient, type RegistryClientOptions } from '../sink/registry/client.js';
import { formatReference, manifestReference, parseReference } from '../sink/registry/reference.js';
import { registryReader } from '../sink/registry/registry-reader.js';
import { readSbomFrom, type SbomFormat } from './read.js';

/** Which SBOM to read from a registry, and how to reach it. */
export interface ReadRegistrySbomOptions extends RegistryClientOptions {
  /** `linux/arm64`, `arm64`, `arm/v7`…; without it, the document of what the reference names (the index). */
  platform?: string;
  /** `spdx` (the default) or `cyclonedx`. */
  format?: SbomFormat;
}

/**
 * The SPDX (or CycloneDX) document attached in a registry to the image `reference` names (`host/name:tag` or
 * `host/name@sha256:…`), or to its platform manifest: the layer of the newest referrer manifest
 * with artifactType application/spdx+json (application/vnd.cyclonedx+json) whose subject is that manifest, found with the referrers
 * API or its tag fallback (oci/artifacts.ts), every byte checked against its digest.
 */
export async function readRegistrySbom(reference: string, options: ReadRegistrySbomOptions = {}): Promise<Buffer> {
  const ref = parseReference(reference);
  const client = new RegistryClient(ref, options);
  await client.ping();
  const top = await client.manifest(manifestReference(ref));
  return readSbomFrom(
    {
      reader: registryReader(client, 'the registry holds a corrupt manifest'),
      root: top.digest,
      name: formatReference(ref),
      notFoundHint: (subject) =>
        `push the image with its SBOM referrers (registries without the referrers API need the ${referrersTag(subject)} tag too), or check the platform`,
    },
    options.platform,
    options.format,
  );
}
