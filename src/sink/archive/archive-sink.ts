/**
 * An image as one tar file, for local use: `oci-archive` (an OCI layout in a tar, what skopeo
 * and podman read as `oci-archive:`) or `docker-archive` (what `docker load` and `podman load`
 * take: docker's `manifest.json` beside the same `blobs/sha256/` files; one image).
 * Entries go in the order the walk stores them (publish with concurrency 1 keeps it fixed), with
 * fixed owners and mtime 0, so the same graph gives the same bytes. The tar is written to a temp
 * file beside the target and renamed over it when whole.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { AlbaError } from '../../errors.js';
import { digestHex, parseDigest } from '../../oci/digest.js';
import { blobBytes, MAX_MANIFEST_BYTES, type Blob } from '../../oci/graph.js';
import { imageIndex } from '../../oci/image-index.js';
import { canonicalJson } from '../../oci/json.js';
import { MediaType } from '../../oci/media-types.js';
import type { Descriptor } from '../../oci/types.js';
import { whenClosed } from '../../util/when-closed.js';
import { layoutRefs } from '../layout/layout-refs.js';
import type { Sink, StoreOutcome } from '../sink.js';
import { makeDirs } from '../../util/make-dirs.js';
import { outputPath } from '../../util/output-file.js';
import { removeStaleTemps } from '../../util/stale-temps.js';

/** The two archive formats. */
export type ArchiveFormat = 'oci-archive' | 'docker-archive';

/** Where and how to write. */
export interface ArchiveSinkOptions {
  /** The tar file to write (replaced when whole). */
  file: string;
  format: ArchiveFormat;
  /** docker-archive: the `RepoTags` of manifest.json, e.g. `distroless/static:latest`. */
  repoTags?: string[];
}

/** Opens an archive sink; a docker-archive takes one image (a manifest root, not an index). */
export async function openArchiveSink(options: ArchiveSinkOptions): Promise<Sink> {
  // a device or a FIFO (`--out /dev/stdout`) is appended to; a file (or none) replaced when whole
  const where = await outputPath(resolve(options.file));
  const target = 'replace' in where ? where.replace : where.through;
  makeDirs(dirname(target));
  const prefix = `.${basename(target)}.alba-`;
  const tmp = 'replace' in where ? join(dirname(target), `${prefix}${process.pid}-${randomBytes(4).toString('hex')}`) : undefined;
  // what killed runs left beside the archive (nothing else swept them: up to the archive's size each)
  if (tmp !== undefined) await removeStaleTemps(dirname(target), (name) => name.startsWith(prefix));
  const pack = tar.pack();
  const out = createWriteStream(tmp ?? target, { flags: tmp === undefined ? 'a' : 'w' });
  const written = pipeline(pack, out);
  written.catch(() => undefined);
  const seen = new Set<string>();
  const refs: Descriptor[] = [];
  const docker: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  let queue: Promise<unknown> = Promise.resolve();
  /** One entry at a time: a tar is sequential. */
  const entry = (name: string, size: number, body: () => Promise<NodeJS.ReadableStream | Buffer>): Promise<void> => {
    const next = queue.then(async () => {
      const header = { name, size, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0), type: 'file' as const };
      const content = await body();
      if (Buffer.isBuffer(content)) {
        await new Promise<void>((done, fail) => pack.entry(header, content, (err) => (err ? fail(err) : done())));
        return;
      }
      await pipeline(content, pack.entry(header) as unknown as NodeJS.WritableStream);
    });
    queue = next.catch(() => undefined);
    return next;
  };
  const put = async (blob: Blob): Promise<StoreOutcome> => {
    const hex = digestHex(parseDigest(blob.descriptor.digest));
    if (seen.has(hex)) return 'skipped';
    seen.add(hex);
    await entry(
      `blobs/sha256/${hex}`,
      blob.descriptor.size,
      async () => blob.bytes ?? ((await blob.open()) as unknown as NodeJS.ReadableStream),
    );
    return 'sent';
  };
  return {
    name: `${options.format}:${options.file}`,
    holdsComplete: async () => false,
    putBlob: put,
    putManifest: put,
    linkReferrers: async () => undefined,
    async tag(tag: string, root: Blob): Promise<StoreOutcome> {
      if (options.format === 'oci-archive') {
        refs.push(...(await layoutRefs(tag, root)));
        return 'sent';
      }
      if (root.descriptor.mediaType !== MediaType.manifest) {
        throw new AlbaError('USAGE', 'a docker archive holds one image, not an index of several', {
          hint: 'build one platform (--arch), or let alba write one archive per platform',
        });
      }
      const manifest = JSON.parse((await blobBytes(root, MAX_MANIFEST_BYTES)).toString('utf8')) as {
        config: Descriptor;
        layers: Descriptor[];
      };
      const path = (d: Descriptor): string => `blobs/sha256/${digestHex(parseDigest(d.digest))}`;
      docker.push({ Config: path(manifest.config), RepoTags: options.repoTags ?? [], Layers: manifest.layers.map(path) });
      return 'sent';
    },
    async finish(ok: boolean): Promise<void> {
      try {
        if (!ok) throw new Error('discarded');
        const json = (value: unknown): Buffer => Buffer.from(canonicalJson(value));
        // a docker archive with oci-layout in it is read as an OCI archive by podman 4, which then drops the RepoTags
        const files: [string, Buffer][] =
          options.format === 'docker-archive'
            ? [['manifest.json', Buffer.from(JSON.stringify(docker))]]
            : [
                ['oci-layout', json({ imageLayoutVersion: '1.0.0' })],
                ['index.json', json(imageIndex({ manifests: refs }))],
              ];
        for (const [name, bytes] of files) await entry(name, bytes.length, async () => bytes);
        pack.finalize();
        await written;
        if (tmp !== undefined) await rename(tmp, target);
      } catch (err) {
        pack.destroy();
        await whenClosed(out);
        if (tmp !== undefined) await rm(tmp, { force: true });
        if (ok) throw err;
      }
    },
  };
}
