/**
 * The pages of a bucket, read from the documents alba keeps there and written next to them (the
 * IO edge of src/site/; rendering is render.ts). Each page is derived state: it is rendered from
 * the documents as read after the caller's own write, written, then rendered again from a fresh
 * read and compared with what the page object holds, until they agree (at most 5 rounds). So of
 * two pushes racing on one page, the last writer's check sees both tags and rewrites the page
 * if the other push's older rendering landed last. A tag is shown only when its objects were
 * all there when the page was rendered (static: the tag document and every file it names with
 * its size; images: the tag object and every manifest it names). The reads of one refresh go out
 * in parallel, at most READS at a time; a push that moved nothing may leave the pages alone
 * (pagesAfterPush, the rule in page-shows.ts).
 */
import { isDigest, digestOf, type Digest } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../oci/graph.js';
import { MediaType } from '../oci/media-types.js';
import { referrersTag } from '../oci/referrers.js';
import { tagClass, TAG_CLASSES, type TagClass } from '../lifecycle/tag-class.js';
import { isAlbaError } from '../errors.js';
import { mapLimit } from '../util/map-limit.js';
import { Slots } from '../util/slots.js';
import { settleAll } from '../util/settle-all.js';
import { isTagList, MAX_DOCUMENT_BYTES, parseTagList } from '../sink/s3/json-document.js';
import { isStrongEtag, MUTABLE, S3Store, singlePartEtag, type ObjectBytes } from '../sink/s3/s3-store.js';
import { parseS3Target } from '../sink/s3/s3-target.js';
import { compareTags, isTagDocument } from '../sink/s3/static-store.js';
import { ASSETS } from './assets.js';
import { mayLeavePages, type PushedTag } from './page-shows.js';
import {
  ASSETS_DIR,
  hrefOf,
  renderImagePage,
  renderRootPage,
  renderStaticPage,
  type ImagePlatform,
  type ImageTagEntry,
  type RootEntry,
  type SbomLink,
  type StaticTagEntry,
} from './render.js';

/** The name alba's pages have under their folder (the website's index document). */
export const PAGE = 'index.html';
const HTML = 'text/html; charset=utf-8';
const ROUNDS = 5;
/** Requests of one refresh in flight at most (its reads go out in parallel: RGW takes ~45 ms per GET). */
const READS = 12;
/** A page read back by a push that moved nothing is read up to this size (a larger one is rewritten). */
const MAX_PAGE_BYTES = 8 * 1024 * 1024;
/** How deep `v2/` is searched for repositories (path components of a NAME). */
const MAX_REPOSITORY_DEPTH = 8;
/** Folders listed at most while looking for names and repositories. */
const MAX_FOLDERS = 10_000;
const DEFAULT_STATIC_PREFIX = 'df-dist-v1';
const SBOM_TYPES: Record<string, SbomLink['format']> = { [MediaType.spdx]: 'SPDX', 'application/vnd.cyclonedx+json': 'CycloneDX' };

type Listing = ReturnType<S3Store['listFolder']>;

/**
 * The bucket as a refresh reads it: every request through one gate of READS slots, so that the
 * reads of nested lists (tags, their manifests, their SBOMs) go out together and stay bounded.
 * A manifest by digest is read once per refresh, whatever the rounds and pages that show it (its
 * bytes are checked against its digest: it cannot change); a folder is listed once per round
 * (round()), and the folders above the pushed name can be listed ahead, all at once
 * (listAhead), rather than level by level as discover() reaches them.
 */
class Reads {
  private readonly listings = new Map<string, Listing>();

  constructor(
    readonly store: S3Store,
    private readonly slots = new Slots(READS),
    private readonly manifests = new Map<string, Promise<{ json: ManifestJson; size: number } | undefined>>(),
    /** What each object read had, for the next round to ask "unless unchanged" (a 304 has no body to wait for). */
    private readonly known = new Map<string, ObjectBytes>(),
  ) {}

  /** The reads of one rendering: the same gate, manifests and known objects, listings of its own. */
  round(): Reads {
    return new Reads(this.store, this.slots, this.manifests, this.known);
  }

  /** A GET; `remember`: kept for a later round's conditional read (not for manifests by digest: manifest() keeps those parsed). */
  get(key: string, max: number, remember = true): ReturnType<S3Store['get']> {
    return this.slots.run(async () => {
      // what an earlier round read, or what the push itself wrote: asked "unless unchanged"
      const got = await this.store.get(key, max, this.known.get(key) ?? this.store.written(key));
      if (remember && got?.etag !== undefined && isStrongEtag(got.etag)) this.known.set(key, got);
      else this.known.delete(key);
      return got;
    });
  }

