/**
 * Per-platform `docker save` archives (`*.tar`, `*.tar.gz`, as Nix dockerTools writes them:
 * `linux.amd64.tar.gz`, `linux.arm64.tar.gz`…) read into one multi-arch graph, deterministically:
 * the configs keep their bytes (as OCI configs), each layer becomes a gzip layer with alba's
 * deterministic gzip (a layer already gzipped keeps its bytes), the manifests and the index are
 * alba's canonical JSON, archives in name order. Each config's platform is checked against the
 * archive's name, and every layer's diff_id against the config.
 */
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { Readable, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { AlbaError } from '../errors.js';
import type { BlobStore, Stored } from '../oci/blob-store.js';
import { digestOf, HashingStream, type Digest } from '../oci/digest.js';
import { fileBlob, memoryBlob, MAX_MANIFEST_BYTES, type ImageGraph, type ManifestNode } from '../oci/graph.js';
import { deterministicGzip } from '../oci/gzip.js';
import { imageIndexBlob } from '../oci/image-index.js';
import { imageManifestBlob } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor, Platform } from '../oci/types.js';

/** Where converted layers are stored, and where to tell what was loaded. */
export interface DockerArchivesOptions {
  store: BlobStore;
  log?: (line: string) => void;
}

interface ArchiveManifest {
  Config?: string;
  Layers?: string[];
}

interface DockerConfig {
  os?: string;
  architecture?: string;
  variant?: string;
  rootfs?: { diff_ids?: string[] };
}

const KNOWN_OS = new Set(['linux', 'windows', 'darwin', 'freebsd']);

/** Reads every `*.tar` / `*.tar.gz` of `dir` (one image each) into one image index graph. */
export async function readDockerArchives(dir: string, options: DockerArchivesOptions): Promise<ImageGraph> {
  const names = (await readdir(dir)).filter((n) => /\.tar(?:\.gz)?$/.test(n)).sort();
  if (names.length === 0) {
    throw new AlbaError('USAGE', `${dir} holds no OCI layout and no docker archive (*.tar, *.tar.gz)`, { hint: 'point SRC at what alba build wrote, or at a directory of docker save archives' });
  }
  const images: ManifestNode[] = [];
  for (const name of names) {
    const image = await readArchive(join(dir, name), options.store);
    const p = image.manifest.descriptor.platform as Platform;
    options.log?.(`${join(dir, name)} -> [image; os:${p.os}, arch:${p.architecture}${p.variant === undefined ? '' : `, variant:${p.variant}`}, ${image.blobs.length - 1} layers]`);
    images.push(image);
  }
  const seen = new Map<string, string>();
  for (const [i, image] of images.entries()) {
    const key = JSON.stringify(image.manifest.descriptor.platform);
    const other = seen.get(key);
    if (other !== undefined) throw new AlbaError('USAGE', `${names[i]} and ${other} are images of the same platform`, { hint: 'keep one archive per platform in the directory' });
    seen.set(key, names[i] as string);
  }
  const index = imageIndexBlob({ manifests: images.map((i) => i.manifest.descriptor) });
  return { root: memoryBlob(index), images, referrers: [] };
}

