/** What a bucket says of the tags of one image or one static NAME (for `ls`). */
import { createHash } from 'node:crypto';
import { MAX_MANIFEST_BYTES } from '../../oci/graph.js';
import type { Descriptor } from '../../oci/types.js';
import { mapLimit } from '../../util/map-limit.js';
import type { TagFacts } from '../sink.js';
import { readTagList } from './json-document.js';
import { S3Store } from './s3-store.js';
import { keyOf, type S3Target } from './s3-target.js';

interface ManifestJson {
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

/**
 * The tags of image NAME in a static registry: from `tags/list`, each with its push time (the tag
 * object's Last-Modified: alba writes it only when its content changes), the index digest and
 * the bytes it reaches (index, platform manifests, configs, layers; shared blobs counted in each).
 */
export async function listImageTags(target: S3Target, name: string): Promise<TagFacts[]> {
  const store = new S3Store(target);
  await store.checkBucket();
  const key = (path: string): string => keyOf(target, `v2/${name}/${path}`);
  const tags = await readTagList(store, key('tags/list'));
  const manifests = new Map<string, Promise<ManifestJson | undefined>>();
  const manifest = (digest: string): Promise<ManifestJson | undefined> => {
    let pending = manifests.get(digest);
    if (pending === undefined) {
      pending = store.get(key(`manifests/${digest}`), MAX_MANIFEST_BYTES).then((o) => (o === undefined ? undefined : (JSON.parse(o.bytes.toString('utf8')) as ManifestJson)));
      manifests.set(digest, pending);
    }
    return pending;
  };
  const facts = await mapLimit(tags, 8, async (tag): Promise<TagFacts | undefined> => {
    const [info, object] = await Promise.all([store.head(key(`manifests/${tag}`)), store.get(key(`manifests/${tag}`), MAX_MANIFEST_BYTES)]);
    if (info === undefined || object === undefined) return undefined;
    const root = JSON.parse(object.bytes.toString('utf8')) as ManifestJson;
    let size = object.bytes.length;
    const images = root.manifests === undefined ? [root] : await Promise.all(root.manifests.map(async (d) => ((size += d.size), manifest(d.digest))));
    for (const m of images) for (const d of [m?.config, ...(m?.layers ?? [])]) if (d !== undefined) size += d.size;
    return { tag, digest: `sha256:${createHash('sha256').update(object.bytes).digest('hex')}`, size, ...(info.lastModified === undefined ? {} : { pushed: info.lastModified }) };
  });
  return facts.filter((f): f is TagFacts => f !== undefined);
}

/** The tags of static NAME under `prefix`: from the name document, each with its push time, flavors and file bytes. */
export async function listStaticTags(target: S3Target, name: string, prefix: string): Promise<TagFacts[]> {
  const store = new S3Store(target);
  await store.checkBucket();
  const base = keyOf(target, `${prefix}/${name}`);
  const tags = await readTagList(store, base);
  const facts = await mapLimit(tags, 8, async (tag): Promise<TagFacts | undefined> => {
    const [info, object] = await Promise.all([store.head(`${base}/${tag}`), store.get(`${base}/${tag}`, MAX_MANIFEST_BYTES)]);
    if (info === undefined || object === undefined) return undefined;
    const flavors = (JSON.parse(object.bytes.toString('utf8')) as { flavors?: { resources?: { size?: number }[]; platform: { os: string; architecture: string; variant?: string } }[] }).flavors ?? [];
    return {
      tag,
      flavors: flavors.map((f) => [f.platform.os, f.platform.architecture, ...(f.platform.variant === undefined ? [] : [f.platform.variant])].join('/')),
      size: flavors.reduce((sum, f) => sum + (f.resources ?? []).reduce((s, r) => s + (r.size ?? 0), 0), 0),
      ...(info.lastModified === undefined ? {} : { pushed: info.lastModified }),
    };
  });
  return facts.filter((f): f is TagFacts => f !== undefined);
}
