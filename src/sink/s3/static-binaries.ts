/**
 * Static binaries on S3, in the df-dist-v1 layout of the seed tool: every file of
 * `DIR/<os>/<arch>[/<variant>]/…` goes to `PREFIX/NAME/TAG/<os>/<arch>[/<variant>]/…`, then the tag
 * document `PREFIX/NAME/TAG` (`{"flavors":[{"resources":[{"path","size","sha256"}],"platform":{…}}]}`)
 * is written, then the name document `PREFIX/NAME` (`{"name","tags":[…]}`), so a reader never finds
 * a tag naming a file that is not there. Files already there with the same size and SHA256 are
 * skipped, and so is a tag document that already says the same (its Last-Modified is the push time).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AlbaError, isAlbaError } from '../../errors.js';
import { acquireLease, LeaseWatch, removalsSince } from '../../lifecycle/lease.js';
import { settleAll } from '../../util/settle-all.js';
import { mapLimit } from '../../util/map-limit.js';
import type { Platform } from '../../oci/types.js';
import { LOCK_SUFFIX, updateTagList } from './json-document.js';
import { bucketLease, removalLease } from './removal-lease.js';
import { MUTABLE, S3Store } from './s3-store.js';
import { compareTags, StaticNameStore } from './static-store.js';
import { keyOf, type S3Target } from './s3-target.js';

/** One file of a flavor. */
export interface StaticResource {
  /** Path inside the flavor's directory, with `/`. */
  path: string;
  size: number;
  /** Hex SHA256 of the content. */
  sha256: string;
  /** The local file. */
  file: string;
}

/** The files of one platform. */
export interface Flavor {
  platform: Platform;
  resources: StaticResource[];
}

/** What a static push tells as it goes. */
export type StaticPushEvent =
  { kind: 'file'; from: string; to: string; outcome: 'sent' | 'skipped' } | { kind: 'tag' | 'manifest'; to: string };

/** The default key prefix of static binaries. */
export const DEFAULT_STATIC_PREFIX = 'df-dist-v1';

const VARIANT_RE = /^v\d+$/;

/** Reads `DIR/<os>/<arch>[/<variant>]/<files…>` into flavors (sorted by platform, files by path), hashing every file. */
export async function scanStaticDir(dir: string): Promise<Flavor[]> {
  const flavors: Flavor[] = [];
  const subdirs = async (d: string): Promise<string[]> =>
    (await readdir(d, { withFileTypes: true }).catch(() => []))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  for (const os of await subdirs(dir)) {
    for (const architecture of await subdirs(join(dir, os))) {
      const base = join(dir, os, architecture);
      const entries = await readdir(base, { withFileTypes: true });
      const variants = entries
        .filter((e) => e.isDirectory() && VARIANT_RE.test(e.name))
        .map((e) => e.name)
        .sort();
      const direct = await files(base, new Set(variants));
      if (direct.length > 0) flavors.push({ platform: { os, architecture }, resources: await resources(base, direct) });
      for (const variant of variants) {
        const list = await files(join(base, variant), new Set());
        if (list.length > 0)
          flavors.push({ platform: { os, architecture, variant }, resources: await resources(join(base, variant), list) });
      }
    }
  }
  if (flavors.length === 0) {
    throw new AlbaError('USAGE', `${dir} holds no <os>/<arch>/<file>`, {
      hint: 'lay the binaries out as DIR/linux/amd64/app, DIR/linux/arm64/app, DIR/linux/arm/v7/app…',
    });
  }
  return flavors;
}

/** Every regular file under `dir` (but the `skip` subdirectories), as absolute paths, sorted. */
async function files(dir: string, skip: Set<string>): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
    .filter((p) => !skip.has(relative(dir, p).split(sep)[0] ?? ''))
    .sort();
}

async function resources(base: string, paths: string[]): Promise<StaticResource[]> {
  return mapLimit(paths, 4, async (file) => {
    const hash = createHash('sha256');
    await pipeline(createReadStream(file), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) hash.update(chunk);
    });
    return { path: relative(base, file).split(sep).join('/'), size: (await stat(file)).size, sha256: hash.digest('hex'), file };
  });
}

