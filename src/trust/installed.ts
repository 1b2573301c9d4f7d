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
import { STATUS_DIR } from '../layer/dpkg-status.js';
import type { ArtifactReader } from '../oci/artifacts.js';
import type { ManifestJson } from '../oci/manifest-json.js';
import { MediaType } from '../oci/media-types.js';

/** The largest layer read, and the largest status.d stanza. */
const MAX_LAYER_BYTES = 256 * 1024 * 1024;
const MAX_STANZA_BYTES = 1024 * 1024;

/** `name version` of every status.d stanza of the image's layers (a later layer's entry replaces an earlier one's). */
export async function installedPackages(reader: ArtifactReader, manifest: ManifestJson): Promise<Set<string>> {
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
    await (layer.mediaType === MediaType.layerGzip ? pipeline(source, createGunzip(), extract) : pipeline(source, extract));
  }
  return new Set(byName.values());
}

/** `name version` of every `pkg:deb/` purl of an SPDX or CycloneDX document; undefined when it is neither. */
export function sbomPackages(document: unknown): Set<string> | undefined {
  const doc = document as { packages?: { externalRefs?: { referenceLocator?: unknown }[] }[]; components?: { purl?: unknown }[] };
  const purls = Array.isArray(doc.packages)
    ? doc.packages.flatMap((p) => (p.externalRefs ?? []).map((r) => r.referenceLocator))
    : Array.isArray(doc.components)
      ? doc.components.map((c) => c.purl)
      : undefined;
  if (purls === undefined) return undefined;
  const out = new Set<string>();
  for (const purl of purls) {
    const m = typeof purl === 'string' ? /^pkg:deb\/[^/]+\/([^@?#]+)@([^?#]+)/.exec(purl) : null;
    if (m !== null) out.add(`${decodeURIComponent(m[1]!)} ${decodeURIComponent(m[2]!)}`);
  }
  return out;
}
