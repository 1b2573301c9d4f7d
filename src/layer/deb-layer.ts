/**
 * A .deb becomes one layer: data.tar rewritten entry by entry, plus its dpkg status.d files.
 *
 * Rules (documented choices; see layer-writer.ts for the tar and gzip format):
 * - Paths: relative, no `./`; directories end with `/`. The root entry `./` is dropped.
 * - Refused (DEB_UNSAFE_ENTRY): absolute names or `..` components; entries under a symlink
 *   the package itself created; hard links whose target is absolute, escapes, or is not an
 *   earlier regular file of the package; character/block devices, fifos and any other type.
 * - Kept from the package: mode (incl. setuid/setgid/sticky), uid, gid, symlink targets
 *   (absolute targets are fine: they resolve inside the image). uname/gname are empty.
 * - mtime = min(entry mtime, sourceDateEpoch); no atime/ctime, no PAX timestamps.
 * - Appended, in this order: the missing parents of `var/lib/dpkg/status.d/` (0755, 0:0),
 *   `status.d/<package>` (control stanza + `Status: install ok installed`) and
 *   `status.d/<package>.md5sums` (when the package has md5sums), 0644 0:0, mtime = epoch.
 * Nothing depends on the target arch, so an `Architecture: all` package gives the same
 * digest in every image.
 */
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { openDataTar, readControl } from '../debian/deb-reader.js';
import { AlbaError, isAlbaError } from '../errors.js';
import type { BlobStore } from '../oci/blob-store.js';
import { statusPaths, statusStanza } from './dpkg-status.js';
import { addEntry, tarHeader, writeLayer, type LayerBlob, type TarEntry } from './layer-writer.js';
import { DIR_MODE, normaliseEntryPath, parentDirs, unsafe } from './tar-path.js';

/** Files larger than this are never captured (capture is meant for certificates, copyright…). */
export const CAPTURE_LIMIT = 4 * 1024 * 1024;

/** What buildDebLayer needs. */
export interface DebLayerOptions {
  debPath: string;
  /** Binary package name; must match the control file's Package field. */
  packageName: string;
  store: BlobStore;
  /** Clamp for every mtime, seconds since the epoch. */
  sourceDateEpoch: number;
  /** Names the package in errors, e.g. `libc6 2.36-9+deb12u4 (amd64)`. */
  what: string;
  /** Regular files (layer paths, e.g. `usr/share/ca-certificates/mozilla/X.crt`) whose content to return. */
  capture?: (path: string) => boolean;
}

/** A package's layer, stored, plus what the build and the SBOM need from the package. */
export interface DebLayer extends LayerBlob {
  /** The control file text, as in the package. */
  control: string;
  /** Text of `usr/share/doc/<package>/copyright` when the package has it as a regular file. */
  copyright?: string;
  /** Number of regular files (hard links not counted) taken from data.tar. */
  fileCount: number;
  /** Content of the captured files (see `capture`; files over CAPTURE_LIMIT are skipped), by layer path. */
  captured: Map<string, Buffer>;
}