/** The tag document of the flavors (members in the seed's order). */
export function tagDocument(flavors: readonly Flavor[]): unknown {
  return {
    flavors: flavors.map((f) => ({
      resources: f.resources.map((r) => ({ path: r.path, size: r.size, sha256: r.sha256 })),
      platform: {
        architecture: f.platform.architecture,
        os: f.platform.os,
        ...(f.platform.variant === undefined ? {} : { variant: f.platform.variant }),
      },
    })),
  };
}

/** A static NAME: one path segment of `[a-z0-9._-]` (a `/` would make `team/cli` both a name and a tag of `team`). */
export const STATIC_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,127}$/;
/** A static TAG: up to 128 of `A-Z a-z 0-9 . _ - +`, not starting with `.` or `-` (`+` allowed: `0.8.2+feat`). */
export const STATIC_TAG_RE = /^[A-Za-z0-9_+][A-Za-z0-9._+-]{0,127}$/;

/** Refuses a NAME or TAG outside the grammar, or one that alba's own objects (locks) would collide with. */
export function checkStaticReference(name: string, tag?: string): void {
  if (!STATIC_NAME_RE.test(name) || name.endsWith(LOCK_SUFFIX)) {
    throw new AlbaError('USAGE', `${JSON.stringify(name)} is not a static NAME: one path segment of lowercase letters, digits, . _ -`, {
      hint: name.includes('/')
        ? `a "/" would make the name document of ${name} the tag document of ${name.slice(0, name.lastIndexOf('/'))}: use ${name.replaceAll('/', '-')}, or --prefix for a folder`
        : 'e.g. -t albatros:0.9',
    });
  }
  if (tag !== undefined && (!STATIC_TAG_RE.test(tag) || tag.endsWith(LOCK_SUFFIX) || tag === 'index.html')) {
    throw new AlbaError('USAGE', `${JSON.stringify(tag)} is not a valid static tag`, {
      hint: 'tags are up to 128 of A-Z a-z 0-9 . _ - +, not starting with . or -, and not index.html (the download page)',
    });
  }
}

/**
 * Refuses a `--prefix` that puts static NAMEs in the static registry's namespace (`v2/…`): a tag
 * `blobs` of NAME `app` under `v2` would be `v2/app/blobs/`, and its push's sweep of stale files
 * would take the image's blobs.
 */
export function checkStaticPrefix(prefix: string, name: string): void {
  const first = `${prefix}/${name}`.split('/').find((s) => s !== '');
  if (first === 'v2')
    throw new AlbaError(
      'USAGE',
      `--prefix ${JSON.stringify(prefix)} puts static binaries under v2/, where the images of the static registry are`,
      {
        hint: `keep the default (${DEFAULT_STATIC_PREFIX}) or choose a folder other than v2`,
      },
    );
}

/** How to push static binaries. */
export interface StaticPushOptions {
  /** Key prefix (default df-dist-v1). */
  prefix?: string;
  /** Replace a tag that exists with other files (refused otherwise: error[TAG_EXISTS]). */
  force?: boolean;
  onEvent?: (e: StaticPushEvent) => void;
  /** Notes (waiting for a removal or another push of the tag). */
  log?: (line: string) => void;
  /** Write the download pages (`PREFIX/NAME/index.html`, the root `index.html`) after the name document (default true). */
  pages?: boolean;
}

/**
 * Pushes the flavors as NAME:TAG under the prefix: files first, then the tag document, then the
 * name document. The tag is held (a lease object `PREFIX/NAME/TAG.alba-lock`) while its files
 * and document are written, so concurrent pushes of one tag take turns and a document never
 * names bytes that are not its files'; a tag that exists with other files is replaced only with
 * `force`. Then, if a removal of NAME is running, the push waits for it and writes again
 * whatever it took. The pages after the name document (beside that check), unless the push wrote
 * nothing and the page already shows the tag with these files (src/site/page-shows.ts).
 */
