import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { findArch } from '../debian/arch.js';
import { AlbaError } from '../errors.js';
import { digestOf, parseDigest, type Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor, Platform } from '../oci/types.js';
import { platformString } from './spdx-model.js';

/** Which SBOM to read from a layout. */
export interface ReadSbomOptions {
  /** `linux/arm64`, `arm64`, `arm/v7`, `armhf`…; without it, the document of the index. */
  platform?: string;
  /** `org.opencontainers.image.ref.name` of the index in index.json, when the layout holds several. */
  ref?: string;
}

interface ManifestJson {
  artifactType?: string;
  config?: { mediaType?: string };
  layers?: Descriptor[];
  subject?: { digest?: string };
  annotations?: Record<string, string>;
  manifests?: Descriptor[];
}

const REF_NAME = 'org.opencontainers.image.ref.name';
/** Blobs larger than this are layers, never referrer manifests; the blob scan skips them. */
const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;

/**
 * The SPDX document stored in an OCI layout for a platform image (or the index without `platform`):
 * the layer of the referrer manifest whose subject is that manifest and whose artifactType is
 * application/spdx+json. Referrers are looked for in index.json first, then among all blobs.
 */
export async function readSbom(layoutDir: string, options: ReadSbomOptions = {}): Promise<Buffer> {
  const layoutIndex = await readLayoutIndex(layoutDir);
  const root = selectIndex(layoutDir, layoutIndex, options.ref);
  const subject = options.platform === undefined ? root : await platformManifest(layoutDir, root, options.platform);
  const referrer = (await findReferrer(layoutDir, subject, layoutIndex.manifests ?? [])) ?? (await findReferrer(layoutDir, subject, await allBlobs(layoutDir)));
  const layer = referrer?.layers?.find((l) => l.mediaType === MediaType.spdx);
  if (layer === undefined) {
    const what = options.platform === undefined ? 'the image index' : `platform ${options.platform}`;
    throw new AlbaError('SBOM_NOT_FOUND', `no SPDX SBOM for ${what} (${subject}) in ${layoutDir}`, {
      hint: 'build the image with `alba build` (which attaches an SBOM to every image and the index), or check the platform name',
    });
  }
  return readBlob(layoutDir, parseDigest(layer.digest));
}

async function readLayoutIndex(layoutDir: string): Promise<ManifestJson> {
  const path = join(layoutDir, 'index.json');
  const text = await readFile(path, 'utf8').catch((cause: unknown) => {
    throw new AlbaError('LAYOUT_INVALID', `cannot read ${path}`, { hint: 'point at an OCI image layout directory written by `alba build`', cause });
  });
  return parseJson(text, path);
}

/** The digest of the image index the layout's index.json names (the one tagged `ref` when given). */
function selectIndex(layoutDir: string, layoutIndex: ManifestJson, ref: string | undefined): Digest {
  const indexes = (layoutIndex.manifests ?? []).filter(
    (d) => d.mediaType === MediaType.index && d.artifactType === undefined && (ref === undefined || d.annotations?.[REF_NAME] === ref),
  );
  const digests = [...new Set(indexes.map((d) => d.digest))];
  if (digests.length === 1) return parseDigest(digests[0] as string);
  const refs = indexes.map((d) => d.annotations?.[REF_NAME] ?? d.digest).join(', ');
  throw new AlbaError(
    'SBOM_NOT_FOUND',
    digests.length === 0
      ? `no image index${ref === undefined ? '' : ` tagged ${ref}`} in ${join(layoutDir, 'index.json')}`
      : `${join(layoutDir, 'index.json')} holds several image indexes (${refs})`,
    { hint: digests.length === 0 ? 'check the layout path and tag' : 'name the one you want by its tag' },
  );
}

