/**
 * One or more .debs become one layer: each package's data.tar rewritten entry by entry, followed
 * by its dpkg status.d files, package after package in the order given.
 *
 * Rules (documented choices; see layer-writer.ts for the tar and gzip format):
 * - Paths: relative, no `./`; directories end with `/`. The root entry `./` is dropped.
 * - Refused (DEB_UNSAFE_ENTRY): absolute names or `..` components; entries under a symlink
 *   the package itself created; hard links whose target is absolute, escapes, or is not an
 *   earlier regular file of the package; character/block devices, fifos and any other type.
 * - Kept from the package: mode (incl. setuid/setgid/sticky), uid, gid, symlink targets
 *   (absolute targets are fine: they resolve inside the image). uname/gname are empty. A hard
 *   link's entry carries its target's mode, uid and gid (the same file), not its own header's.
 * - mtime = min(entry mtime, sourceDateEpoch); no atime/ctime, no PAX timestamps.
 * - Appended, in this order: the missing parents of `var/lib/dpkg/status.d/` (0755, 0:0),
 *   `status.d/<package>` (control stanza + `Status: install ok installed`) and
 *   `status.d/<package>.md5sums` (when the package has md5sums), 0644 0:0, mtime = epoch.
 * - Several packages in one layer: the rules above apply to each package on its own (symlinks and
 *   hard-link targets are those of the same package); a later package's entry for a path simply
 *   follows (and, in a tar merge, overrides) an earlier one's. The status.d parents are written
 *   only where no earlier entry of the layer made them directories, so at most once per layer.
 *   A one-package layer is byte for byte what one-package-per-layer builds always wrote.
 * Nothing depends on the target arch, so `Architecture: all` packages give the same
 * digest in every image.
 */
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { openDataTar, readControl } from '../debian/deb-reader.js';
import { AlbaError, isAlbaError } from '../errors.js';
import type { BlobStore } from '../oci/blob-store.js';
import { STATUS_DIR, statusPaths, statusStanza } from './dpkg-status.js';
import { isEmptyFacts, isJinfoPath, maintainerFacts, type MaintainerFacts } from './maintainer-scripts.js';
import { addEntry, tarHeader, writeLayer, type LayerBlob, type TarEntry } from './layer-writer.js';
import { DIR_MODE, normaliseEntryPath, parentDirs, unsafe } from './tar-path.js';

/** Files larger than this are never captured (capture is meant for certificates, copyright…). */
export const CAPTURE_LIMIT = 4 * 1024 * 1024;

/** One package of a layer. */
export interface DebSource {
  debPath: string;
  /** Binary package name; must match the control file's Package field. */
  packageName: string;
  /** Names the package in errors, e.g. `libc6 2.36-9+deb12u4 (amd64)`. */
  what: string;
  /** Regular files (layer paths, e.g. `usr/share/ca-certificates/mozilla/X.crt`) whose content to return. */
  capture?: (path: string) => boolean;
  /**
   * When set, only these files of data.tar (layer paths) and their parent directories go into the
   * layer, and only their lines into the md5sums; every entry is still read, checked and captured.
   */
  only?: readonly string[];
}

/** What buildDebLayer needs. */
export interface DebLayerOptions extends DebSource {
  store: BlobStore;
  /** Clamp for every mtime, seconds since the epoch. */
  sourceDateEpoch: number;
}

/** What buildDebsLayer needs. */
export interface DebsLayerOptions {
  /** The packages of the layer, in the order their entries are written (later ones win in a tar merge). */
  debs: readonly DebSource[];
  store: BlobStore;
  /** Clamp for every mtime, seconds since the epoch. */
  sourceDateEpoch: number;
}

/** What the build and the SBOM need from one package of a layer. */
export interface DebContent {
  /** The control file text, as in the package. */
  control: string;
  /** Text of `usr/share/doc/<package>/copyright` when the package has it as a regular file. */
  copyright?: string;
  /** Number of regular files (hard links not counted) of data.tar written to the layer. */
  fileCount: number;
  /** Content of the captured files (see `capture`; files over CAPTURE_LIMIT are skipped), by layer path. */
  captured: Map<string, Buffer>;
  /** What its postinst does and which alternatives it registers, when there is anything to say (maintainer-scripts.ts). */
  maintainer?: MaintainerFacts;
}