  head(key: string): ReturnType<S3Store['head']> {
    return this.slots.run(() => this.store.head(key));
  }

  list(prefix: string): ReturnType<S3Store['list']> {
    return this.slots.run(() => this.store.list(prefix));
  }

  listFolder(prefix: string): Listing {
    let listing = this.listings.get(prefix);
    if (listing === undefined) {
      listing = this.slots.run(() => this.store.listFolder(prefix));
      this.listings.set(prefix, listing);
    }
    return listing;
  }

  /** Lists now each folder between the root and `base` (a page's key prefix), for discover() to find them listed. */
  listAhead(base: string): void {
    const root = rootOf(this.store);
    const folders = [root];
    for (let at = base.indexOf('/', root.length); at !== -1; at = base.indexOf('/', at + 1)) folders.push(base.slice(0, at + 1));
    // a failure is discover()'s to report, when it asks for the same listing
    for (const folder of folders) this.listFolder(folder).catch(() => undefined);
  }

  /** The manifest at `key` (`…/manifests/<digest>`) when its bytes hash to `digest` and parse as a JSON object. */
  manifest(key: string, digest: string): Promise<{ json: ManifestJson; size: number } | undefined> {
    let pending = this.manifests.get(key);
    if (pending === undefined) {
      pending = this.get(key, MAX_MANIFEST_BYTES, false).then((got) =>
        got === undefined || digestOf(got.bytes) !== digest ? undefined : asManifest(parseJson(got.bytes), got.bytes.length),
      );
      // a failed read is not kept: the next round reads it again
      pending.catch(() => this.manifests.delete(key));
      this.manifests.set(key, pending);
    }
    return pending;
  }

  async tagList(key: string): Promise<string[] | undefined> {
    const got = await this.get(key, MAX_DOCUMENT_BYTES);
    return got === undefined ? undefined : parseTagList(this.store, key, got.bytes);
  }
}

/** Refreshes the page of the static NAME whose name document is `base` (`[ROOT/]PREFIX/NAME`) and the root page. */
export async function refreshStaticPages(store: S3Store, base: string): Promise<void> {
  const io = new Reads(store);
  await settleAll([writeStaticPage(io, base), refreshRootPage(io, { near: base })]);
}

/** Refreshes the page of the image repository whose keys start with `base` (`[ROOT/]v2/NAME/`) and the root page. */
export async function refreshImagePages(store: S3Store, base: string): Promise<void> {
  const io = new Reads(store);
  await settleAll([writeImagePage(io, base), refreshRootPage(io, { near: base })]);
}

/**
 * After a push's last write (`moved`: whether the push wrote anything, known once that write is
 * made): refreshes the pages (as refreshStaticPages/refreshImagePages) unless the push moved
 * nothing and its own page, read once (while that last write goes), already shows each tag it
 * pushed (page-shows.ts). True when it refreshed them.
 */
export async function pagesAfterPush(
  store: S3Store,
  base: string,
  push: { kind: 'image' | 'static'; moved: boolean | Promise<boolean>; tags: readonly PushedTag[] },
): Promise<boolean> {
  const image = push.kind === 'image';
  const [read, wrote] = await Promise.allSettled([readPage(store, image ? `${base}${PAGE}` : `${base}/${PAGE}`), push.moved]);
  if (wrote.status === 'rejected') throw wrote.reason;
  const moved = wrote.value;
  // the page matters only to a push that moved nothing
  if (!moved && read.status === 'rejected') throw read.reason;
  const page = moved || read.status === 'rejected' ? undefined : read.value;
  if (mayLeavePages({ moved, page, tags: push.tags })) return false;
  await (image ? refreshImagePages(store, base) : refreshStaticPages(store, base));
  return true;
}

/** The page at `key` as text; undefined when there is none or it is larger than MAX_PAGE_BYTES. */
async function readPage(store: S3Store, key: string): Promise<string | undefined> {
  try {
    return (await store.get(key, MAX_PAGE_BYTES))?.bytes.toString('utf8');
  } catch (err) {
    if (isAlbaError(err, 'TOO_LARGE')) return undefined;
    throw err;
  }
}

/** `alba pages s3://…` as a library call: opens the bucket of an s3:// target and rebuilds every page of it. */
export async function writeBucketPages(target: string): Promise<{ where: string; pages: string[] }> {
  const store = new S3Store(parseS3Target(target));
  await store.checkBucket();
  return { where: store.where(''), ...(await rebuildPages(store)) };
}

