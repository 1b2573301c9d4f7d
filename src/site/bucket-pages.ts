/**
 * The pages of a bucket, read from the documents alba keeps there and written next to them (the
 * IO edge of src/site/; rendering is render.ts). Each page is derived state: it is rendered from
 * the documents as read after the caller's own write, written, then rendered again from a fresh
 * read and compared with what the page object holds, until they agree (at most 5 rounds). So of
 * two pushes racing on one page, the last writer's check sees both tags and rewrites the page
 * if the other push's older rendering landed last. A tag is shown only when its objects were
 * all there when the page was rendered (static: the tag document and every file it names with
 * its size; images: the tag object and every manifest it names).
 */
import { createHash } from 'node:crypto';
import { isDigest, digestOf, type Digest } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../oci/graph.js';
import { MediaType } from '../oci/media-types.js';
import { referrersTag } from '../oci/referrers.js';
import { tagClass, TAG_CLASSES, type TagClass } from '../lifecycle/tag-class.js';
import { mapLimit } from '../util/map-limit.js';
import { isTagList, readTagList } from '../sink/s3/json-document.js';
import { MUTABLE, S3Store } from '../sink/s3/s3-store.js';
import { parseS3Target } from '../sink/s3/s3-target.js';
import { compareTags, isTagDocument } from '../sink/s3/static-store.js';
import { ASSETS } from './assets.js';
import {
  ASSETS_DIR,
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
/** How deep `v2/` is searched for repositories (path components of a NAME). */
const MAX_REPOSITORY_DEPTH = 8;
/** Folders listed at most while looking for names and repositories. */
const MAX_FOLDERS = 10_000;
const DEFAULT_STATIC_PREFIX = 'df-dist-v1';
const SBOM_TYPES: Record<string, SbomLink['format']> = { [MediaType.spdx]: 'SPDX', 'application/vnd.cyclonedx+json': 'CycloneDX' };

/** Refreshes the page of the static NAME whose name document is `base` (`[ROOT/]PREFIX/NAME`), then the root page. */
export async function refreshStaticPages(store: S3Store, base: string): Promise<void> {
  await writeStaticPage(store, base);
  await refreshRootPage(store);
}

/** Refreshes the page of the image repository whose keys start with `base` (`[ROOT/]v2/NAME/`), then the root page. */
export async function refreshImagePages(store: S3Store, base: string): Promise<void> {
  await writeImagePage(store, base);
  await refreshRootPage(store);
}

/** `alba pages s3://…` as a library call: opens the bucket of an s3:// target and rebuilds every page of it. */
export async function writeBucketPages(target: string): Promise<{ where: string; pages: string[] }> {
  const store = new S3Store(parseS3Target(target));
  await store.checkBucket();
  return { where: store.where(''), ...(await rebuildPages(store)) };
}

/** Rebuilds every page of the target (`alba pages`): each static NAME and image repository found, the root page and `_alba/`. */
export async function rebuildPages(store: S3Store): Promise<{ pages: string[] }> {
  const found = await discover(store);
  const pages: string[] = [];
  for (const base of found.statics) pages.push(await writeStaticPage(store, base));
  for (const base of found.images) pages.push(await writeImagePage(store, base));
  pages.push(await refreshRootPage(store, found));
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

async function writeStaticPage(store: S3Store, base: string): Promise<string> {
  const key = `${base}/${PAGE}`;
  const name = base.slice(base.lastIndexOf('/') + 1);
  await settle(store, key, async () => renderStaticPage({ name, root: upTo(store, `${base}/`), tags: await readStaticTags(store, base) }));
  return key;
}

async function writeImagePage(store: S3Store, base: string): Promise<string> {
  const key = `${base}${PAGE}`;
  const name = base.slice(`${rootOf(store)}v2/`.length, -1);
  await settle(store, key, async () => renderImagePage({ name, root: upTo(store, base), tags: await readImageTags(store, base) }));
  return key;
}

/** The root page (and the `_alba/` files, when they differ from this alba's). */
export async function refreshRootPage(store: S3Store, known?: { statics: string[]; images: string[] }): Promise<string> {
  const root = rootOf(store);
  await mapLimit(ASSETS, 3, (a) => putIfChanged(store, `${root}${ASSETS_DIR}/${a.name}`, a.body, a.contentType));
  const key = `${root}${PAGE}`;
  const title = `${store.target.bucket}${store.target.prefix === '' ? '' : `/${store.target.prefix}`}`;
  await settle(store, key, async () => {
    const found = known ?? (await discover(store));
    const [downloads, images] = await Promise.all([
      mapLimit(found.statics, 8, async (base) =>
        rootEntry(
          store,
          base.slice(root.length),
          `${base.slice(root.length)}/`,
          (await readTagList(store, base).catch(() => undefined)) ?? [],
          (tag) => `${base}/${tag}`,
        ),
      ),
      mapLimit(found.images, 8, async (base) =>
        rootEntry(
          store,
          base.slice(`${root}v2/`.length, -1),
          base.slice(root.length),
          (await readTagList(store, `${base}tags/list`).catch(() => undefined)) ?? [],
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
  return key;
}

async function rootEntry(store: S3Store, name: string, href: string, tags: string[], tagKey: (tag: string) => string): Promise<RootEntry> {
  const counts = Object.fromEntries(TAG_CLASSES.map((c) => [c, 0])) as Record<TagClass, number>;
  for (const t of tags) counts[tagClass(t)]++;
  const latest = tags
    .filter((t) => tagClass(t) === 'release')
    .sort(compareTags)
    .at(-1);
  const pushed = latest === undefined ? undefined : (await store.head(tagKey(latest)))?.lastModified;
  return { name, href, counts, ...(latest === undefined ? {} : { latest: { tag: latest, ...(pushed === undefined ? {} : { pushed }) } }) };
}

/**
 * Writes `render()` at `key` until a fresh rendering equals what the object holds (see the file
 * comment): the page a reader gets was rendered from documents read after every write that
 * preceded the last check.
 */
async function settle(store: S3Store, key: string, render: () => Promise<string>): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    if (!(await putIfChanged(store, key, await render(), HTML))) return;
  }
}

/** Writes `body` at `key` unless the object already holds it (its ETag is the MD5 of a single-part PUT); true when written. */
async function putIfChanged(store: S3Store, key: string, body: string, contentType: string): Promise<boolean> {
  const bytes = Buffer.from(body, 'utf8');
  const present = await store.head(key);
  if (present?.etag === `"${createHash('md5').update(bytes).digest('hex')}"` && present.contentType === contentType) return false;
  await store.put(key, bytes, { contentType, cacheControl: MUTABLE });
  return true;
}

/** The tags of a static NAME whose document and files are all there. */
async function readStaticTags(store: S3Store, base: string): Promise<StaticTagEntry[]> {
  const [tags, objects] = await Promise.all([readTagList(store, base), store.list(`${base}/`)]);
  const sizes = new Map(objects.map((o) => [o.key, o]));
  const entries = await mapLimit(tags ?? [], 8, async (tag): Promise<StaticTagEntry | undefined> => {
    const info = sizes.get(`${base}/${tag}`);
    const doc = info === undefined ? undefined : parseJson((await store.get(`${base}/${tag}`, MAX_MANIFEST_BYTES))?.bytes);
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
async function readImageTags(store: S3Store, base: string): Promise<ImageTagEntry[]> {
  const [tags, objects] = await Promise.all([readTagList(store, `${base}tags/list`), store.list(`${base}manifests/`)]);
  const present = new Map(objects.map((o) => [o.key, o]));
  const cache = new Map<string, Promise<{ json: ManifestJson; size: number } | undefined>>();
  const manifest = (digest: string): Promise<{ json: ManifestJson; size: number } | undefined> => {
    let pending = cache.get(digest);
    if (pending === undefined) {
      const key = `${base}manifests/${digest}`;
      pending = present.has(key)
        ? store
            .get(key, MAX_MANIFEST_BYTES)
            .then((got) =>
              got === undefined || digestOf(got.bytes) !== digest ? undefined : asManifest(parseJson(got.bytes), got.bytes.length),
            )
        : Promise.resolve(undefined);
      cache.set(digest, pending);
    }
    return pending;
  };
  const sboms = async (subject: Digest): Promise<SbomLink[]> => {
    const tagIndex = present.has(`${base}manifests/${referrersTag(subject)}`)
      ? asManifest(parseJson((await store.get(`${base}manifests/${referrersTag(subject)}`, MAX_MANIFEST_BYTES))?.bytes), 0)
      : undefined;
    const links = await mapLimit(descriptors(tagIndex?.json.manifests), 4, async (d): Promise<SbomLink | undefined> => {
      const format = SBOM_TYPES[typeof d.artifactType === 'string' ? d.artifactType : ''];
      const layer = format === undefined ? undefined : descriptors((await manifest(d.digest))?.json.layers)[0];
      return layer === undefined || format === undefined ? undefined : { format, digest: layer.digest };
    });
    return links.filter((l): l is SbomLink => l !== undefined);
  };
  const imageSize = (m: { json: ManifestJson; size: number }): number =>
    m.size + [...descriptors([m.json.config]), ...descriptors(m.json.layers)].reduce((sum, d) => sum + d.size, 0);
  const entries = await mapLimit(tags ?? [], 4, async (tag): Promise<ImageTagEntry | undefined> => {
    const key = `${base}manifests/${tag}`;
    const info = present.get(key);
    const got = info === undefined ? undefined : await store.get(key, MAX_MANIFEST_BYTES);
    const root = got === undefined ? undefined : asManifest(parseJson(got.bytes), got.bytes.length);
    if (info === undefined || got === undefined || root === undefined) return undefined;
    const digest = digestOf(got.bytes);
    const children = Array.isArray(root.json.manifests) ? descriptors(root.json.manifests) : [];
    const platforms = await mapLimit(children, 4, async (d): Promise<ImagePlatform | undefined> => {
      const child = await manifest(d.digest);
      return child === undefined
        ? undefined
        : { platform: platformOf(d.platform), digest: d.digest, size: imageSize(child), sboms: await sboms(d.digest as Digest) };
    });
    if (platforms.some((p) => p === undefined)) return undefined; // a manifest it names is gone
    const whole = platforms.filter((p): p is ImagePlatform => p !== undefined);
    const size = Array.isArray(root.json.manifests) ? root.size + whole.reduce((sum, p) => sum + p.size, 0) : imageSize(root);
    return { tag, pushed: info.lastModified, digest, size, platforms: whole, sboms: await sboms(digest) };
  });
  return entries.filter((e): e is ImageTagEntry => e !== undefined);
}

/** The static NAMEs (their name documents' keys) and image repositories (`[ROOT/]v2/NAME/`) of the target. */
async function discover(store: S3Store): Promise<{ statics: string[]; images: string[] }> {
  const root = rootOf(store);
  let budget = MAX_FOLDERS;
  const top = await store.listFolder(root);
  const statics: string[] = [];
  for (const folder of top.folders) {
    if (folder === `${root}v2/` || folder === `${root}${ASSETS_DIR}/` || --budget < 0) continue;
    const level = await store.listFolder(folder);
    const candidates = level.objects.filter((o) => level.folders.includes(`${o.key}/`) && o.size < MAX_MANIFEST_BYTES);
    const named = await mapLimit(candidates, 8, async (o) => {
      const doc = parseJson((await store.get(o.key, MAX_MANIFEST_BYTES))?.bytes);
      return isTagList(doc) && doc.name === o.key.slice(folder.length) ? o.key : undefined;
    });
    statics.push(...named.filter((k): k is string => k !== undefined));
  }
  const images: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_REPOSITORY_DEPTH || --budget < 0) return;
    const { folders } = await store.listFolder(dir);
    const repository = depth > 0 && folders.includes(`${dir}tags/`) && folders.includes(`${dir}manifests/`);
    if (repository) images.push(dir);
    for (const sub of folders) {
      if (repository && [`${dir}tags/`, `${dir}manifests/`, `${dir}blobs/`].includes(sub)) continue;
      await walk(sub, depth + 1);
    }
  };
  if (top.folders.includes(`${root}v2/`)) await walk(`${root}v2/`, 0);
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
