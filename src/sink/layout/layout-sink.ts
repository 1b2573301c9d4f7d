/**
 * The OCI image layout as a sink (`oci-layout`, `index.json`, `blobs/sha256/*`), written whole or
 * not at all: everything is staged in a temp directory beside the target, checked (every
 * referenced blob present with its size), then renamed over the target; the previous output is
 * removed only after the new one is in place, and a failed walk leaves it untouched. Blobs that
 * are local files (the build cache) are hard-linked when the filesystems allow it, else copied;
 * streamed blobs are verified against their descriptor while written.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AlbaError } from '../../errors.js';
import { BlobStore } from '../../oci/blob-store.js';
import { blobBytes, MAX_MANIFEST_BYTES, type Blob } from '../../oci/graph.js';
import { imageIndex } from '../../oci/image-index.js';
import { canonicalJson } from '../../oci/json.js';
import { checkLayout, readLayout, REF_NAME } from '../../oci/layout-reader.js';
import { MediaType } from '../../oci/media-types.js';
import type { Descriptor, Platform } from '../../oci/types.js';
import type { Sink, StoreOutcome } from '../sink.js';

/** Where and what to write besides the graph. */
export interface LayoutSinkOptions {
  /** Target directory; replaced as a whole. */
  dir: string;
  /** Extra files beside the layout's own (e.g. `sbom/amd64.spdx.json`), paths relative to `dir`. */
  files?: readonly { path: string; bytes: Uint8Array }[];
}

/** The ref name of one platform's manifest: `<tag>-<os>-<arch>[-<variant>]`. */
export function platformRefName(tag: string, platform: Platform): string {
  return [tag, platform.os, platform.architecture, ...(platform.variant === undefined ? [] : [platform.variant])].join('-');
}

/**
 * Opens a layout sink on `dir`. Each tag becomes a ref `<tag>` to the root and, when the root is
 * an index, one `<tag>-<os>-<arch>[-<variant>]` ref per platform manifest (umoci cannot unpack an
 * index ref). Referrer manifests are stored as blobs but not listed in index.json: oci-image-tool
 * 1.0.0-rc1 rejects the empty config of OCI 1.1 artifacts; readers find them by subject.
 */
export async function openLayoutSink(options: LayoutSinkOptions): Promise<Sink> {
  const target = resolve(options.dir);
  await checkReplaceable(target);
  await mkdir(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.alba-${process.pid}-${randomBytes(4).toString('hex')}`);
  const blobs = new BlobStore(join(tmp, 'blobs'));
  await mkdir(join(tmp, 'blobs', 'sha256'), { recursive: true });
  const refs: Descriptor[] = [];

  const put = async (blob: Blob): Promise<StoreOutcome> => {
    const { digest, size } = blob.descriptor;
    if (blob.file !== undefined) {
      if ((await stat(blob.file).catch(() => undefined))?.size !== size) {
        throw new AlbaError('LAYOUT_INVALID', `cannot write ${options.dir}: blob ${digest} is not in ${blob.file} with ${size} bytes`, {
          hint: 'the local blob store was changed during the build; run the build again',
        });
      }
      await blobs.adopt(blob.file, digest);
    }
    else await blobs.write(await blob.open(), { digest, size, what: `blob ${digest}` });
    return 'sent';
  };

  return {
    name: `oci:${options.dir}`,
    holdsComplete: async () => false,
    putBlob: put,
    putManifest: put,
    linkReferrers: async () => undefined,
    async tag(tag: string, root: Blob): Promise<StoreOutcome> {
      refs.push(named(root.descriptor, tag));
      if (root.descriptor.mediaType !== MediaType.index) return 'sent';
      const children = (JSON.parse((await blobBytes(root, MAX_MANIFEST_BYTES)).toString('utf8')) as { manifests?: Descriptor[] }).manifests ?? [];
      for (const child of children) {
        if (child.platform === undefined) throw new AlbaError('LAYOUT_INVALID', `manifest ${child.digest} has no platform, so it cannot get a per-platform ref`, { hint: 'give every entry of the image index a platform' });
        refs.push(named(child, platformRefName(tag, child.platform)));
      }
      return 'sent';
    },
    async finish(ok: boolean): Promise<void> {
      try {
        if (!ok) return;
        await rm(join(tmp, 'blobs', 'tmp'), { recursive: true, force: true });
        await writeFile(join(tmp, 'oci-layout'), canonicalJson({ imageLayoutVersion: '1.0.0' }));
        await writeFile(join(tmp, 'index.json'), canonicalJson(imageIndex({ manifests: refs })));
        for (const file of options.files ?? []) {
          await mkdir(dirname(join(tmp, file.path)), { recursive: true });
          await writeFile(join(tmp, file.path), file.bytes);
        }
        await checkLayout(await readLayout(tmp));
        await swapInto(tmp, target);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    },
  };
}

function named(d: Descriptor, name: string): Descriptor {
  return { ...d, annotations: { ...d.annotations, [REF_NAME]: name } };
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
