import { AlbaError } from '../errors.js';
import { parseDigest, type Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import { RegistryClient, type FetchedManifest, type RegistryClientOptions } from '../sink/registry/client.js';
import { formatReference, manifestReference, parseReference } from '../sink/registry/reference.js';
import { platformEntry } from './read.js';
import { referrersTag } from '../oci/referrers.js';

/** Which SBOM to read from a registry, and how to reach it. */
export interface ReadRegistrySbomOptions extends RegistryClientOptions {
  /** `linux/arm64`, `arm64`, `arm/v7`…; without it, the document of what the reference names (the index). */
  platform?: string;
}

interface ManifestJson {
  artifactType?: string;
  config?: { mediaType?: string };
  layers?: Descriptor[];
  subject?: { digest?: string };
  manifests?: Descriptor[];
}

const CREATED = 'org.opencontainers.image.created';

/**
 * The SPDX document attached in a registry to the image `reference` names (`host/name:tag` or
 * `host/name@sha256:…`), or to its platform manifest: the layer of the newest referrer manifest
 * with artifactType application/spdx+json whose subject is that manifest, found with the referrers
 * API or its tag fallback, every byte checked against its digest.
 */
export async function readRegistrySbom(reference: string, options: ReadRegistrySbomOptions = {}): Promise<Buffer> {
  const ref = parseReference(reference);
  const name = formatReference(ref);
  const client = new RegistryClient(ref, options);
  await client.ping();
  const top = await client.manifest(manifestReference(ref));
  const subject = options.platform === undefined ? top.digest : platformSubject(top, options.platform, name);
  const candidates = (await client.referrers(subject, MediaType.spdx)).sort(newestFirst);
  for (const candidate of candidates) {
    if (candidate.mediaType !== MediaType.manifest) continue;
    const manifest = parse(await client.manifest(candidate.digest), name);
    const layer = manifest.layers?.find((l) => l.mediaType === MediaType.spdx);
    if (manifest.subject?.digest !== subject || (manifest.artifactType ?? manifest.config?.mediaType) !== MediaType.spdx || layer === undefined) continue;
    return client.blob({ digest: parseDigest(layer.digest), size: layer.size });
  }
  const what = options.platform === undefined ? name : `platform ${options.platform} of ${name}`;
  throw new AlbaError('SBOM_NOT_FOUND', `no SPDX SBOM for ${what} (${subject}): the registry lists no referrer with artifactType ${MediaType.spdx}`, {
    hint: `push the image with its SBOM referrers (registries without the referrers API need the ${referrersTag(subject)} tag too), or check the platform`,
  });
}

/** The digest of the platform manifest of an index. */
function platformSubject(top: FetchedManifest, platform: string, name: string): Digest {
  if (top.mediaType !== MediaType.index && top.mediaType !== MediaType.dockerManifestList) {
    throw new AlbaError('USAGE', `${name} is a single image (${top.mediaType}), not a multi-platform index`, { hint: 'drop --platform' });
  }
  return parseDigest(platformEntry(parse(top, name).manifests ?? [], platform, top.digest).digest);
}

/** Newest `org.opencontainers.image.created` first, then by digest, as for layouts. */
function newestFirst(a: Descriptor, b: Descriptor): number {
  const ca = a.annotations?.[CREATED] ?? '';
  const cb = b.annotations?.[CREATED] ?? '';
  if (ca !== cb) return ca > cb ? -1 : 1;
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}

function parse(manifest: FetchedManifest, name: string): ManifestJson {
  try {
    return JSON.parse(manifest.bytes.toString('utf8')) as ManifestJson;
  } catch (cause) {
    throw new AlbaError('REGISTRY', `manifest ${manifest.digest} of ${name} is not JSON`, { hint: 'the registry holds a corrupt manifest', cause });
  }
}
