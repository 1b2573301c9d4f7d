/**
 * Writes an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/*`) atomically: everything
 * is built in a temp directory beside the target and checked (every referenced blob present
 * with its size), then renamed over the target. The previous output is removed only after the
 * new one is in place; a failed write leaves it untouched. Blobs from BlobStores are hard-linked
 * when the filesystems allow it, else copied.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AlbaError } from '../errors.js';
import { BlobStore } from './blob-store.js';
import { digestOf, type Digest } from './digest.js';
import { imageIndex } from './image-index.js';
import { canonicalJson } from './json.js';
import { checkLayout, readLayout, REF_NAME } from './layout-reader.js';
import type { Descriptor, Platform } from './types.js';

/** An entry of index.json: named (a tag) or unnamed (e.g. a referrer artifact). */
export interface LayoutRef {
  name?: string;
  descriptor: Descriptor;
}

/** Everything one layout holds. */
export interface LayoutInput {
  /** Target directory; replaced as a whole. */
  dir: string;
  /** Blobs kept in blob stores (layers, usually). */
  stored: readonly { store: BlobStore; digest: Digest }[];
  /** In-memory blobs (configs, manifests, the image index, the empty JSON blob…). */
  inline: readonly { bytes: Uint8Array }[];
  /** index.json entries, in order. */
  refs: readonly LayoutRef[];
  /** Extra files beside the layout's own (e.g. `sbom/amd64.spdx.json`), paths relative to `dir`. */
  files?: readonly { path: string; bytes: Uint8Array }[];
}

/** The ref name of one platform's manifest: `<tag>-<os>-<arch>[-<variant>]`. */
export function platformRefName(tag: string, platform: Platform): string {
  return [tag, platform.os, platform.architecture, ...(platform.variant === undefined ? [] : [platform.variant])].join('-');
}

/**
 * The index.json refs of a multi-arch image: `<tag>` → the image index, then one
 * `<tag>-<os>-<arch>[-<variant>]` per platform manifest (umoci cannot unpack an index ref).
 */
export function imageRefs(tag: string, index: Descriptor, manifests: readonly Descriptor[]): LayoutRef[] {
  const refs: LayoutRef[] = [{ name: tag, descriptor: index }];
  for (const m of manifests) {
    if (m.platform === undefined) throw new AlbaError('LAYOUT_INVALID', `manifest ${m.digest} has no platform, so it cannot get a per-platform ref`);
    refs.push({ name: platformRefName(tag, m.platform), descriptor: m });
  }
  return refs;
}

/** Writes the layout atomically (see the file comment). */
export async function writeLayout(input: LayoutInput): Promise<void> {
  const target = resolve(input.dir);
  await checkReplaceable(target);
  await mkdir(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.alba-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await fill(tmp, input);
    await swapInto(tmp, target);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function fill(tmp: string, input: LayoutInput): Promise<void> {
  const blobs = new BlobStore(join(tmp, 'blobs'));
  await mkdir(join(tmp, 'blobs', 'sha256'), { recursive: true });
  for (const { store, digest } of input.stored) {
    if (!(await store.has(digest))) {
      throw new AlbaError('LAYOUT_INVALID', `cannot write ${input.dir}: blob ${digest} is not in ${store.root}`, {
        hint: 'the local blob store was changed during the build; run the build again',
      });
    }
    await blobs.adopt(store, digest);
  }
  for (const { bytes } of input.inline) await writeFile(blobs.path(digestOf(bytes)), bytes);
  await rm(join(tmp, 'blobs', 'tmp'), { recursive: true, force: true });
  const manifests = input.refs.map((r) =>
    r.name === undefined ? r.descriptor : { ...r.descriptor, annotations: { ...r.descriptor.annotations, [REF_NAME]: r.name } },
  );
  await writeFile(join(tmp, 'oci-layout'), canonicalJson({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(tmp, 'index.json'), canonicalJson(imageIndex({ manifests })));
  for (const file of input.files ?? []) {
    await mkdir(dirname(join(tmp, file.path)), { recursive: true });
    await writeFile(join(tmp, file.path), file.bytes);
  }
  await checkLayout(await readLayout(tmp));
}

/** Refuses to replace anything but an OCI layout or an empty directory. */
async function checkReplaceable(target: string): Promise<void> {
  const info = await stat(target).catch(() => undefined);
  if (info === undefined) return;
  const isLayout = info.isDirectory() && (await stat(join(target, 'oci-layout')).then(() => true, () => false));
  const isEmptyDir = info.isDirectory() && (await readdir(target)).length === 0;
  if (!isLayout && !isEmptyDir) {
    throw new AlbaError('LAYOUT_INVALID', `${target} exists and is not an OCI layout; alba will not replace it`, {
      hint: 'choose another output directory, or remove this one yourself',
    });
  }
}

/** Renames `tmp` to `target`; a previous target is moved aside first and removed only afterwards. */
async function swapInto(tmp: string, target: string): Promise<void> {
  const exists = await stat(target).then(() => true, () => false);
  if (!exists) {
    await rename(tmp, target);
    return;
  }
  const old = `${tmp}.old`;
  await rename(target, old);
  try {
    await rename(tmp, target);
  } catch (err) {
    await rename(old, target);
    throw err;
  }
  await rm(old, { recursive: true, force: true });
}

