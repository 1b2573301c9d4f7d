/**
 * The top layer of one platform: the recipe's files, read from disk and streamed into the tar.
 * Entries are sorted by destination; the directories above them are added once each
 * (0755, 0:0); every mtime is sourceDateEpoch; mode/uid/gid are the recipe's.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { TargetArch } from '../debian/arch.js';
import { AlbaError, isAlbaError } from '../errors.js';
import type { BlobStore } from '../oci/blob-store.js';
import { digestHex, HashingStream } from '../oci/digest.js';
import { checkElfArch } from './elf.js';
import { addEntry, addStreamEntry, writeLayer, type LayerBlob } from './layer-writer.js';
import { DIR_MODE, parentDirs } from './tar-path.js';

/** One file to put in the image. */
export interface UserFile {
  /** Absolute path on the build host (already expanded for the arch). */
  src: string;
  /** Absolute path in the image. */
  dst: string;
  mode: number;
  uid: number;
  gid: number;
  /** Check that an ELF file matches the arch (default true). */
  checkElf?: boolean;
}

/** What buildUserFilesLayer needs. */
export interface UserFilesLayerOptions {
  store: BlobStore;
  files: readonly UserFile[];
  arch: TargetArch;
  sourceDateEpoch: number;
}

/** A placed user file: its path in the image and the SHA256 of what was written (for the SBOM). */
export interface PlacedFile {
  /** Absolute path in the image. */
  path: string;
  /** Hex SHA256 of the content. */
  sha256: string;
  size: number;
}

/** Checks every file (exists, is a regular file, ELF arch), then writes the layer, hashing each file as it is read. */
export async function buildUserFilesLayer(opts: UserFilesLayerOptions): Promise<LayerBlob & { files: PlacedFile[] }> {
  const { arch, sourceDateEpoch: mtime } = opts;
  const planned = await Promise.all(
    opts.files.map(async (file) => {
      const info = await stat(file.src).catch((err: unknown) => {
        throw missing(arch, file.src, `does not exist (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`, err);
      });
      if (!info.isFile()) throw missing(arch, file.src, 'is not a regular file');
      if (file.checkElf !== false) await checkElfArch(file.src, arch);
      return { ...file, path: imagePath(file.dst), size: info.size };
    }),
  );
  planned.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < planned.length; i++) {
    if (planned[i]?.path === planned[i - 1]?.path) {
      throw new AlbaError('RECIPE_INVALID', `two files have the destination ${planned[i]?.dst}`, { hint: 'give each file its own `dst`' });
    }
  }
  const placed: PlacedFile[] = [];
  const layer = await writeLayer(opts.store, async (pack) => {
    const dirs = new Set<string>();
    for (const file of planned) {
      for (const dir of parentDirs(file.path)) {
        if (dirs.has(dir)) continue;
        dirs.add(dir);
        await addEntry(pack, { path: dir, type: 'directory', mode: DIR_MODE, uid: 0, gid: 0, mtime });
      }
      const entry = { path: file.path, type: 'file' as const, mode: file.mode, uid: file.uid, gid: file.gid, mtime, size: file.size };
      const hasher = new HashingStream();
      const source = createReadStream(file.src).on('error', (err) => hasher.destroy(err));
      await addStreamEntry(pack, entry, source.pipe(hasher)).catch((err: unknown) => {
        throw isAlbaError(err) ? err : missing(arch, file.src, `changed or became unreadable while alba read it (${(err as Error).message})`, err);
      });
      placed.push({ path: file.dst, sha256: digestHex(hasher.digest()), size: hasher.size });
    }
  });
  return { ...layer, files: placed };
}

/** `dst` as a layer path: absolute in the recipe, relative in the tar; `..` is refused. */
function imagePath(dst: string): string {
  const parts = dst.split('/').filter((p) => p !== '' && p !== '.');
  if (!dst.startsWith('/') || parts.length === 0 || parts.includes('..')) {
    throw new AlbaError('RECIPE_INVALID', `file destination ${JSON.stringify(dst)} is not an absolute file path without ".."`, {
      hint: 'write `dst` as an absolute path in the image, e.g. /usr/local/bin/app',
    });
  }
  return parts.join('/');
}

function missing(arch: TargetArch, src: string, why: string, cause?: unknown): AlbaError {
  return new AlbaError('FILE_MISSING', `${arch.name}: ${src} ${why}`, {
    hint: 'build the file for every arch of the recipe, or fix the `src` template of the file',
    cause,
  });
}
