import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../../src/oci/digest.js';
import type { Descriptor } from '../../src/oci/types.js';
import { referrersIndex, referrersTag } from '../../src/oci/referrers.js';

// TEST ONLY: a minimal pusher of an `alba build` layout to a distribution registry over fetch,
// so registry-reading code can be tested against a real registry. Not alba's publisher.

/** What to push. */
export interface PushLayoutOptions {
  /** The ref (org.opencontainers.image.ref.name) of the index in the layout's index.json. */
  layoutRef: string;
  /** The tag to give the index in the registry (default: layoutRef). */
  tag?: string;
  /** Basic-auth credentials, sent with every request. */
  credentials?: { username: string; password: string };
  /** Push the SBOM referrer manifests and their `sha256-<hex>` referrers-tag indexes (default true). */
  referrers?: boolean;
}

/** What was pushed. */
export interface PushedLayout {
  index: Descriptor;
  /** The platform manifests of the index. */
  manifests: Descriptor[];
  /** The referrer manifests pushed, with the subject each refers to. */
  referrers: { descriptor: Descriptor; subject: string }[];
}

interface ManifestJson {
  mediaType: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

const REF_NAME = 'org.opencontainers.image.ref.name';
const SPDX = 'application/spdx+json';

/**
 * Pushes the index `layoutRef` of an OCI layout to `registryUrl`/`repository`: every blob
 * (monolithic upload), the platform manifests and the index by digest, the SBOM referrer manifests,
 * for each subject the referrers-tag index `sha256-<hex>` (distribution 2.8 has no referrers
 * API), and the tag last.
 */
export async function pushLayout(registryUrl: string, repository: string, layoutDir: string, options: PushLayoutOptions): Promise<PushedLayout> {
  const push = new Pusher(registryUrl, repository, layoutDir, options.credentials);
  const layoutIndex = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const index = layoutIndex.manifests.find((d) => d.annotations?.[REF_NAME] === options.layoutRef);
  if (index === undefined) throw new Error(`${layoutDir}/index.json has no ref ${options.layoutRef}`);
  const indexJson = await push.json(index.digest);
  const manifests = indexJson.manifests ?? [];
  for (const m of manifests) await push.image(m);
  await push.manifest(index, index.digest);
  const referrers = options.referrers === false ? [] : await sbomReferrers(push, layoutDir);
  for (const r of referrers) await push.image(r.descriptor);
  const bySubject = new Map<string, Descriptor[]>();
  for (const r of referrers) bySubject.set(r.subject, [...(bySubject.get(r.subject) ?? []), r.descriptor]);
  for (const [subject, descriptors] of bySubject) {
    const tagIndex = referrersIndex(descriptors);
    await push.put(referrersTag(subject as Digest), tagIndex.descriptor.mediaType, tagIndex.bytes);
  }
  await push.manifest(index, options.tag ?? options.layoutRef);
  return { index, manifests, referrers };
}

/** Every blob of the layout that is an SPDX referrer manifest, as a descriptor with artifactType and annotations. */
async function sbomReferrers(push: Pusher, layoutDir: string): Promise<{ descriptor: Descriptor; subject: string }[]> {
  const out: { descriptor: Descriptor; subject: string }[] = [];
  for (const name of (await readdir(join(layoutDir, 'blobs', 'sha256'))).sort()) {
    const digest = `sha256:${name}` as Digest;
    const bytes = await push.blobBytes(digest);
    if (bytes.length > 1024 * 1024) continue;
    let parsed: ManifestJson;
    try {
      parsed = JSON.parse(bytes.toString('utf8')) as ManifestJson;
    } catch {
      continue;
    }
    if (parsed.artifactType !== SPDX || parsed.subject === undefined) continue;
    out.push({
      descriptor: { mediaType: parsed.mediaType, digest, size: bytes.length, artifactType: SPDX, ...(parsed.annotations === undefined ? {} : { annotations: parsed.annotations }) },
      subject: parsed.subject.digest,
    });
  }
  return out;
}

class Pusher {
  private readonly headers: Record<string, string>;

  constructor(
    private readonly registryUrl: string,
    private readonly repository: string,
    private readonly layoutDir: string,
    credentials: { username: string; password: string } | undefined,
  ) {
    this.headers =
      credentials === undefined ? {} : { authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` };
  }

  blobBytes(digest: string): Promise<Buffer> {
    return readFile(join(this.layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
  }

  async json(digest: string): Promise<ManifestJson> {
    return JSON.parse((await this.blobBytes(digest)).toString('utf8')) as ManifestJson;
  }

  /** Pushes the config and layers of a manifest, then the manifest by digest. */
  async image(descriptor: Descriptor): Promise<void> {
    const manifest = await this.json(descriptor.digest);
    for (const blob of [manifest.config, ...(manifest.layers ?? [])]) if (blob !== undefined) await this.blob(blob.digest);
    await this.manifest(descriptor, descriptor.digest);
  }

  /** Monolithic upload: POST an upload session, then PUT the bytes to its Location plus `digest=`. */
  async blob(digest: string): Promise<void> {
    const bytes = await this.blobBytes(digest);
    const start = await this.fetch('POST', `${this.registryUrl}/v2/${this.repository}/blobs/uploads/`, {});
    await expectStatus(start, 202, `POST upload of ${digest}`);
    const location = new URL(start.headers.get('location') ?? '', this.registryUrl).href;
    const url = `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
    const done = await this.fetch('PUT', url, { 'content-type': 'application/octet-stream' }, bytes);
    await expectStatus(done, 201, `PUT blob ${digest}`);
  }

  /** PUTs the layout blob of `descriptor` as a manifest under `reference` (digest or tag). */
  async manifest(descriptor: Descriptor, reference: string): Promise<void> {
    await this.put(reference, descriptor.mediaType, await this.blobBytes(descriptor.digest));
  }

  async put(reference: string, mediaType: string, bytes: Buffer): Promise<void> {
    const res = await this.fetch('PUT', `${this.registryUrl}/v2/${this.repository}/manifests/${reference}`, { 'content-type': mediaType }, bytes);
    await expectStatus(res, 201, `PUT manifest ${reference}`);
  }

  private fetch(method: string, url: string, headers: Record<string, string>, body?: Buffer): Promise<Response> {
    return fetch(url, { method, headers: { ...this.headers, ...headers }, ...(body === undefined ? {} : { body: new Uint8Array(body) }) });
  }
}

async function expectStatus(res: Response, status: number, what: string): Promise<void> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${text}`);
}