/** A package's layer, stored, plus what the build and the SBOM need from the package. */
export interface DebLayer extends LayerBlob, DebContent {}

/** A layer of several packages, stored, plus what the build and the SBOM need from each (in the order of `debs`). */
export interface DebsLayer extends LayerBlob {
  packages: DebContent[];
}

/** Builds and stores the layer of one .deb in a single streaming pass (buildDebsLayer of one package). */
export async function buildDebLayer(opts: DebLayerOptions): Promise<DebLayer> {
  const { store, sourceDateEpoch, ...deb } = opts;
  const { packages, ...blob } = await buildDebsLayer({ debs: [deb], store, sourceDateEpoch });
  return { ...blob, ...packages[0]! };
}

/** Builds and stores one layer holding several .debs, in order, in a single streaming pass. */
export async function buildDebsLayer(opts: DebsLayerOptions): Promise<DebsLayer> {
  if (opts.debs.length === 0) throw new RangeError('a package layer needs at least one .deb');
  const prepared: PreparedDeb[] = [];
  for (const deb of opts.debs) {
    const paths = statusPaths(deb.packageName);
    const { control, md5sums, postinst } = await readControl(deb.debPath, deb.what);
    const stanza = statusStanza(control, deb.packageName, deb.what);
    const kept = md5sums === undefined || deb.only === undefined ? md5sums : onlyLines(md5sums, deb.only);
    prepared.push({
      ...deb,
      paths,
      control,
      stanza,
      ...(kept === undefined ? {} : { md5sums: kept }),
      ...(postinst === undefined ? {} : { postinst }),
    });
  }
  const packages: DebContent[] = [];
  const blob = await writeLayer(opts.store, async (pack) => {
    const layerDirs = new Set<string>();
    for (const deb of prepared) packages.push(await appendDeb(pack, deb, layerDirs, opts.sourceDateEpoch));
  });
  return { ...blob, packages };
}

/** A package whose control file was read, ready to be appended to a layer. */
interface PreparedDeb extends DebSource {
  paths: { stanza: string; md5sums: string };
  control: string;
  stanza: string;
  md5sums?: string;
  postinst?: string;
}

/**
 * Appends a package to the layer being written: its data.tar entries, then the missing parents of
 * its status.d files and the files themselves. `layerDirs` holds the status.d parents the layer has
 * as directories so far (across its packages), so those parents are written once per layer.
 */
