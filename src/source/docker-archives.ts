/**
 * Per-platform `docker save` archives (`*.tar`, `*.tar.gz`, as Nix dockerTools writes them:
 * `linux.amd64.tar.gz`, `linux.arm64.tar.gz`…) read into one multi-arch graph, deterministically:
 * the configs keep their bytes (as OCI configs), each layer becomes a gzip layer with alba's
 * deterministic gzip (a layer already gzipped keeps its bytes), the manifests and the index are
 * alba's canonical JSON, archives in name order. Each config's platform is checked against the
 * archive's name, and every layer's diff_id against the config. Memory stays flat whatever the
 * archive holds: only `manifest.json` and the config are read into memory (each capped), layers
 * stream into the blob store, other entries are skipped unread, and every count is capped
 * (ARCHIVE_LIMITS).
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
import { HashingStream, type Digest } from '../oci/digest.js';
import { fileBlob, memoryBlob, MAX_MANIFEST_BYTES, type ImageGraph, type ManifestNode } from '../oci/graph.js';
import { platformString } from '../oci/manifest-json.js';
import { deterministicGzip } from '../oci/gzip.js';
import { imageIndexBlob } from '../oci/image-index.js';
import { imageManifestBlob } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor, Platform } from '../oci/types.js';
import { openRegularFile } from '../util/regular-file.js';

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

/**
 * Caps on what an archive may hold: alba reads only `manifest.json` and the configs into memory
 * (each at most MAX_MANIFEST_BYTES, refused on its declared size before reading), streams the
 * layers into the blob store, and skips every other entry without reading it into memory.
 */
export const ARCHIVE_LIMITS = {
  /** Archives in one directory (one per platform). */
  archives: 256,
  /** Entries of one tar (a `docker save` of an image with N layers holds about 3N + 5). */
  entries: 100_000,
  /** Layers of one image (runtimes stop at 127). */
  layers: 1000,
  /** Bytes of one entry name or link target (PATH_MAX). */
  nameBytes: 4096,
  /** Bytes of all link names and targets of one tar, kept to resolve paths. */
  linkBytes: 4 * 1024 * 1024,
} as const;

/** Reads every `*.tar` / `*.tar.gz` of `dir` (one image each) into one image index graph. */
export async function readDockerArchives(dir: string, options: DockerArchivesOptions): Promise<ImageGraph> {
  const names = (await readdir(dir)).filter((n) => /\.tar(?:\.gz)?$/.test(n)).sort();
  if (names.length === 0) {
    throw new AlbaError('USAGE', `${dir} holds no OCI layout and no docker archive (*.tar, *.tar.gz)`, {
      hint: 'point SRC at what alba build wrote, or at a directory of docker save archives',
    });
  }
  if (names.length > ARCHIVE_LIMITS.archives) {
    throw new AlbaError(
      'USAGE',
      `${dir} holds ${names.length} docker archives; alba reads at most ${ARCHIVE_LIMITS.archives} (one per platform)`,
      { hint: 'keep one archive per platform in the directory' },
    );
  }
  const images: ManifestNode[] = [];
  for (const name of names) {
    const image = await readArchive(join(dir, name), options.store);
    const p = image.manifest.descriptor.platform as Platform;
    options.log?.(
      `${join(dir, name)} -> [image; os:${p.os}, arch:${p.architecture}${p.variant === undefined ? '' : `, variant:${p.variant}`}, ${image.blobs.length - 1} layers]`,
    );
    images.push(image);
  }
  const seen = new Map<string, string>();
  for (const [i, image] of images.entries()) {
    const key = JSON.stringify(image.manifest.descriptor.platform);
    const other = seen.get(key);
    if (other !== undefined)
      throw new AlbaError('USAGE', `${names[i]} and ${other} are images of the same platform`, {
        hint: 'keep one archive per platform in the directory',
      });
    seen.set(key, names[i] as string);
  }
  const index = imageIndexBlob({ manifests: images.map((i) => i.manifest.descriptor) });
  return { root: memoryBlob(index), images, referrers: [] };
}

/**
 * One archive, read twice: first for `manifest.json` and the links (every other entry skipped),
 * then for the config (into memory, then the store) and the layers (streamed into the store).
 */