/** Rebuilds every page of the target (`alba pages`): each static NAME and image repository found, the root page and `_alba/`. */
export async function rebuildPages(store: S3Store): Promise<{ pages: string[] }> {
  const io = new Reads(store);
  const found = await discover(io);
  const pages: string[] = [];
  for (const base of found.statics) pages.push(await writeStaticPage(io, base));
  for (const base of found.images) pages.push(await writeImagePage(io, base));
  pages.push(await refreshRootPage(io, { found }));
  return { pages };
}

/** The key prefix of the target's root: '' or `PREFIX/`. */
function rootOf(store: S3Store): string {
  return store.target.prefix === '' ? '' : `${store.target.prefix}/`;
}

/** `../` once per folder between the page's folder (`dir`, ending in `/`) and the root. */
function upTo(store: S3Store, dir: string): string {
  return '../'.repeat(dir.slice(rootOf(store).length).split('/').length - 1);
}

async function writeStaticPage(io: Reads, base: string): Promise<string> {
  const key = `${base}/${PAGE}`;
  const name = base.slice(base.lastIndexOf('/') + 1);
  await settle(io, key, async () => renderStaticPage({ name, root: upTo(io.store, `${base}/`), tags: await readStaticTags(io, base) }));
  return key;
}

async function writeImagePage(io: Reads, base: string): Promise<string> {
  const key = `${base}${PAGE}`;
  const name = base.slice(`${rootOf(io.store)}v2/`.length, -1);
  await settle(io, key, async () => renderImagePage({ name, root: upTo(io.store, base), tags: await readImageTags(io, base) }));
  return key;
}

/**
 * The root page (and the `_alba/` files, when they differ from this alba's, checked meanwhile):
 * of what `found` lists, else of what discover() finds, listing the folders above the page at
 * `near` (a static NAME's or an image repository's key prefix) ahead.
 */
async function refreshRootPage(
  io: Reads,
  { found: known, near }: { found?: { statics: string[]; images: string[] }; near?: string },
): Promise<string> {
  const store = io.store;
  const root = rootOf(store);
  const assets = mapLimit(ASSETS, ASSETS.length, (a) => putIfChanged(io, `${root}${ASSETS_DIR}/${a.name}`, a.body, a.contentType));
  const key = `${root}${PAGE}`;
  const title = `${store.target.bucket}${store.target.prefix === '' ? '' : `/${store.target.prefix}`}`;
  const page = settle(io, key, async () => {
    const round = io.round();
    if (known === undefined && near !== undefined) round.listAhead(near);
    const found = known ?? (await discover(round));
    const [downloads, images] = await settleAll([
      mapLimit(found.statics, READS, async (base) =>
        rootEntry(
          io,
          base.slice(root.length),
          folderHref(base.slice(root.length)),
          (await io.tagList(base).catch(() => undefined)) ?? [],
          (tag) => `${base}/${tag}`,
        ),
      ),
      mapLimit(found.images, READS, async (base) =>
        rootEntry(
          io,
          base.slice(`${root}v2/`.length, -1),
          folderHref(base.slice(root.length)),
          (await io.tagList(`${base}tags/list`).catch(() => undefined)) ?? [],
          (tag) => `${base}manifests/${tag}`,
        ),
      ),
    ]);
    return renderRootPage({
      title,
      downloads: downloads.map((d) => ({
        ...d,
        name: d.name.startsWith(`${DEFAULT_STATIC_PREFIX}/`) ? d.name.slice(DEFAULT_STATIC_PREFIX.length + 1) : d.name,
      })),
      images,
    });
  });
  await settleAll([assets, page]);
  return key;
}

/** The link to a folder below the root page: each segment encoded (a folder named `http:` is no URL). */
export function folderHref(relative: string): string {
  return `${hrefOf(...relative.split('/').filter((s) => s !== ''))}/`;
}

async function rootEntry(io: Reads, name: string, href: string, tags: string[], tagKey: (tag: string) => string): Promise<RootEntry> {
  const counts = Object.fromEntries(TAG_CLASSES.map((c) => [c, 0])) as Record<TagClass, number>;
  for (const t of tags) counts[tagClass(t)]++;
  const latest = tags
    .filter((t) => tagClass(t) === 'release')
    .sort(compareTags)
    .at(-1);
  const pushed = latest === undefined ? undefined : (await io.head(tagKey(latest)))?.lastModified;
  return { name, href, counts, ...(latest === undefined ? {} : { latest: { tag: latest, ...(pushed === undefined ? {} : { pushed }) } }) };
}

