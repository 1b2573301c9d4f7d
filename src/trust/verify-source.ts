/** The stores `alba verify` reads: an OCI layout directory, or an image reference in a registry (an S3 static registry through its website). */
import { parseDigest } from '../oci/digest.js';
import { layoutArtifactReader, readLayout, selectRoot } from '../source/oci-layout.js';
import { RegistryClient, type RegistryClientOptions } from '../sink/registry/client.js';
import { formatReference, manifestReference, parseReference } from '../sink/registry/reference.js';
import { registryReader } from '../sink/registry/registry-reader.js';
import type { TrustSource } from './verify.js';

/** A layout (its signatures are index.json refs named `sha256-<hex>.sig|.att`, as a push to oci:DIR writes them). */
export async function layoutTrustSource(dir: string, ref?: string): Promise<TrustSource> {
  const layout = await readLayout(dir);
  const root = selectRoot(layout, ref);
  return {
    name: dir,
    reader: layoutArtifactReader(layout),
    root: parseDigest(root.digest),
    tag: async (tag) => {
      const d = layout.findRef(tag);
      return d === undefined ? undefined : layout.readBlob(parseDigest(d.digest));
    },
  };
}

/** `HOST/NAME:TAG` or `HOST/NAME@sha256:…` in a registry. */
export async function registryTrustSource(reference: string, options: RegistryClientOptions = {}): Promise<TrustSource> {
  const ref = parseReference(reference);
  const client = new RegistryClient(ref, options);
  await client.ping();
  const top = await client.manifest(manifestReference(ref));
  return {
    name: formatReference({ registry: ref.registry, repository: ref.repository }),
    reader: registryReader(client, 'the registry holds a corrupt manifest'),
    root: parseDigest(top.digest),
    tag: async (tag) => (await client.manifestIfFound(tag))?.bytes,
  };
}
