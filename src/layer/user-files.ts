/**
 * The top layer of one platform: the recipe's files, read from disk and streamed into the tar,
 * and its `paths:` (directories, empty files, symlinks, permissions of directories; hard links
 * last, after the files they name). Entries are sorted by path; the directories above them are
 * added once each (0755, 0:0, or the recipe's own `directory`/`permissions` entry for that
 * directory); every mtime is sourceDateEpoch; mode/uid/gid are the recipe's (a hard link's are
 * its target's: it is the same file).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { TargetArch } from '../debian/arch.js';
import { AlbaError, isAlbaError } from '../errors.js';
import type { BlobStore } from '../oci/blob-store.js';
import { digestHex, HashingStream } from '../oci/digest.js';
import type { PathSpec } from '../recipe/types.js';
import { checkElfArch } from './elf.js';
import { addEntry, addStreamEntry, writeLayer, type LayerBlob } from './layer-writer.js';
import { DIR_MODE, parentDirs } from './tar-path.js';
import { recipeProblem } from '../recipe/issues.js';

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
  /** The recipe's `paths:`. */
  paths?: readonly PathSpec[];
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
      throw recipeProblem(`two files have the destination ${planned[i]?.dst}`, 'give each file its own `dst`');
    }
  }
  const paths = opts.paths ?? [];
  // A hard link is its target (one file): its entry carries the target's mode and owner, because
  // extractors that apply a link entry's header (containers/storage does) set them on the target.
  const linkable = new Map<string, { mode: number; uid: number; gid: number }>([
    ...planned.map((f) => [f.path, f] as const),
    ...paths.filter((p) => p.type === 'empty-file').map((p) => [layerPath(p.path), p] as const),
  ]);
  const hardlinks = paths
    .filter((p) => p.type === 'hardlink')
    .sort((a, b) => (a.path < b.path ? -1 : 1))
    .map((link) => {
      const target = linkable.get(layerPath(link.target ?? ''));
      if (target === undefined) {
        throw recipeProblem(
          `the hard link ${link.path} names ${link.target ?? '(nothing)'}, which is not a file of this recipe`,
          'a hard link can only name a `files:` dst or an `empty-file` of the same recipe',
        );
      }
      return { link, target };
    });
  const explicitDirs = new Map(
    paths.filter((p) => p.type === 'directory' || p.type === 'permissions').map((p) => [`${layerPath(p.path)}/`, p]),
  );
  // every entry but hard links, in path order; a file's content is read when its turn comes
  const items = [
    ...planned.map((file) => ({ path: file.path, file })),
    ...paths.filter((p) => p.type === 'empty-file' || p.type === 'symlink').map((p) => ({ path: layerPath(p.path), spec: p })),
    ...[...explicitDirs.keys()].map((path) => ({ path, spec: explicitDirs.get(path)! })),
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const placed: PlacedFile[] = [];
  const layer = await writeLayer(opts.store, async (pack) => {
    const dirs = new Set<string>();
    const directory = async (dir: string): Promise<void> => {
      if (dirs.has(dir)) return;
      dirs.add(dir);
      const own = explicitDirs.get(dir);
      await addEntry(pack, { path: dir, type: 'directory', mode: own?.mode ?? DIR_MODE, uid: own?.uid ?? 0, gid: own?.gid ?? 0, mtime });
    };
    for (const item of items) {
      for (const dir of parentDirs(item.path)) await directory(dir);
      if (!('file' in item)) {
        const { spec } = item;
        if (spec.type === 'empty-file') {
          await addEntry(pack, { path: item.path, type: 'file', mode: spec.mode, uid: spec.uid, gid: spec.gid, mtime }, Buffer.alloc(0));
          placed.push({ path: spec.path, sha256: EMPTY_SHA256, size: 0 });
        } else if (spec.type === 'symlink') {
          await addEntry(pack, {
            path: item.path,
            type: 'symlink',
            mode: 0o777,
            uid: spec.uid,
            gid: spec.gid,
            mtime,
            linkname: spec.target ?? '',
          });
        } else await directory(item.path);
        continue;
      }
      const { file } = item;
      const entry = { path: file.path, type: 'file' as const, mode: file.mode, uid: file.uid, gid: file.gid, mtime, size: file.size };
      const hasher = new HashingStream();
      const source = createReadStream(file.src).on('error', (err) => hasher.destroy(err));
      await addStreamEntry(pack, entry, source.pipe(hasher)).catch((err: unknown) => {
        throw isAlbaError(err)
          ? err
          : missing(arch, file.src, `changed or became unreadable while alba read it (${(err as Error).message})`, err);
      });
      placed.push({ path: file.dst, sha256: digestHex(hasher.digest()), size: hasher.size });
    }
    for (const { link, target } of hardlinks) {
      const path = layerPath(link.path);
      for (const dir of parentDirs(path)) await directory(dir);
      await addEntry(pack, {
        path,
        type: 'link',
        mode: target.mode,
        uid: target.uid,
        gid: target.gid,
        mtime,
        linkname: layerPath(link.target ?? ''),
      });
      const file = placed.find((f) => f.path === link.target);
      if (file !== undefined) placed.push({ ...file, path: link.path });
    }
  });
  return { ...layer, files: placed };
}

/** The SHA256 of no bytes (an empty file). */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** An absolute image path (validated by the recipe) as a layer path. */
function layerPath(path: string): string {
  return path.replace(/^\/+/, '');
}

/** `dst` as a layer path: absolute in the recipe, relative in the tar; `..` is refused. */
function imagePath(dst: string): string {
  const parts = dst.split('/').filter((p) => p !== '' && p !== '.');
  if (!dst.startsWith('/') || parts.length === 0 || parts.includes('..')) {
    throw recipeProblem(
      `file destination ${JSON.stringify(dst)} is not an absolute file path without ".."`,
      'write `dst` as an absolute path in the image, e.g. /usr/local/bin/app',
    );
  }
  return parts.join('/');
}

function missing(arch: TargetArch, src: string, why: string, cause?: unknown): AlbaError {
  return new AlbaError('FILE_MISSING', `${arch.name}: ${src} ${why}`, {
    hint: 'build the file for every arch of the recipe, or fix the `src` template of the file',
    cause,
  });
}
