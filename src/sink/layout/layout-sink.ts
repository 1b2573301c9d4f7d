/**
 * The OCI image layout as a sink (`oci-layout`, `index.json`, `blobs/sha256/*`), written so that
 * at every instant the path holds the previous layout or the new one, whole:
 * - a new path: the layout is staged in a directory beside it (`.<name>.alba-…`), checked, then
 *   renamed into place;
 * - an existing layout is updated in place: the new blobs are added (content-addressed, so the
 *   old index still finds all of its own), the new index is checked against them, then
 *   `index.json` is replaced in one rename(2) — the commit — and only then are the blobs and
 *   files the new layout does not use removed. A failed walk removes what it added.
 * Every blob is copied (never hard-linked to the build cache: a blob in a local file by the kernel,
 * then its copy hashed once) and verified before it becomes visible; one the
 * previous layout holds is kept when its bytes still hash to its name. One
 * writer at a time per path: a second one waits for the lock file `.<name>.alba-lock` beside it.
 */
import { randomBytes } from 'node:crypto';
import { lstat, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AlbaError } from '../../errors.js';
import { ARTIFACT_KINDS, artifactLayer, MAX_ARTIFACT_BYTES, newestFirst } from '../../oci/artifacts.js';
import { BlobStore, checkHeld } from '../../oci/blob-store.js';
import { digestHex, parseDigest } from '../../oci/digest.js';
import { blobBytes, MAX_MANIFEST_BYTES, type Blob } from '../../oci/graph.js';
import { imageIndex } from '../../oci/image-index.js';
import { canonicalJson } from '../../oci/json.js';
import { Annotation, parseManifestJson } from '../../oci/manifest-json.js';
import type { Descriptor } from '../../oci/types.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { acquirePathLock } from '../../util/path-lock.js';
import { StatIndex } from '../../util/stat-index.js';
import { removeStaleTemps } from '../../util/stale-temps.js';
import type { Sink, StoreOutcome } from '../sink.js';
import { layoutRefs } from './layout-refs.js';
import { makeDirs } from '../../util/make-dirs.js';

/** Where to write. */
export interface LayoutSinkOptions {
  /** Target directory; replaced as a whole. */
  dir: string;
  /** Told when the sink waits for another writer of the same path. */
  log?: (line: string) => void;
  /** A stat index file (util/stat-index.ts): a blob the previous layout holds, unchanged since it last hashed to its name, is not read again. */
  statIndex?: string;
  /**
   * Called with the layout's path once it is written, before another writer may replace it: what
   * it looks at then is what this sink wrote (the warm-build stamp records it). Synchronous; what
   * it throws is told to `log`, the layout being written either way.
   */
  committed?: (dir: string) => void;
}

/**
 * Opens a layout sink on `dir`. Each tag becomes a ref `<tag>` to the root and, when the root is
 * an index, one `<tag>-<os>-<arch>[-<variant>]` ref per platform manifest (umoci cannot unpack an
 * index ref). Referrer manifests are stored as blobs but not listed in index.json: oci-image-tool
 * 1.0.0-rc1 rejects the empty config of OCI 1.1 artifacts; readers find them by subject. The
 * content layer of each referrer of a kind with loose files (oci/artifacts.ts: the SPDX SBOMs) is
 * also written as `<dir>/<its title>` (`sbom/amd64.spdx.json`), the newest one when two have one title.
 */