/** Builds and stores the layer of one .deb in a single streaming pass. */
export async function buildDebLayer(opts: DebLayerOptions): Promise<DebLayer> {
  const { what, packageName } = opts;
  const paths = statusPaths(packageName);
  const { control, md5sums } = await readControl(opts.debPath, what);
  const stanza = statusStanza(control, packageName, what);
  const copyrightPath = `usr/share/doc/${packageName}/copyright`;
  const wanted = (path: string): boolean => path === copyrightPath || (opts.capture?.(path) ?? false);
  const captured = new Map<string, Buffer>();
  let fileCount = 0;

  const blob = await writeLayer(opts.store, async (pack) => {
    const state = newState();
    const data = await openDataTar(opts.debPath, what);
    const extract = tar.extract();
    const feeding = pipeline(data.stream, extract);
    try {
      for await (const entry of extract) {
        const rewritten = rewriteHeader(entry.header, state, opts.sourceDateEpoch, what);
        if (rewritten === undefined || rewritten.type !== 'file') {
          entry.resume();
          if (rewritten !== undefined) await addEntry(pack, rewritten);
          continue;
        }
        fileCount++;
        const keep = wanted(rewritten.path) && (rewritten.size ?? 0) <= CAPTURE_LIMIT;
        const chunks: Buffer[] = [];
        await pipeline(
          entry as unknown as NodeJS.ReadableStream,
          async function* (source: AsyncIterable<string | Buffer>) {
            for await (const chunk of source) {
              if (keep) chunks.push(chunk as Buffer);
              yield chunk;
            }
          },
          pack.entry(tarHeader(rewritten)) as unknown as NodeJS.WritableStream,
        );
        if (keep) captured.set(rewritten.path, Buffer.concat(chunks));
      }
      await feeding;
    } catch (err) {
      data.stream.destroy();
      extract.destroy();
      const feedError = await feeding.then(() => undefined, (e: unknown) => e);
      throw explain(err, feedError, what);
    }
    for (const dir of parentDirs(paths.stanza)) {
      if (state.symlinks.has(dir.slice(0, -1))) throw unsafe(what, dir, 'is a symlink where the dpkg status directory must be');
      if (state.dirs.has(dir)) continue;
      await addEntry(pack, { path: dir, type: 'directory', mode: DIR_MODE, uid: 0, gid: 0, mtime: opts.sourceDateEpoch });
    }
    const meta = { type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtime: opts.sourceDateEpoch };
    await addEntry(pack, { path: paths.stanza, ...meta }, Buffer.from(stanza, 'utf8'));
    if (md5sums !== undefined) await addEntry(pack, { path: paths.md5sums, ...meta }, Buffer.from(md5sums, 'utf8'));
  });

  const copyright = captured.get(copyrightPath)?.toString('utf8');
  if (!(opts.capture?.(copyrightPath) ?? false)) captured.delete(copyrightPath);
  return { ...blob, control, ...(copyright === undefined ? {} : { copyright }), fileCount, captured };
}

/** What the rewrite remembers about earlier entries of the package. */
interface RewriteState {
  dirs: Set<string>;
  files: Set<string>;
  symlinks: Set<string>;
}

function newState(): RewriteState {
  return { dirs: new Set(), files: new Set(), symlinks: new Set() };
}

const REFUSED_TYPES: Record<string, string> = {
  'character-device': 'is a character device',
  'block-device': 'is a block device',
  fifo: 'is a fifo',
};

/** The layer entry for a data.tar header, or undefined for the root directory; throws on unsafe entries. */
function rewriteHeader(h: tar.Header, state: RewriteState, epoch: number, what: string): TarEntry | undefined {
  const type = h.type === 'contiguous-file' ? 'file' : h.type;
  if (type !== 'file' && type !== 'directory' && type !== 'symlink' && type !== 'link') {
    throw unsafe(what, h.name, REFUSED_TYPES[type ?? ''] ?? `has the unsupported tar type ${String(type)}`);
  }
  const path = normaliseEntryPath(h.name, type === 'directory', what);
  if (path === '') {
    if (type === 'directory') return undefined;
    throw unsafe(what, h.name, 'names the root directory but is not a directory');
  }
  for (const dir of parentDirs(path)) {
    if (state.symlinks.has(dir.slice(0, -1))) throw unsafe(what, h.name, `is below ${dir.slice(0, -1)}, a symlink of the same package`);
  }
  const mtimeSeconds = h.mtime === undefined ? epoch : Math.floor(h.mtime.getTime() / 1000);
  const entry: TarEntry = { path, type, mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: Math.min(mtimeSeconds, epoch) };
  if (type === 'directory') state.dirs.add(path);
  if (type === 'file') {
    entry.size = h.size ?? 0;
    state.files.add(path);
  }
  if (type === 'symlink') {
    entry.linkname = h.linkname ?? '';
    state.symlinks.add(path);
  }
  if (type === 'link') {
    const target = h.linkname ?? '';
    let normalised: string;
    try {
      normalised = normaliseEntryPath(target, false, what);
    } catch {
      throw unsafe(what, h.name, `is a hard link to ${JSON.stringify(target)}, outside the package`);
    }
    if (!state.files.has(normalised)) {
      throw unsafe(what, h.name, `is a hard link to ${JSON.stringify(target)}, which is not an earlier file of the package`);
    }
    entry.linkname = normalised;
  }
  return entry;
}

/** The error to report when reading data.tar failed: refusals first, then decoder errors, then tar errors. */
function explain(err: unknown, feedError: unknown, what: string): unknown {
  if (isAlbaError(err, 'DEB_UNSAFE_ENTRY')) return err;
  if (isAlbaError(feedError)) return feedError;
  if (isAlbaError(err)) return err;
  return new AlbaError('DEB_INVALID', `${what}: data.tar is truncated or corrupt (${(err as Error).message})`, {
    hint: 'delete the .deb from the cache and fetch it again',
    cause: err,
  });
}