/** The manifest of the index `root` for the requested platform. */
async function platformManifest(layoutDir: string, root: Digest, requested: string): Promise<Digest> {
  const index = parseJson((await readBlob(layoutDir, root)).toString('utf8'), `index ${root}`);
  return parseDigest(platformEntry(index.manifests ?? [], requested, root).digest);
}

/** The one entry of an index's `manifests` for the requested platform (`linux/arm64`, `arm64`…); SBOM_NOT_FOUND otherwise. */
export function platformEntry(manifests: Descriptor[], requested: string, indexDigest: string): Descriptor {
  const wanted = wantedPlatform(requested);
  const matches = manifests.filter((d) => d.platform !== undefined && samePlatform(d.platform, wanted));
  const platforms = manifests.map((d) => (d.platform === undefined ? d.digest : platformString(d.platform)));
  if (matches.length !== 1) {
    throw new AlbaError('SBOM_NOT_FOUND', `${matches.length === 0 ? 'no' : 'several'} images for platform ${requested} in index ${indexDigest}`, {
      hint: `the index has: ${platforms.join(', ')}`,
    });
  }
  return matches[0] as Descriptor;
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

/** Among `candidates`, the newest SPDX referrer manifest whose subject is `subject`. */
async function findReferrer(layoutDir: string, subject: Digest, candidates: Descriptor[]): Promise<ManifestJson | undefined> {
  const found: { manifest: ManifestJson; created: string; digest: string }[] = [];
  for (const candidate of candidates) {
    if (candidate.mediaType !== MediaType.manifest || (candidate.artifactType !== undefined && candidate.artifactType !== MediaType.spdx)) continue;
    const bytes = await readBlob(layoutDir, parseDigest(candidate.digest)).catch(() => undefined);
    if (bytes === undefined) continue;
    let manifest: ManifestJson;
    try {
      manifest = JSON.parse(bytes.toString('utf8')) as ManifestJson;
    } catch {
      continue;
    }
    const type = manifest.artifactType ?? manifest.config?.mediaType;
    if (manifest.subject?.digest !== subject || type !== MediaType.spdx) continue;
    found.push({ manifest, created: manifest.annotations?.['org.opencontainers.image.created'] ?? '', digest: candidate.digest });
  }
  found.sort((a, b) => (a.created !== b.created ? (a.created > b.created ? -1 : 1) : a.digest < b.digest ? -1 : 1));
  return found[0]?.manifest;
}

/** Every small JSON blob of the layout, as a candidate manifest descriptor. */
async function allBlobs(layoutDir: string): Promise<Descriptor[]> {
  const dir = join(layoutDir, 'blobs', 'sha256');
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: Descriptor[] = [];
  for (const name of names.sort()) {
    if (!/^[a-f0-9]{64}$/.test(name)) continue;
    const info = await stat(join(dir, name));
    if (info.size > MAX_MANIFEST_SIZE) continue;
    out.push({ mediaType: MediaType.manifest, digest: parseDigest(`sha256:${name}`), size: info.size });
  }
  return out;
}

/** A blob of the layout, checked against its digest. */
async function readBlob(layoutDir: string, digest: Digest): Promise<Buffer> {
  const path = join(layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const bytes = await readFile(path).catch((cause: unknown) => {
    throw new AlbaError('LAYOUT_INVALID', `blob ${digest} is missing from ${layoutDir}`, { hint: 'the layout is incomplete; rebuild it', cause });
  });
  const actual = digestOf(bytes);
  if (actual !== digest) {
    throw new AlbaError('DIGEST_MISMATCH', `${path}: expected ${digest}, got ${actual}`, { hint: 'the layout is corrupt; rebuild it' });
  }
  return bytes;
}

function parseJson(text: string, what: string): ManifestJson {
  try {
    return JSON.parse(text) as ManifestJson;
  } catch (cause) {
    throw new AlbaError('LAYOUT_INVALID', `${what} is not valid JSON`, { hint: 'the layout is corrupt; rebuild it', cause });
  }
}