async function readArchive(path: string, store: BlobStore): Promise<ManifestNode> {
  const { manifestBytes, resolve } = await indexArchive(path);
  const { config: configPath, layers: layerPaths } = parseArchiveManifest(manifestBytes, path);
  const configEntry = resolve(configPath);
  const wanted = layerPaths.map((p) => resolve(p));
  const { config: configBytes, layers } = await readContent(path, configEntry, new Set(wanted), store);
  if (configBytes === undefined) throw invalid(path, `its config ${configPath} is missing`);
  const config = parseJson<DockerConfig>(configBytes, path, configPath);
  const platform = configPlatform(config, path);
  checkName(path, platform);
  const diffIds = Array.isArray(config.rootfs?.diff_ids) ? config.rootfs.diff_ids : [];
  if (diffIds.length !== layerPaths.length)
    throw invalid(path, `the config lists ${diffIds.length} diff_ids for ${layerPaths.length} layers`);

  const descriptors: Descriptor[] = wanted.map((entry, i) => {
    const layer = layers.get(entry);
    if (layer === undefined) throw invalid(path, `layer ${layerPaths[i]} is missing`);
    if (layer.diffId !== diffIds[i])
      throw invalid(path, `layer ${layerPaths[i]} has diff_id ${layer.diffId}; the config says ${String(diffIds[i])}`);
    return { mediaType: MediaType.layerGzip, digest: layer.digest, size: layer.size };
  });
  const storedConfig = await store.writeBytes(configBytes);
  const configDescriptor: Descriptor = { mediaType: MediaType.config, digest: storedConfig.digest, size: storedConfig.size };
  const manifest = imageManifestBlob({ config: configDescriptor, layers: descriptors }, platform);
  return {
    manifest: memoryBlob(manifest),
    blobs: [configDescriptor, ...descriptors].map((d) => fileBlob(d, store.path(d.digest))),
  };
}

/** `manifest.json`: one image, a config path and at most ARCHIVE_LIMITS.layers layer paths, all strings. */
function parseArchiveManifest(bytes: Buffer | undefined, path: string): { config: string; layers: string[] } {
  if (bytes === undefined) throw invalid(path, 'it has no manifest.json (is it a `docker save` archive?)');
  const manifests = parseJson<unknown>(bytes, path, 'manifest.json');
  if (!Array.isArray(manifests) || manifests.length !== 1)
    throw invalid(path, `manifest.json lists ${Array.isArray(manifests) ? manifests.length : 'no'} images; alba takes one per archive`);
  const { Config: config, Layers: layers = [] } = (manifests[0] ?? {}) as ArchiveManifest;
  if (typeof config !== 'string') throw invalid(path, 'manifest.json names no config');
  if (!Array.isArray(layers) || !layers.every((l) => typeof l === 'string'))
    throw invalid(path, 'the Layers of manifest.json are not a list of paths');
  if (layers.length > ARCHIVE_LIMITS.layers)
    throw invalid(path, `manifest.json lists ${layers.length} layers; alba takes at most ${ARCHIVE_LIMITS.layers}`);
  return { config, layers };
}

/** First pass: `manifest.json` (refused above MAX_MANIFEST_BYTES) and the links, so that paths can be resolved; other entries are skipped unread. */
async function indexArchive(path: string): Promise<{ manifestBytes: Buffer | undefined; resolve(p: string): string }> {
  let manifestBytes: Buffer | undefined;
  const links = new Map<string, string>();
  let linkBytes = 0;
  await eachEntry(path, async (header, stream) => {
    const name = clean(header.name);
    if ((header.type === 'symlink' || header.type === 'link') && header.linkname !== undefined) {
      linkBytes += Buffer.byteLength(name) + Buffer.byteLength(header.linkname);
      if (linkBytes > ARCHIVE_LIMITS.linkBytes) throw invalid(path, `its links name more than ${ARCHIVE_LIMITS.linkBytes} bytes of paths`);
      links.set(name, header.type === 'symlink' ? clean(posix.join(posix.dirname(name), header.linkname)) : clean(header.linkname));
    }
    if (header.type === 'file' && name === 'manifest.json') {
      if (manifestBytes !== undefined) throw invalid(path, 'it holds manifest.json twice');
      manifestBytes = await smallFile(stream, header, path, 'manifest.json');
    } else stream.resume();
  });
  const resolve = (p: string): string => {
    let name = clean(p);
    for (let i = 0; i < 16 && links.has(name); i++) name = links.get(name) as string;
    return name;
  };
  return { manifestBytes, resolve };
}