/**
 * Writes `render()` at `key` until a fresh rendering equals what the object holds (see the file
 * comment): the page a reader gets was rendered from documents read after every write that
 * preceded the last check.
 */
async function settle(io: Reads, key: string, render: () => Promise<string>): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    if (!(await putIfChanged(io, key, await render(), HTML))) return;
  }
}

/** Writes `body` at `key` unless the object already holds it (its ETag is the MD5 of a single-part PUT); true when written. */
async function putIfChanged(io: Reads, key: string, body: string, contentType: string): Promise<boolean> {
  const bytes = Buffer.from(body, 'utf8');
  const present = await io.head(key);
  if (present?.etag === singlePartEtag(bytes) && present.contentType === contentType) return false;
  await io.store.put(key, bytes, { contentType, cacheControl: MUTABLE });
  return true;
}

/** The tags of a static NAME whose document and files are all there. */
async function readStaticTags(io: Reads, base: string): Promise<StaticTagEntry[]> {
  const [tags, objects] = await settleAll([io.tagList(base), io.list(`${base}/`)]);
  const sizes = new Map(objects.map((o) => [o.key, o]));
  const entries = await mapLimit(tags ?? [], READS, async (tag): Promise<StaticTagEntry | undefined> => {
    const info = sizes.get(`${base}/${tag}`);
    const doc = info === undefined ? undefined : parseJson((await io.get(`${base}/${tag}`, MAX_MANIFEST_BYTES))?.bytes);
    if (info === undefined || !isTagDocument(doc)) return undefined;
    const flavors = doc.flavors.map((f) => ({
      platform: [f.platform.os, f.platform.architecture, ...(f.platform.variant === undefined ? [] : [f.platform.variant])].join('/'),
      files: f.resources.map(({ path, size, sha256 }) => ({ path, size, sha256 })),
    }));
    const whole = flavors.every((f) => f.files.every((file) => sizes.get(`${base}/${tag}/${f.platform}/${file.path}`)?.size === file.size));
    return whole ? { tag, pushed: info.lastModified, flavors } : undefined;
  });
  return entries.filter((e): e is StaticTagEntry => e !== undefined);
}

interface ManifestJson {
  manifests?: unknown;
  config?: { digest?: unknown; size?: unknown };
  layers?: unknown;
  platform?: unknown;
}

/** The tags of an image repository whose tag object and manifests are all there, with platforms and SBOMs. */
async function readImageTags(io: Reads, base: string): Promise<ImageTagEntry[]> {
  const [tags, objects] = await settleAll([io.tagList(`${base}tags/list`), io.list(`${base}manifests/`)]);
  const present = new Map(objects.map((o) => [o.key, o]));
  // only what this round's listing holds: a manifest removed since an earlier round is not shown
  const manifest = async (digest: string): Promise<{ json: ManifestJson; size: number } | undefined> => {
    const key = `${base}manifests/${digest}`;
    return present.has(key) ? io.manifest(key, digest) : undefined;
  };
  const sboms = async (subject: Digest): Promise<SbomLink[]> => {
    const tagIndex = present.has(`${base}manifests/${referrersTag(subject)}`)
      ? asManifest(parseJson((await io.get(`${base}manifests/${referrersTag(subject)}`, MAX_MANIFEST_BYTES))?.bytes), 0)
      : undefined;
    const links = await mapLimit(descriptors(tagIndex?.json.manifests), READS, async (d): Promise<SbomLink | undefined> => {
      const format = SBOM_TYPES[typeof d.artifactType === 'string' ? d.artifactType : ''];
      const layer = format === undefined ? undefined : descriptors((await manifest(d.digest))?.json.layers)[0];
      return layer === undefined || format === undefined ? undefined : { format, digest: layer.digest };
    });
    return links.filter((l): l is SbomLink => l !== undefined);
  };
  const imageSize = (m: { json: ManifestJson; size: number }): number =>
    m.size + [...descriptors([m.json.config]), ...descriptors(m.json.layers)].reduce((sum, d) => sum + d.size, 0);
  const entries = await mapLimit(tags ?? [], READS, async (tag): Promise<ImageTagEntry | undefined> => {
    const key = `${base}manifests/${tag}`;
    const info = present.get(key);
    const got = info === undefined ? undefined : await io.get(key, MAX_MANIFEST_BYTES);
    const root = got === undefined ? undefined : asManifest(parseJson(got.bytes), got.bytes.length);
    if (info === undefined || got === undefined || root === undefined) return undefined;
    const digest = digestOf(got.bytes);
    const children = Array.isArray(root.json.manifests) ? descriptors(root.json.manifests) : [];
    // each platform's manifest and SBOMs, and the index's SBOMs, read at once
    const [platforms, indexSboms] = await settleAll([
      mapLimit(children, READS, async (d): Promise<ImagePlatform | undefined> => {
        const [child, links] = await settleAll([manifest(d.digest), sboms(d.digest as Digest)]);
        return child === undefined
          ? undefined
          : { platform: platformOf(d.platform), digest: d.digest, size: imageSize(child), sboms: links };
      }),
      sboms(digest),
    ]);
    if (platforms.some((p) => p === undefined)) return undefined; // a manifest it names is gone
    const whole = platforms.filter((p): p is ImagePlatform => p !== undefined);
    const size = Array.isArray(root.json.manifests) ? root.size + whole.reduce((sum, p) => sum + p.size, 0) : imageSize(root);
    return { tag, pushed: info.lastModified, digest, size, platforms: whole, sboms: indexSboms };
  });
  return entries.filter((e): e is ImageTagEntry => e !== undefined);
}