export async function pushStatic(
  target: S3Target,
  name: string,
  tag: string,
  flavors: readonly Flavor[],
  options: StaticPushOptions = {},
): Promise<void> {
  checkStaticReference(name, tag);
  const store = new S3Store(target);
  await store.checkBucket();
  const prefix = options.prefix ?? DEFAULT_STATIC_PREFIX;
  const emit = options.onEvent ?? (() => undefined);
  const base = keyOf(target, `${prefix}/${name}`);
  const tags = new StaticNameStore(store, base);
  const files = flavors.flatMap((f) => f.resources.map((r) => ({ r, key: `${base}/${tag}/${platformPath(f.platform)}/${r.path}` })));
  const document = tagDocument(flavors);
  /** Whether this push wrote or deleted a file or document (the pages are then refreshed). */
  let moved = false;
  const writeTag = async (): Promise<void> => {
    const held = await acquireLease(bucketLease(store, `${base}/${tag}${LOCK_SUFFIX}`), options.log);
    try {
      const existing = await tags
        .tagDocument(tag)
        .catch((err: unknown) => (options.force === true && isAlbaError(err, 'S3') ? undefined : Promise.reject(err)));
      if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(document) && options.force !== true) {
        throw new AlbaError('TAG_EXISTS', `${store.where(`${base}/${tag}`)}: ${name}:${tag} exists with other files`, {
          hint: 'a static tag names fixed bytes: push a new tag, or pass --force to replace it',
        });
      }
      // a replacement takes the tag out of the name document and deletes its document (and its
      // page's entry) before a file is overwritten (its key stays): a push killed meanwhile leaves
      // no document or page naming bytes that are not its files; the tag is listed again once whole
      if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(document)) {
        moved = true;
        await updateTagList(store, base, name, { remove: [tag] }, compareTags);
        await held.check();
        await store.remove(`${base}/${tag}`);
        // the download page no longer shows the old files either (as a removal refreshes it)
        await pages?.refreshStaticPages(store, base);
      }
      const outcomes = await mapLimit(files, 4, async ({ r, key }) => {
        const present = await store.head(key);
        const same = present !== undefined && present.size === r.size && present.metadata?.sha256 === r.sha256;
        if (!same) moved = true;
        if (!same)
          await store.put(
            key,
            { open: async () => createReadStream(r.file), size: r.size },
            { contentType: 'application/octet-stream', cacheControl: MUTABLE, metadata: { sha256: r.sha256 } },
          );
        return same ? ('skipped' as const) : ('sent' as const);
      });
      files.forEach(({ r, key }, i) => emit({ kind: 'file', from: r.file, to: key, outcome: outcomes[i] ?? 'sent' }));
      await held.check();
      // the same document already there is left alone, and so its time (the push time: docs/lifecycle.md)
      if (existing === undefined || JSON.stringify(existing) !== JSON.stringify(document)) {
        moved = true;
        await store.put(`${base}/${tag}`, Buffer.from(`${JSON.stringify(document)}\n`), {
          contentType: 'application/json',
          cacheControl: MUTABLE,
        });
      }
      emit({ kind: 'tag', to: `${base}/${tag}` });
      // files a replaced document named and this one does not
      const named = new Set(files.map((f) => f.key));
      const stale = (await store.list(`${base}/${tag}/`)).filter((o) => !named.has(o.key));
      if (stale.length > 0) moved = true;
      await mapLimit(stale, 8, (o) => (held.guard(), store.remove(o.key)));
    } finally {
      await held.release();
    }
  };
  // after the name document, from the documents as they are then (src/site/bucket-pages.ts)
  const shown = flavors.map((f) => ({
    platform: platformPath(f.platform),
    files: f.resources.map(({ path, size, sha256 }) => ({ path, size, sha256 })),
  }));
  const pages = options.pages === false ? undefined : await import('../../site/bucket-pages.js');
  // a removal that ran meanwhile may have taken files this push found already there: write again
  // (and the pages again). The pages of each round go out beside its removal check.
  const removals = removalLease(store, `${base}/`);
  const watch = new LeaseWatch();
  let epoch = await removals.epoch?.();
  for (let round = 0; round < 3; round++) {
    await writeTag();
    if (await updateTagList(store, base, name, { add: [tag] }, compareTags)) moved = true;
    emit({ kind: 'manifest', to: base });
    const [since] = await settleAll([
      removalsSince(removals, epoch, options.log, watch),
      pages?.pagesAfterPush(store, base, { kind: 'static', moved, tags: [{ kind: 'static', tag, flavors: shown }] }),
    ]);
    if (!since.ran) break;
    epoch = since.epoch;
  }
}

function platformPath(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant === undefined ? [] : [p.variant])].join('/');
}