async function readArchive(path: string, store: BlobStore): Promise<ManifestNode> {
  const small = await smallEntries(path);
  const manifestBytes = small.files.get('manifest.json');
  if (manifestBytes === undefined) throw invalid(path, 'it has no manifest.json (is it a `docker save` archive?)');
  const manifests = parseJson<ArchiveManifest[]>(manifestBytes, path, 'manifest.json');
  if (!Array.isArray(manifests) || manifests.length !== 1) throw invalid(path, `manifest.json lists ${Array.isArray(manifests) ? manifests.length : 'no'} images; alba takes one per archive`);
  const { Config: configPath, Layers: layerPaths = [] } = manifests[0] as ArchiveManifest;
  const configBytes = configPath === undefined ? undefined : small.files.get(small.resolve(configPath));
  if (configBytes === undefined) throw invalid(path, `its config ${configPath ?? '(none)'} is missing`);
  const config = parseJson<DockerConfig>(configBytes, path, configPath as string);
  const platform = configPlatform(config, path);
  checkName(path, platform);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== layerPaths.length) throw invalid(path, `the config lists ${diffIds.length} diff_ids for ${layerPaths.length} layers`);

  const wanted = layerPaths.map((p) => small.resolve(p));
  const layers = await storeLayers(path, new Set(wanted), store);
  const descriptors: Descriptor[] = wanted.map((entry, i) => {
    const layer = layers.get(entry);
    if (layer === undefined) throw invalid(path, `layer ${layerPaths[i]} is missing`);
    if (layer.diffId !== diffIds[i]) throw invalid(path, `layer ${layerPaths[i]} has diff_id ${layer.diffId}; the config says ${diffIds[i]}`);
    return { mediaType: MediaType.layerGzip, digest: layer.digest, size: layer.size };
  });
  const configDescriptor: Descriptor = { mediaType: MediaType.config, digest: digestOf(configBytes), size: configBytes.length };
  const manifest = imageManifestBlob({ config: configDescriptor, layers: descriptors }, platform);
  return {
    manifest: memoryBlob(manifest),
    blobs: [memoryBlob({ bytes: configBytes, descriptor: configDescriptor }), ...descriptors.map((d) => fileBlob(d, store.path(d.digest)))],
  };
}

/** The archive's small regular files (JSON), and its symlinks so that paths can be resolved. */
async function smallEntries(path: string): Promise<{ files: Map<string, Buffer>; resolve(p: string): string }> {
  const files = new Map<string, Buffer>();
  const links = new Map<string, string>();
  await eachEntry(path, async (header, stream) => {
    const name = clean(header.name);
    if (header.type === 'symlink' && header.linkname !== undefined) links.set(name, clean(posix.join(posix.dirname(name), header.linkname)));
    if (header.type === 'link' && header.linkname !== undefined) links.set(name, clean(header.linkname));
    if (header.type === 'file' && (header.size ?? 0) <= MAX_MANIFEST_BYTES && !name.endsWith('.tar')) {
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      files.set(name, Buffer.concat(chunks));
    } else stream.resume();
  });
  const resolve = (p: string): string => {
    let name = clean(p);
    for (let i = 0; i < 16 && links.has(name); i++) name = links.get(name) as string;
    return name;
  };
  return { files, resolve };
}

/** Streams the `wanted` entries into the store as gzip layers; returns digest, size and diff_id by entry name. */
async function storeLayers(path: string, wanted: Set<string>, store: BlobStore): Promise<Map<string, { digest: Digest; size: number; diffId: string }>> {
  const out = new Map<string, { digest: Digest; size: number; diffId: string }>();
  await eachEntry(path, async (header, stream) => {
    const name = clean(header.name);
    if (header.type !== 'file' || !wanted.has(name) || out.has(name)) {
      stream.resume();
      return;
    }
    out.set(name, await storeLayer(stream, store));
  });
  return out;
}

/** One layer: a plain tar is hashed (diff_id) and gzipped into the store; a gzipped one is stored as it is, its diff_id hashed from a gunzipped copy. */
async function storeLayer(stream: Readable, store: BlobStore): Promise<{ digest: Digest; size: number; diffId: string }> {
  const first = await firstBytes(stream, 2);
  const gzipped = first.bytes[0] === 0x1f && first.bytes[1] === 0x8b;
  const diff = new HashingStream();
  let stored: Stored | undefined;
  const into = async (s: AsyncIterable<unknown>): Promise<void> => {
    stored = await store.write(s as Readable);
  };
  if (!gzipped) {
    await pipeline(first.stream, diff, ...deterministicGzip(), into);
  } else {
    const unzip = createGunzip();
    await Promise.all([pipeline(first.stream, new Tee(unzip), into), pipeline(unzip, diff, drain)]);
  }
  return { ...(stored as Stored), diffId: diff.digest() };
}