export async function openLayoutSink(options: LayoutSinkOptions): Promise<Sink> {
  const target = resolve(options.dir);
  await checkReplaceable(target);
  const parent = dirname(target);
  const prefix = `.${basename(target)}.alba-`;
  makeDirs(parent);
  const release = await acquirePathLock(
    join(parent, `${prefix}lock`),
    (pid) => options.log?.(`waiting for alba (pid ${pid}), which is writing ${options.dir}`),
    (pid) =>
      new AlbaError('LAYOUT_INVALID', `${options.dir}: another alba (pid ${pid}) has been writing it for too long`, {
        hint: 'see whether that run hangs; stop it, then build again',
      }),
  );
  try {
    // what killed runs left beside the target (staged layouts, temp files)
    await removeStaleTemps(parent, (name) => name.startsWith(prefix) && name !== `${prefix}lock`);
    await checkReplaceable(target);
    const staging = join(parent, `${prefix}${process.pid}-${randomBytes(4).toString('hex')}`);
    const inPlace = await stat(target).then(
      (i) => i.isDirectory(),
      () => false,
    );
    const root = inPlace ? target : staging;
    const temps = `${staging}.tmp`;
    const verified = options.statIndex === undefined || !inPlace ? undefined : StatIndex.load(options.statIndex);
    const blobs = new BlobStore(join(root, 'blobs'), temps, verified);
    makeDirs(join(root, 'blobs', 'sha256'));
    const before = inPlace ? new Set(await readdir(join(target, 'blobs', 'sha256')).catch(() => [] as string[])) : new Set<string>();
    const kept = new Set<string>();
    const refs: Descriptor[] = [];
    const manifests = new Map<string, Blob>();
    const linked: Descriptor[] = [];
    const put = async (blob: Blob): Promise<StoreOutcome> => {
      const { digest, size } = blob.descriptor;
      const hex = digestHex(parseDigest(digest));
      kept.add(hex);
      // a blob the previous layout already holds is kept when its bytes still hash to its name: read, not rewritten
      if (before.has(hex) && (await blobs.verify(parseDigest(digest), size))) return 'skipped';
      const expected = { digest: parseDigest(digest), size, what: `blob ${digest}${blob.file === undefined ? '' : ` (${blob.file})`}` };
      // a blob in a local file (the build cache) is copied by the kernel and its copy hashed once;
      // a missing file goes the stream's way, which says so (BLOB_MISSING)
      const copied =
        blob.file === undefined
          ? false
          : await blobs.copyIn(blob.file, expected).then(
              () => true,
              (err: NodeJS.ErrnoException) => {
                if (err.code === 'ENOENT') return false;
                throw err;
              },
            );
      if (!copied) await blobs.write(await blob.open(), expected);
      return 'sent';
    };
    const discardAdded = async (): Promise<void> => {
      for (const hex of kept) if (!before.has(hex)) await rm(join(target, 'blobs', 'sha256', hex), { force: true });
    };
    return {
      name: `oci:${options.dir}`,
      holdsComplete: async () => false,
      putBlob: put,
      putManifest: (blob) => (manifests.set(blob.descriptor.digest, blob), put(blob)),
      linkReferrers: async (_subject, referrers) => void linked.push(...referrers),
      async tag(tag: string, rootBlob: Blob): Promise<StoreOutcome> {
        refs.push(...(await layoutRefs(tag, rootBlob)));
        return 'sent';
      },
      async finish(ok: boolean): Promise<void> {
        try {
          if (!ok) {
            if (inPlace) await discardAdded();
            return;
          }
          const index = imageIndex({ manifests: refs });
          let files: LooseFile[];
          try {
            await checkHeld(blobs, refs, { maxManifest: MAX_MANIFEST_BYTES, invalid: (detail) => invalid(root, detail) });
            files = await looseFiles(root, blobs, linked, manifests, options.log);
          } catch (err) {
            if (inPlace) await discardAdded();
            throw err;
          }
          if (!inPlace) {
            await writeLayoutFiles(root, index, files);
            await rename(staging, target);
          } else {
            await writeLayoutFiles(target, index, files);
            await removeUnused(target, kept, files);
            await verified?.save();
          }
          try {
            options.committed?.(target);
          } catch (err) {
            // the layout is written whatever the callback does
            options.log?.(`note: ${options.dir} is written; its committed callback failed: ${String(err)}`);
          }
        } finally {
          await rm(staging, { recursive: true, force: true });
          await rm(temps, { recursive: true, force: true });
          await release();
        }
      },
    };
  } catch (err) {
    await release();
    throw err;
  }
}

/** A file beside the layout's own: a referrer's content layer under its kind's directory. */
interface LooseFile {
  /** Relative to the layout, `/`-separated. */
  path: string;
  bytes: Uint8Array;
}

/** A layer title that is a plain file name (no `/`, no `..`, not hidden), so that `<dir>/<title>` stays in its directory. */
const FILE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

/**
 * The loose files of the linked referrers: for each of a kind with loose files (newest first),
 * its content layer as `<kind dir>/<title>`, read from the blobs just stored. A title that is not
 * a plain file name gets no file (told to `log`).
 */
