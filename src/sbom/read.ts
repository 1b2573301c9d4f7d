/**
 * Reading the SPDX or CycloneDX document of an image back, from any store: the subject (what a ref names, or
 * its platform manifest) is resolved here, the referrer is found by oci/artifacts.ts over the
 * store's reader (an OCI layout here, a registry in read-registry.ts).
 */
import { findArch } from '../debian/arch.js';
import { AlbaError } from '../errors.js';
import { CYCLONEDX_SBOM, findArtifact, readArtifact, SPDX_SBOM, type ArtifactKind, type ArtifactReader } from '../oci/artifacts.js';
import { parseDigest, type Digest } from '../oci/digest.js';
import { parseManifestJson, platformString } from '../oci/manifest-json.js';
import type { Descriptor, Platform } from '../oci/types.js';
import { layoutArtifactReader, readLayout, selectRoot } from '../source/oci-layout.js';

/** The SBOM formats alba writes, by the name `--format` takes. */
export const SBOM_FORMATS = { spdx: SPDX_SBOM, cyclonedx: CYCLONEDX_SBOM } as const satisfies Record<string, ArtifactKind>;

/** `spdx` (SPDX 2.3) or `cyclonedx` (CycloneDX 1.6). */
export type SbomFormat = keyof typeof SBOM_FORMATS;

/** Which SBOM to read from a layout. */
export interface ReadSbomOptions {
  /** Which document: `spdx` (the default) or `cyclonedx`. */
  format?: SbomFormat;
  /** `linux/arm64`, `arm64`, `arm/v7`, `armhf`…; without it, the document of the index. */
  platform?: string;
  /** `org.opencontainers.image.ref.name` of the index in index.json, when the layout holds several. */
  ref?: string;
}

/** Where an SBOM is looked for: the store's reader, the root's digest, how messages name it, and the hint when there is none. */
export interface SbomSource {
  reader: ArtifactReader;
  root: Digest;
  /** The layout directory, the reference… */
  name: string;
  /** What to do when no SBOM of `subject` is found. */
  notFoundHint: string | ((subject: Digest) => string);
}

/**
 * The SPDX (or, with `format: 'cyclonedx'`, CycloneDX) document stored in an OCI layout for a
 * platform image (or the index without `platform`): the layer of the newest referrer manifest whose
 * subject is that manifest and whose artifactType is application/spdx+json
 * (application/vnd.cyclonedx+json), found among the layout's blobs.
 */
export async function readSbom(layoutDir: string, options: ReadSbomOptions = {}): Promise<Buffer> {
  const layout = await readLayout(layoutDir);
  const root = selectRoot(layout, options.ref);
  return readSbomFrom(
    {
      reader: layoutArtifactReader(layout),
      root: parseDigest(root.digest),
      name: layoutDir,
      notFoundHint: 'build the image with `alba build` (which attaches an SBOM to every image and the index), or check the platform name',
    },
    options.platform,
    options.format,
  );
}

/** The SBOM (SPDX unless `format` says otherwise) of `source.root` (an index or a manifest) or, with `platform`, of that platform's manifest in the root index. */
export async function readSbomFrom(source: SbomSource, platform?: string, format: SbomFormat = 'spdx'): Promise<Buffer> {
  const kind = SBOM_FORMATS[format];
  const subject = platform === undefined ? source.root : await platformSubject(source, platform);
  const found = await findArtifact(source.reader, subject, kind);
  if (found === undefined) {
    const what = platform === undefined ? source.name : `platform ${platform} of ${source.name}`;
    throw new AlbaError('SBOM_NOT_FOUND', `no ${kind.what} for ${what} (${subject}): no referrer with artifactType ${kind.artifactType}`, {
      hint: typeof source.notFoundHint === 'string' ? source.notFoundHint : source.notFoundHint(subject),
    });
  }
  return readArtifact(source.reader, found);
}

/** The digest of the platform manifest of the root index. */
async function platformSubject(source: SbomSource, platform: string): Promise<Digest> {
  const bytes = await source.reader.manifest(source.root);
  if (bytes === undefined) throw source.reader.invalid(source.root, 'it is missing');
  const root = parseManifestJson(bytes, (why) => source.reader.invalid(source.root, why));
  if (root.manifests === undefined) {
    throw new AlbaError('USAGE', `${source.name} is a single image (${root.mediaType ?? 'a manifest'}), not a multi-platform index`, {
      hint: 'drop --platform',
    });
  }
  return parseDigest(platformEntry(root.manifests, platform, source.root).digest);
}

/** The one entry of an index's `manifests` for the requested platform (`linux/arm64`, `arm64`…); SBOM_NOT_FOUND otherwise. */
export function platformEntry(manifests: Descriptor[], requested: string, indexDigest: string): Descriptor {
  const wanted = wantedPlatform(requested);
  const matches = manifests.filter((d) => d.platform !== undefined && samePlatform(d.platform, wanted));
  if (matches.length !== 1) {
    throw new AlbaError(
      'SBOM_NOT_FOUND',
      `${matches.length === 0 ? 'no' : `${matches.length}`} images for platform ${requested} in index ${indexDigest}`,
      {
        hint: `the index has: ${platformList(manifests)}`,
      },
    );
  }
  return matches[0] as Descriptor;
}

/** Platforms listed in a hint at most; an index may hold thousands of entries (repeated ones included). */
const HINT_PLATFORMS = 20;

/** The platforms of an index's entries (a digest for an entry without one), each once, the first HINT_PLATFORMS then how many more. */
export function platformList(manifests: readonly Descriptor[]): string {
  const names = [...new Set(manifests.map((d) => (d.platform === undefined ? d.digest : platformString(d.platform))))];
  const shown = names.slice(0, HINT_PLATFORMS).map((n) => (n.length > 100 ? `${n.slice(0, 100)}…` : n));
  return names.length > HINT_PLATFORMS ? `${shown.join(', ')}, …and ${names.length - HINT_PLATFORMS} more` : shown.join(', ');
}

function wantedPlatform(requested: string): Platform {
  const arch = findArch(requested) ?? findArch(requested.replace(/^linux\//, ''));
  if (arch !== undefined) return arch.platform;
  const [os, architecture, variant] = requested.split('/');
  if (os === undefined || architecture === undefined || os === '' || architecture === '') {
    throw new AlbaError('USAGE', `unknown platform ${JSON.stringify(requested)}`, { hint: 'use e.g. linux/arm64, amd64 or arm/v7' });
  }
  return { os, architecture, ...(variant === undefined ? {} : { variant }) };
}

/** Same os and architecture; same variant when the request names one (arm64 and arm64/v8 are equal). */
function samePlatform(entry: Platform, wanted: Platform): boolean {
  const variant = (p: Platform): string | undefined => (p.architecture === 'arm64' && p.variant === 'v8' ? undefined : p.variant);
  if (entry.os !== wanted.os || entry.architecture !== wanted.architecture) return false;
  return wanted.variant === undefined || variant(entry) === variant(wanted);
}
