/**
 * What an image says is installed (its `var/lib/dpkg/status.d/<name>` stanzas, read from its
 * layers) and what an SBOM says (its `pkg:deb/…` purls, SPDX or CycloneDX), as `name version`
 * sets: `alba verify` checks that the SBOMs a key signed list exactly the image's packages.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { parseDeb822, field } from '../debian/deb822.js';
import { isAlbaError } from '../errors.js';
import { STATUS_DIR } from '../layer/dpkg-status.js';
import type { ArtifactReader } from '../oci/artifacts.js';
import type { Digest } from '../oci/digest.js';
import type { ManifestJson } from '../oci/manifest-json.js';
import { MediaType } from '../oci/media-types.js';

/** The largest layer read, and the largest status.d stanza. */
const MAX_LAYER_BYTES = 256 * 1024 * 1024;
const MAX_STANZA_BYTES = 1024 * 1024;

/**
 * `name version` of every status.d stanza of the layers of the image manifest `digest` (a later
 * layer's entry replaces an earlier one's). A layer that is not a tar (or not gzip) is the store's
 * error (`reader.invalid`) naming the manifest and the layer.
 */
export async function installedPackages(reader: ArtifactReader, manifest: ManifestJson, digest: Digest): Promise<Set<string>> {
  const byName = new Map<string, string>();
  for (const layer of manifest.layers ?? []) {
    if (layer.mediaType !== MediaType.layerGzip && layer.mediaType !== MediaType.layerTar) continue;
    const bytes = await reader.blob(layer, MAX_LAYER_BYTES);
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const name = header.name.replace(/^\.?\//, '');
      const wanted =
        header.type === 'file' &&
        name.startsWith(`${STATUS_DIR}/`) &&
        !name.slice(STATUS_DIR.length + 1).includes('.') &&
        header.size !== undefined &&
        header.size <= MAX_STANZA_BYTES;
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        if (wanted) chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        if (wanted)
          for (const stanza of parseDeb822(Buffer.concat(chunks).toString('utf8'))) {
            const pkg = field(stanza, 'Package');
            const version = field(stanza, 'Version');
            if (pkg !== undefined && version !== undefined) byName.set(name, `${pkg} ${version}`);
          }
        next();
      });
    });
    const source = Readable.from([bytes]);
    const gzip = layer.mediaType === MediaType.layerGzip;
    await (gzip ? pipeline(source, createGunzip(), extract) : pipeline(source, extract)).catch((err: unknown) => {
      throw isAlbaError(err)
        ? err
        : reader.invalid(
            digest,
            `its layer ${layer.digest} is not a ${gzip ? 'gzip-compressed ' : ''}tar archive (${(err as Error).message})`,
          );
    });
  }
  return new Set(byName.values());
}

/** `name version` of every `pkg:deb/` purl of an SPDX or CycloneDX document; undefined when it is neither. */
export function sbomPackages(document: unknown): Set<string> | undefined {
  const doc = document as { packages?: unknown; components?: unknown } | null;
  // a member that is not what the format says (null, a string, a list of other things) names no package
  const member = (value: unknown, key: string): unknown =>
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
  const purls = Array.isArray(doc?.packages)
    ? doc.packages.flatMap((p) => list(member(p, 'externalRefs')).map((r) => member(r, 'referenceLocator')))
    : Array.isArray(doc?.components)
      ? doc.components.map((c) => member(c, 'purl'))
      : undefined;
  if (purls === undefined) return undefined;
  const out = new Set<string>();
  for (const purl of purls) {
    const m = typeof purl === 'string' ? /^pkg:deb\/[^/]+\/([^@?#]+)@([^?#]+)/.exec(purl) : null;
    if (m === null) continue;
    try {
      out.add(`${decodeURIComponent(m[1]!)} ${decodeURIComponent(m[2]!)}`);
    } catch {
      // a %-escape that is not one (URIError): names no package
    }
  }
  return out;
}
