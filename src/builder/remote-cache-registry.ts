/**
 * The remote cache in an OCI repository (`--remote-cache docker://HOST/REPO`), as BuildKit's
 * registry cache uses one: a content-addressed store the registry keeps by its own rules.
 *
 * Each entry is one small image manifest tagged `alba-v1-<sha256 hex of the key>` (a valid tag
 * whatever the key): its config is the record (the JSON `{key, record}` the core checks, media type
 * RECORD_MEDIA_TYPE; a small one also embedded as the descriptor's `data`, checked alike, so a read
 * takes one request) and its one layer the layer blob, so the registry's garbage collection keeps
 * both as long as the tag is there. A manifest is accepted by the registry only once its blobs are
 * stored, so a record is never visible before its layer; two runners writing one entry write the
 * same manifest. Reads go through the client's checks (a manifest or blob must hash to its digest);
 * a tag holding anything but such a manifest is refused (RefusedEntry), never trusted.
 *
 * The builder never imports a sink: the CLI passes a RegistryClient (sink/registry/client.ts),
 * which brings the credentials chain of a push to that registry, sent only to its origin.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { AlbaError } from '../errors.js';
import { memoryBlob, type Blob } from '../oci/graph.js';
import { digestHex, digestOf, type Digest } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import type { LayerBlob } from '../layer/layer-writer.js';
import { RefusedEntry, type RemoteCacheBackend } from './remote-cache.js';

/** The config media type of an entry's manifest: the record. */
export const RECORD_MEDIA_TYPE = 'application/vnd.alba.remote-cache.record.v1+json';
/** The artifactType of an entry's manifest. */
export const ENTRY_ARTIFACT_TYPE = 'application/vnd.alba.remote-cache.entry.v1';

/** Records up to this size are also embedded in their manifest (base64, under the registries' 4 MiB manifest limit). */
const MAX_EMBEDDED = 512 * 1024;
/** Tries of one entry's write. */
const WRITE_ATTEMPTS = 3;

/** What the backend needs of a registry client (RegistryClient has it). */
export interface CacheRegistryClient {
  manifestIfFound(reference: string): Promise<{ bytes: Buffer } | undefined>;
  hasManifest(reference: string): Promise<boolean>;
  putManifest(reference: string, blob: Blob): Promise<string | undefined>;
  blob(descriptor: Pick<Descriptor, 'digest' | 'size'>): Promise<Buffer>;
  openBlob(digest: Digest, size: number): Promise<Readable | undefined>;
  hasBlob(digest: Digest): Promise<boolean>;
  uploadBlob(blob: Blob): Promise<void>;
}

/** The tag of an entry: `alba-v1-` and the sha256 of its key. */
export function entryTag(name: string): string {
  return `alba-v1-${digestHex(digestOf(name))}`;
}

/** A registry repository as a remote cache; `where` is `HOST/REPO` (for messages and mounts). */
export function registryBackend(client: CacheRegistryClient, ref: { registry: string; repository: string }): RemoteCacheBackend {
  const where = `${ref.registry}/${ref.repository}`;
  return {
    mountSource: ref,
    whereRecord: (name) => `${where}:${entryTag(name)}`,
    whereBlob: (digest) => `${where}@${digest}`,
    async readRecord(name, max) {
      const found = await client.manifestIfFound(entryTag(name)).catch((err: unknown) => {
        // the registry answered, with something that is not a manifest alba reads
        if (err instanceof AlbaError && (err.code === 'TOO_LARGE' || err.code === 'DIGEST_MISMATCH')) throw new RefusedEntry(err.message);
        throw err;
      });
      if (found === undefined) return undefined;
      const config = entryConfig(found.bytes);
      if (typeof config === 'string') throw new RefusedEntry(config);
      if (config.size > max) throw new RefusedEntry(`its record has ${config.size} bytes, more than the ${max} read`);
      if (config.data !== undefined) {
        // embedded (one request instead of two), held to the descriptor as a fetched blob is
        const bytes = Buffer.from(config.data, 'base64');
        if (bytes.length !== config.size || digestOf(bytes) !== config.digest)
          throw new RefusedEntry('its embedded record does not match its descriptor');
        return bytes;
      }
      return client.blob(config).catch((err: unknown) => {
        // the registry answered, but not with the record's bytes
        throw new RefusedEntry((err as Error).message);
      });
    },
    // one GET, its body streamed: a 404 is a missing blob
    readBlob: (digest, size) => client.openBlob(digest, size),
    hasRecord: (name) => client.hasManifest(entryTag(name)),
    async writeEntry(name, record, layer) {
      // another runner uploading the same blobs at that moment can make the registry refuse the
      // manifest for a blob it has not settled yet (distribution 2.8): the entry is written again, blobs first
      for (let attempt = 1; ; attempt++) {
        try {
          return await writeOnce(name, record, layer);
        } catch (err) {
          if (attempt === WRITE_ATTEMPTS) throw err;
          await new Promise((r) => setTimeout(r, 100 * attempt + Math.random() * 300));
        }
      }
    },
  };

  async function writeOnce(name: string, record: Buffer, layer: LayerBlob & { path: string }): Promise<void> {
    const layerDescriptor: Descriptor = { mediaType: layer.mediaType, digest: layer.digest, size: layer.size };
    if (!(await client.hasBlob(layer.digest))) {
      await client.uploadBlob({ descriptor: layerDescriptor, open: async (): Promise<Readable> => createReadStream(layer.path) });
    }
    const config = memoryBlob({
      bytes: record,
      descriptor: { mediaType: RECORD_MEDIA_TYPE, digest: digestOf(record), size: record.length },
    });
    // a small record also rides in the manifest (the descriptor's `data`): a reader needs one request, not two
    const embedded = record.length <= MAX_EMBEDDED ? { data: record.toString('base64') } : {};
    if (!(await client.hasBlob(config.descriptor.digest as Digest))) await client.uploadBlob(config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.manifest,
        artifactType: ENTRY_ARTIFACT_TYPE,
        config: { ...config.descriptor, ...embedded },
        layers: [layerDescriptor],
      }),
    );
    await client.putManifest(
      entryTag(name),
      memoryBlob({ bytes: manifest, descriptor: { mediaType: MediaType.manifest, digest: digestOf(manifest), size: manifest.length } }),
    );
  }
}

/** The record's descriptor in an entry's manifest, or why the manifest is not an entry. */
function entryConfig(bytes: Buffer): (Pick<Descriptor, 'digest' | 'size'> & { data?: string }) | string {
  let manifest: { config?: { mediaType?: unknown; digest?: unknown; size?: unknown; data?: unknown } };
  try {
    manifest = JSON.parse(bytes.toString('utf8')) as typeof manifest;
  } catch {
    return 'its manifest is not JSON';
  }
  const config = manifest?.config;
  if (
    config?.mediaType !== RECORD_MEDIA_TYPE ||
    typeof config.digest !== 'string' ||
    !/^sha256:[0-9a-f]{64}$/.test(config.digest) ||
    !Number.isSafeInteger(config.size) ||
    (config.size as number) < 0 ||
    (config.data !== undefined && typeof config.data !== 'string')
  )
    return 'its manifest is not an alba remote cache entry';
  return {
    digest: config.digest as Digest,
    size: config.size as number,
    ...(typeof config.data === 'string' ? { data: config.data } : {}),
  };
}