/**
 * The static NAMEs (their name documents' keys) and image repositories (`[ROOT/]v2/NAME/`) of the
 * target. Each level of folders is listed at once; the budget of MAX_FOLDERS is spent in the
 * order of the listing, level by level, so what a bucket over the budget leaves out does not
 * depend on timing.
 */
async function discover(io: Reads): Promise<{ statics: string[]; images: string[] }> {
  const root = rootOf(io.store);
  let budget = MAX_FOLDERS;
  const spend = (folders: readonly string[]): string[] => folders.filter(() => --budget >= 0);
  const top = await io.listFolder(root);
  // spent now, in this order (the top folders, then v2/), before either search goes
  const folders = spend(top.folders.filter((f) => f !== `${root}v2/` && f !== `${root}${ASSETS_DIR}/`));
  const v2 = top.folders.includes(`${root}v2/`) ? spend([`${root}v2/`]) : [];
  const names = async (): Promise<string[]> => {
    const found = await mapLimit(folders, READS, async (folder) => {
      const level = await io.listFolder(folder);
      const candidates = level.objects.filter((o) => level.folders.includes(`${o.key}/`) && o.size < MAX_MANIFEST_BYTES);
      return mapLimit(candidates, READS, async (o) => {
        const doc = parseJson((await io.get(o.key, MAX_MANIFEST_BYTES))?.bytes);
        return isTagList(doc) && doc.name === o.key.slice(folder.length) ? o.key : undefined;
      });
    });
    return found.flat().filter((k): k is string => k !== undefined);
  };
  const repositories = async (): Promise<string[]> => {
    const images: string[] = [];
    let level = v2;
    for (let depth = 0; depth <= MAX_REPOSITORY_DEPTH && level.length > 0; depth++) {
      const listed = await mapLimit(level, READS, (dir) => io.listFolder(dir));
      const next: string[] = [];
      level.forEach((dir, i) => {
        const subs = listed[i]?.folders ?? [];
        const repository = depth > 0 && subs.includes(`${dir}tags/`) && subs.includes(`${dir}manifests/`);
        if (repository) images.push(dir);
        next.push(...subs.filter((sub) => !(repository && [`${dir}tags/`, `${dir}manifests/`, `${dir}blobs/`].includes(sub))));
      });
      level = depth < MAX_REPOSITORY_DEPTH ? spend(next) : [];
    }
    return images;
  };
  const [statics, images] = await settleAll([names(), repositories()]);
  return { statics: statics.sort(), images: images.sort() };
}

function parseJson(bytes: Buffer | undefined): unknown {
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

function asManifest(json: unknown, size: number): { json: ManifestJson; size: number } | undefined {
  return typeof json === 'object' && json !== null && !Array.isArray(json) ? { json: json as ManifestJson, size } : undefined;
}

/** The well-formed descriptors of a list (anything else left out). */
function descriptors(list: unknown): { digest: Digest; size: number; platform?: unknown; artifactType?: unknown }[] {
  if (!Array.isArray(list)) return [];
  return list.filter(
    (d): d is { digest: Digest; size: number } =>
      typeof d === 'object' &&
      d !== null &&
      isDigest((d as { digest?: unknown }).digest) &&
      Number.isSafeInteger((d as { size?: unknown }).size),
  );
}

function platformOf(platform: unknown): string {
  const p = platform as { os?: unknown; architecture?: unknown; variant?: unknown } | undefined;
  const parts = [p?.os, p?.architecture, p?.variant].filter((x): x is string => typeof x === 'string' && x !== '');
  return parts.length === 0 ? 'unknown' : parts.join('/');
}