async function looseFiles(
  root: string,
  blobs: BlobStore,
  linked: readonly Descriptor[],
  manifests: ReadonlyMap<string, Blob>,
  log?: (line: string) => void,
): Promise<LooseFile[]> {
  const files = new Map<string, LooseFile>();
  for (const d of [...linked].sort(newestFirst)) {
    const blob = manifests.get(d.digest);
    if (blob === undefined) continue;
    const manifest = parseManifestJson(await blobBytes(blob, MAX_MANIFEST_BYTES), (why) =>
      invalid(root, `referrer ${d.digest} cannot be read: ${why}`),
    );
    for (const kind of ARTIFACT_KINDS) {
      const layer = kind.looseDir === undefined ? undefined : artifactLayer(manifest, kind);
      const title = layer?.annotations?.[Annotation.title];
      if (layer === undefined || title === undefined) continue;
      if (!FILE_NAME_RE.test(title)) {
        log?.(`${d.digest}: the ${kind.what} titled ${JSON.stringify(title)} gets no file in ${kind.looseDir}/ (not a plain file name)`);
        continue;
      }
      const path = `${kind.looseDir}/${title}`;
      if (files.has(path)) continue;
      const bytes = await blobs.bytes(parseDigest(layer.digest), MAX_ARTIFACT_BYTES, (size) =>
        invalid(root, `${layer.digest} has ${size} bytes, more than the ${MAX_ARTIFACT_BYTES} of a ${kind.what}`),
      );
      if (bytes === undefined) throw invalid(root, `referrer ${d.digest} names ${layer.digest}, which is missing`);
      files.set(path, { path, bytes });
    }
  }
  return [...files.values()];
}

function invalid(dir: string, detail: string): AlbaError {
  return new AlbaError('LAYOUT_INVALID', `${dir} is not a valid OCI layout: ${detail}`, { hint: 'rebuild the layout with `alba build`' });
}

/** Writes the loose files, then `oci-layout`, then `index.json` last (each by temp file and rename): replacing index.json is the commit. */
async function writeLayoutFiles(dir: string, index: ReturnType<typeof imageIndex>, files: readonly LooseFile[]): Promise<void> {
  for (const file of files) await writeFileAtomic(join(dir, file.path), file.bytes);
  await writeFileAtomic(join(dir, 'oci-layout'), canonicalJson({ imageLayoutVersion: '1.0.0' }));
  await writeFileAtomic(join(dir, 'index.json'), canonicalJson(index));
}

/** After the commit: removes the blobs the new layout does not hold and every other entry but its own files. */
async function removeUnused(dir: string, kept: ReadonlySet<string>, files: readonly { path: string }[]): Promise<void> {
  for (const hex of await readdir(join(dir, 'blobs', 'sha256')))
    if (!kept.has(hex)) await rm(join(dir, 'blobs', 'sha256', hex), { recursive: true, force: true });
  for (const name of await readdir(join(dir, 'blobs')))
    if (name !== 'sha256') await rm(join(dir, 'blobs', name), { recursive: true, force: true });
  const own = new Set(['oci-layout', 'index.json', 'blobs', ...files.map((f) => f.path)]);
  const walk = async (sub: string): Promise<void> => {
    for (const entry of await readdir(join(dir, sub), { withFileTypes: true })) {
      const path = sub === '' ? entry.name : `${sub}/${entry.name}`;
      if (own.has(path)) continue;
      if (entry.isDirectory() && files.some((f) => f.path.startsWith(`${path}/`))) await walk(path);
      else await rm(join(dir, path), { recursive: true, force: true });
    }
  };
  await walk('');
}

/** Refuses to replace anything but an OCI layout or an empty directory. */
async function checkReplaceable(target: string): Promise<void> {
  const info = await stat(target).catch(() => undefined);
  if (info === undefined) return;
  const isLayout =
    info.isDirectory() &&
    (await stat(join(target, 'oci-layout')).then(
      () => true,
      () => false,
    ));
  const isEmptyDir = info.isDirectory() && (await readdir(target)).length === 0;
  if (!isLayout && !isEmptyDir) {
    throw new AlbaError('LAYOUT_INVALID', `${target} exists and is not an OCI layout; alba will not replace it`, {
      hint: 'choose another output directory, or remove this one yourself',
    });
  }
  // updated in place, a layout's files are written and its unused blobs deleted: never through a link to elsewhere
  const links = [
    ...(await readdir(target, { withFileTypes: true })).filter((e) => e.isSymbolicLink()).map((e) => e.name),
    ...(await lstat(join(target, 'blobs', 'sha256')).then(
      (i) => (i.isSymbolicLink() ? ['blobs/sha256'] : []),
      () => [],
    )),
    ...(await lstat(join(target, 'blobs')).then(
      (i) => (i.isSymbolicLink() ? ['blobs'] : []),
      () => [],
    )),
  ];
  if (links.length > 0) {
    throw new AlbaError(
      'LAYOUT_INVALID',
      `${target} holds a symbolic link (${[...new Set(links)].join(', ')}); alba writes and deletes only inside the layout`,
      {
        hint: 'replace the link with the directory itself, or choose another output directory',
      },
    );
  }
}