/** Passes chunks through and writes a copy to `copy` (with its backpressure); ends it at the end. */
class Tee extends Transform {
  constructor(private readonly copy: Writable) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.copy.write(chunk)) done(null, chunk);
    else this.copy.once('drain', () => done(null, chunk));
  }

  override _flush(done: TransformCallback): void {
    this.copy.end();
    done();
  }
}

async function drain(s: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of s);
}

/** Reads the archive (gunzipped when it starts with the gzip magic) entry by entry. */
async function eachEntry(path: string, onEntry: (header: tar.Header, stream: Readable) => Promise<void>): Promise<void> {
  const extract = tar.extract();
  const source = await firstBytes(createReadStream(path), 2);
  const gz = source.bytes[0] === 0x1f && source.bytes[1] === 0x8b;
  const reading = (gz ? pipeline(source.stream, createGunzip(), extract) : pipeline(source.stream, extract)).catch((cause: unknown) => {
    throw invalid(path, `it is not a readable tar${gz ? '.gz' : ''} (${(cause as Error).message})`, cause);
  });
  for await (const entry of extract) {
    await onEntry(entry.header, entry as unknown as Readable);
  }
  await reading;
}

/** The first `n` bytes of a stream, and a stream that still yields all of it. */
async function firstBytes(stream: Readable, n: number): Promise<{ bytes: Buffer; stream: Readable }> {
  const head: Buffer[] = [];
  let got = 0;
  const iterator = stream[Symbol.asyncIterator]();
  while (got < n) {
    const next = await iterator.next();
    if (next.done === true) break;
    head.push(next.value as Buffer);
    got += (next.value as Buffer).length;
  }
  const bytes = Buffer.concat(head);
  const rest = Readable.from(
    (async function* () {
      if (bytes.length > 0) yield bytes;
      for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value as Buffer;
    })(),
  );
  return { bytes, stream: rest };
}

function configPlatform(config: DockerConfig, path: string): Platform {
  if (typeof config.os !== 'string' || typeof config.architecture !== 'string') throw invalid(path, 'its config has no os or architecture');
  const variant = config.variant ?? (config.architecture === 'arm' ? 'v7' : undefined);
  return { os: config.os, architecture: config.architecture, ...(variant === undefined || variant === '' ? {} : { variant }) };
}

/** `linux.arm64.tar.gz`, `linux-arm-v7.tar`: when the name starts with an os, its os/arch/variant must be the config's. */
function checkName(path: string, platform: Platform): void {
  const parts = basename(path).replace(/\.tar(?:\.gz)?$/, '').split(/[._-]/);
  const [os, architecture, variant] = parts;
  if (os === undefined || !KNOWN_OS.has(os) || architecture === undefined) return;
  const mismatch = os !== platform.os || architecture !== platform.architecture || (variant !== undefined && variant !== platform.variant);
  if (mismatch) {
    const said = [platform.os, platform.architecture, ...(platform.variant === undefined ? [] : [platform.variant])].join('/');
    throw new AlbaError('PLATFORM_MISMATCH', `${path}: its name says ${parts.slice(0, 3).join('/')}, its config says ${said}`, {
      hint: 'rename the archive after the platform of the image it holds, or rebuild it for the platform its name says',
    });
  }
}

function clean(name: string): string {
  return posix.normalize(name).replace(/^(?:\.\/)+/, '').replace(/^\/+/, '');
}

function parseJson<T>(bytes: Buffer, path: string, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (cause) {
    throw invalid(path, `${what} is not JSON`, cause);
  }
}

function invalid(path: string, detail: string, cause?: unknown): AlbaError {
  return new AlbaError('ARCHIVE_INVALID', `${path}: ${detail}`, { hint: 'make the archive with `docker save`, `skopeo copy … docker-archive:FILE` or Nix dockerTools', cause });
}