/** Second pass: the config entry into memory (refused above MAX_MANIFEST_BYTES), the `wanted` layer entries streamed into the store. */
async function readContent(
  path: string,
  configEntry: string,
  wanted: Set<string>,
  store: BlobStore,
): Promise<{ config: Buffer | undefined; layers: Map<string, StoredLayer> }> {
  let config: Buffer | undefined;
  const layers = new Map<string, StoredLayer>();
  await eachEntry(path, async (header, stream) => {
    const name = clean(header.name);
    if (
      header.type !== 'file' ||
      (name !== configEntry && !wanted.has(name)) ||
      (config !== undefined && name === configEntry) ||
      layers.has(name)
    ) {
      stream.resume();
      return;
    }
    if (name !== configEntry) {
      layers.set(name, await storeLayer(stream, store, path, name));
      return;
    }
    config = await smallFile(stream, header, path, `its config ${name}`);
    // a config that is also named as a layer (nothing builds that, but nothing forbids it either)
    if (wanted.has(name)) layers.set(name, await storeLayer(Readable.from([config]), store, path, name));
  });
  return { config, layers };
}

/** A JSON entry into memory: refused on its declared size above MAX_MANIFEST_BYTES, before reading. */
async function smallFile(stream: Readable, header: tar.Header, path: string, what: string): Promise<Buffer> {
  const size = header.size ?? 0;
  if (size > MAX_MANIFEST_BYTES) {
    stream.resume();
    throw invalid(path, `${what} is ${size} bytes; alba reads at most ${MAX_MANIFEST_BYTES}`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > MAX_MANIFEST_BYTES) throw invalid(path, `${what} is longer than ${MAX_MANIFEST_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

interface StoredLayer {
  digest: Digest;
  size: number;
  diffId: string;
}

/** One layer: a plain tar is hashed (diff_id) and gzipped into the store; a gzipped one is stored as it is, its diff_id hashed from a gunzipped copy. */
async function storeLayer(stream: Readable, store: BlobStore, path: string, name: string): Promise<StoredLayer> {
  try {
    return await convertLayer(stream, store);
  } catch (cause) {
    if (cause instanceof AlbaError) throw cause;
    throw invalid(path, `layer ${name} cannot be read (${(cause as Error).message})`, cause);
  }
}

async function convertLayer(stream: Readable, store: BlobStore): Promise<StoredLayer> {
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
    // both settled before returning or throwing: nothing keeps writing into the store afterwards
    const [stored, hashed] = await Promise.allSettled([
      pipeline(first.stream, new Tee(unzip), into).catch((err: unknown) => {
        unzip.destroy();
        throw err;
      }),
      pipeline(unzip, diff, drain),
    ]);
    if (stored.status === 'rejected') throw stored.reason;
    if (hashed.status === 'rejected') throw hashed.reason;
  }
  return { ...(stored as Stored), diffId: diff.digest() };
}

/** Passes chunks through and writes a copy to `copy` (with its backpressure); ends it at the end; fails when the copy fails. */
class Tee extends Transform {
  constructor(private readonly copy: Writable) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.copy.destroyed) return done(this.copyError());
    if (this.copy.write(chunk)) return done(null, chunk);
    const settle = (err?: Error): void => {
      this.copy.off('drain', onDrain).off('close', onClose);
      done(err, err === undefined ? chunk : undefined);
    };
    const onDrain = (): void => settle();
    const onClose = (): void => settle(this.copyError());
    this.copy.once('drain', onDrain).once('close', onClose);
  }

  override _flush(done: TransformCallback): void {
    this.copy.end();
    done();
  }

  private copyError(): Error {
    return this.copy.errored ?? new Error('the copy stream was closed');
  }
}

async function drain(s: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of s);
}

/**
 * Reads the archive (gunzipped when it starts with the gzip magic) entry by entry, at most
 * ARCHIVE_LIMITS.entries entries with names of at most ARCHIVE_LIMITS.nameBytes. Whatever goes
 * wrong (a truncated or corrupt file, a cap) is ARCHIVE_INVALID naming the file; the reading is
 * stopped and its streams closed.
 */
async function eachEntry(path: string, onEntry: (header: tar.Header, stream: Readable) => Promise<void>): Promise<void> {
  let gz = false;
  let entries = 0;
  try {
    const extract = tar.extract();
    const file = await openRegularFile(path).catch((err: unknown) => {
      throw invalid(
        path,
        err instanceof AlbaError ? 'it is not a regular file' : `it cannot be read (${(err as NodeJS.ErrnoException).code})`,
        err,
      );
    });
    const source = await firstBytes(createReadStream(path, { fd: file }), 2);
    gz = source.bytes[0] === 0x1f && source.bytes[1] === 0x8b;
    const reading = gz ? pipeline(source.stream, createGunzip(), extract) : pipeline(source.stream, extract);
    // its failure also ends the loop below (the extractor is destroyed with it); awaited after the loop
    reading.catch(() => undefined);
    for await (const entry of extract) {
      const header = entry.header;
      if (++entries > ARCHIVE_LIMITS.entries) throw invalid(path, `it holds more than ${ARCHIVE_LIMITS.entries} entries`);
      if (
        Buffer.byteLength(header.name) > ARCHIVE_LIMITS.nameBytes ||
        Buffer.byteLength(header.linkname ?? '') > ARCHIVE_LIMITS.nameBytes
      ) {
        throw invalid(path, `entry ${entries} has a name or link target over ${ARCHIVE_LIMITS.nameBytes} bytes`);
      }
      await onEntry(header, entry as unknown as Readable);
    }
    await reading;
  } catch (cause) {
    if (cause instanceof AlbaError) throw cause;
    throw invalid(path, `it is not a readable tar${gz ? '.gz' : ''} (${(cause as Error).message})`, cause);
  }
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
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw invalid(path, 'its config is not a JSON object');
  if (typeof config.os !== 'string' || typeof config.architecture !== 'string') throw invalid(path, 'its config has no os or architecture');
  if (config.variant !== undefined && typeof config.variant !== 'string')
    throw invalid(path, 'its config has a variant that is not a string');
  const variant = config.variant ?? (config.architecture === 'arm' ? 'v7' : undefined);
  return { os: config.os, architecture: config.architecture, ...(variant === undefined || variant === '' ? {} : { variant }) };
}

/** `linux.arm64.tar.gz`, `linux-arm-v7.tar`: when the name starts with an os, its os/arch/variant must be the config's. */
function checkName(path: string, platform: Platform): void {
  const parts = basename(path)
    .replace(/\.tar(?:\.gz)?$/, '')
    .split(/[._-]/);
  const [os, architecture, variant] = parts;
  if (os === undefined || !KNOWN_OS.has(os) || architecture === undefined) return;
  const mismatch = os !== platform.os || architecture !== platform.architecture || (variant !== undefined && variant !== platform.variant);
  if (mismatch) {
    const said = platformString(platform);
    throw new AlbaError('PLATFORM_MISMATCH', `${path}: its name says ${parts.slice(0, 3).join('/')}, its config says ${said}`, {
      hint: 'rename the archive after the platform of the image it holds, or rebuild it for the platform its name says',
    });
  }
}

function clean(name: string): string {
  return posix
    .normalize(name)
    .replace(/^(?:\.\/)+/, '')
    .replace(/^\/+/, '');
}

function parseJson<T>(bytes: Buffer, path: string, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (cause) {
    throw invalid(path, `${what} is not JSON`, cause);
  }
}

function invalid(path: string, detail: string, cause?: unknown): AlbaError {
  return new AlbaError('ARCHIVE_INVALID', `${path}: ${detail}`, {
    hint: 'make the archive with `docker save`, `skopeo copy … docker-archive:FILE` or Nix dockerTools',
    cause,
  });
}