async function appendDeb(pack: tar.Pack, deb: PreparedDeb, layerDirs: Set<string>, epoch: number): Promise<DebContent> {
  const { what, packageName } = deb;
  const copyrightPath = `usr/share/doc/${packageName}/copyright`;
  const wanted = (path: string): boolean => path === copyrightPath || isJinfoPath(path) || (deb.capture?.(path) ?? false);
  const captured = new Map<string, Buffer>();
  let fileCount = 0;
  const state = newState();
  const only = deb.only === undefined ? undefined : new Set([...deb.only, ...deb.only.flatMap(parentDirs)]);
  const written = (entry: TarEntry): boolean => only === undefined || only.has(entry.path);
  const data = await openDataTar(deb.debPath, what);
  const extract = tar.extract();
  const feeding = pipeline(data.stream, extract);
  try {
    for await (const entry of extract) {
      const rewritten = rewriteHeader(entry.header, state, epoch, what);
      if (rewritten !== undefined && written(rewritten)) trackDirs(layerDirs, rewritten);
      if (rewritten === undefined || rewritten.type !== 'file') {
        entry.resume();
        if (rewritten !== undefined && written(rewritten)) await addEntry(pack, rewritten);
        continue;
      }
      const keep = wanted(rewritten.path) && (rewritten.size ?? 0) <= CAPTURE_LIMIT;
      if (!written(rewritten)) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) if (keep) chunks.push(chunk as Buffer);
        if (keep) captured.set(rewritten.path, Buffer.concat(chunks));
        continue;
      }
      fileCount++;
      if ((rewritten.size ?? 0) <= SMALL_FILE_BYTES) {
        // most files: read whole, then written in one call (a stream pipeline per file costs more than the file)
        const content = await readAll(entry);
        await addEntry(pack, rewritten, content);
        if (keep) captured.set(rewritten.path, content);
        continue;
      }
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
    const feedError = await feeding.then(
      () => undefined,
      (e: unknown) => e,
    );
    throw explain(err, feedError, what);
  }
  for (const dir of parentDirs(deb.paths.stanza)) {
    if (state.symlinks.has(dir.slice(0, -1))) throw unsafe(what, dir, 'is a symlink where the dpkg status directory must be');
    if (layerDirs.has(dir)) continue;
    await addEntry(pack, { path: dir, type: 'directory', mode: DIR_MODE, uid: 0, gid: 0, mtime: epoch });
    layerDirs.add(dir);
  }
  const meta = { type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtime: epoch };
  await addEntry(pack, { path: deb.paths.stanza, ...meta }, Buffer.from(deb.stanza, 'utf8'));
  if (deb.md5sums !== undefined) await addEntry(pack, { path: deb.paths.md5sums, ...meta }, Buffer.from(deb.md5sums, 'utf8'));

  const copyright = captured.get(copyrightPath)?.toString('utf8');
  if (!(deb.capture?.(copyrightPath) ?? false)) captured.delete(copyrightPath);
  const jinfo = [...captured.keys()]
    .filter(isJinfoPath)
    .sort()
    .map((path) => ({ path, text: captured.get(path)!.toString('utf8') }));
  for (const { path } of jinfo) if (!(deb.capture?.(path) ?? false)) captured.delete(path);
  const maintainer = maintainerFacts(packageName, deb.postinst, jinfo, new Set([...state.files.keys(), ...state.symlinks]));
  return {
    control: deb.control,
    ...(copyright === undefined ? {} : { copyright }),
    fileCount,
    captured,
    ...(isEmptyFacts(maintainer) ? {} : { maintainer }),
  };
}

/** Files up to this size are read into memory and written as one tar entry; larger ones stream. */
const SMALL_FILE_BYTES = 1024 * 1024;

/** Every byte of a tar entry of at most SMALL_FILE_BYTES. */
async function readAll(entry: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of entry) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** The lines of an md5sums file (`<md5>  <path>`, paths without `./`) for the given layer paths. */
function onlyLines(md5sums: string, paths: readonly string[]): string {
  const keep = new Set(paths);
  return md5sums
    .split('\n')
    .filter((line) => keep.has(line.replace(/^[0-9a-f]+ +/, '').replace(/^\.?\//, '')))
    .map((l) => `${l}\n`)
    .join('');
}

/** The directories status.d files need, outermost first: `var/` … `var/lib/dpkg/status.d/`. */
const STATUS_PARENTS = parentDirs(`${STATUS_DIR}/-`);

/**
 * Keeps `layerDirs` to the status.d parents that are directories at this point of the layer:
 * a directory entry adds one; any other entry at one of those paths replaces it and what is below it.
 */
function trackDirs(layerDirs: Set<string>, entry: TarEntry): void {
  const at = STATUS_PARENTS.indexOf(entry.type === 'directory' ? entry.path : `${entry.path}/`);
  if (at === -1) return;
  if (entry.type === 'directory') layerDirs.add(entry.path);
  else for (const dir of STATUS_PARENTS.slice(at)) layerDirs.delete(dir);
}

/** What the rewrite remembers about earlier entries of the package. */
interface RewriteState {
  /** Regular files so far, with their mode and owner (a hard link to one carries them). */
  files: Map<string, { mode: number; uid: number; gid: number }>;
  symlinks: Set<string>;
}

function newState(): RewriteState {
  return { files: new Map(), symlinks: new Set() };
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
  if (type === 'file') {
    entry.size = h.size ?? 0;
    state.files.set(path, { mode: entry.mode, uid: entry.uid, gid: entry.gid });
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
    const file = state.files.get(normalised);
    if (file === undefined) {
      throw unsafe(what, h.name, `is a hard link to ${JSON.stringify(target)}, which is not an earlier file of the package`);
    }
    // the same file: its mode and owner, whatever the link's header says (extractors that apply a
    // link's header, as containers/storage does, would set it on the target; dpkg does not)
    Object.assign(entry, file);
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
