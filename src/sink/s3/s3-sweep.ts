/**
 * Removing tags from a bucket, safely: the index documents first (`tags/list`,
 * `df-dist-v1/NAME`), then the tag objects, then a sweep that deletes an object only when no
 * remaining tag reaches it — through the index, its platform manifests, their configs and layers,
 * and the referrers tag of every reachable manifest with the referrers it lists — and only when it
 * is older than the grace period, so a push running meanwhile keeps what it just uploaded. Every
 * step can be repeated: a killed run leaves a consistent bucket that a rerun finishes.
 */
import { createHash } from 'node:crypto';
import { MAX_MANIFEST_BYTES } from '../../oci/graph.js';
import type { Descriptor } from '../../oci/types.js';
import { mapLimit } from '../../util/map-limit.js';
import { updateTagList } from './json-document.js';
import { S3Store } from './s3-store.js';
import { compareTags } from './static-binaries.js';
import { keyOf, type S3Target } from './s3-target.js';

/** What a removal deletes. */
export interface RemovalPlan {
  tags: string[];
  /** Objects to delete (tag objects and unreachable content), with their sizes. */
  objects: { key: string; size: number }[];
  bytes: number;
}

interface ManifestJson {
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

const TAG_KEY = /\/manifests\/(?!sha256[:-])([^/]+)$/;

/** The plan of removing `tags` of image NAME (nothing is changed). */
export async function planImageRemoval(target: S3Target, name: string, tags: readonly string[], graceMs: number, now = Date.now()): Promise<RemovalPlan> {
  const store = new S3Store(target);
  await store.checkBucket();
  const base = keyOf(target, `v2/${name}/`);
  const objects = await store.list(base);
  const removed = new Set(tags);
  const tagKeys = objects.filter((o) => TAG_KEY.test(o.key));
  const roots = tagKeys.filter((o) => !removed.has(TAG_KEY.exec(o.key)?.[1] ?? ''));
  const reachable = await reachableKeys(store, base, roots.map((o) => o.key));
  const doomed = objects.filter((o) => {
    const tag = TAG_KEY.exec(o.key)?.[1];
    if (tag !== undefined) return removed.has(tag);
    if (o.key === `${base}tags/list`) return false;
    return !reachable.has(o.key) && now - o.lastModified.getTime() >= graceMs;
  });
  return { tags: [...tags], objects: doomed.map((o) => ({ key: o.key, size: o.size })), bytes: doomed.reduce((n, o) => n + o.size, 0) };
}

/** Carries out a plan of planImageRemoval: tags/list first, then the tag objects, then the rest. */
export async function removeImageTags(target: S3Target, name: string, plan: RemovalPlan): Promise<void> {
  const store = new S3Store(target);
  const base = keyOf(target, `v2/${name}/`);
  await updateTagList(store, `${base}tags/list`, name, { remove: plan.tags });
  const tagObjects = plan.objects.filter((o) => TAG_KEY.test(o.key));
  await mapLimit(tagObjects, 8, (o) => store.remove(o.key));
  // manifests before the blobs they name, so an interrupted sweep never leaves a manifest whose blobs are gone
  const rest = plan.objects.filter((o) => !TAG_KEY.test(o.key));
  await mapLimit(rest.filter((o) => o.key.includes('/manifests/')), 8, (o) => store.remove(o.key));
  await mapLimit(rest.filter((o) => !o.key.includes('/manifests/')), 8, (o) => store.remove(o.key));
}

/** Every key the tag objects `roots` reach. */
async function reachableKeys(store: S3Store, base: string, roots: readonly string[]): Promise<Set<string>> {
  const keys = new Set<string>(roots);
  const seen = new Set<string>();
  const visitManifest = async (bytes: Buffer): Promise<void> => {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (seen.has(digest)) return;
    seen.add(digest);
    keys.add(`${base}manifests/${digest}`);
    const json = JSON.parse(bytes.toString('utf8')) as ManifestJson;
    for (const d of [json.config, ...(json.layers ?? [])]) if (d !== undefined) keys.add(`${base}blobs/${d.digest}`);
    const children = json.manifests ?? [];
    // the referrers tag of this manifest, and what it lists
    const referrersKey = `${base}manifests/sha256-${digest.slice('sha256:'.length)}`;
    const referrers = await store.get(referrersKey, MAX_MANIFEST_BYTES);
    if (referrers !== undefined) {
      keys.add(referrersKey);
      keys.add(`${base}manifests/sha256:${createHash('sha256').update(referrers.bytes).digest('hex')}`);
      children.push(...((JSON.parse(referrers.bytes.toString('utf8')) as ManifestJson).manifests ?? []));
    }
    await mapLimit(children, 8, async (child) => {
      const got = await store.get(`${base}manifests/${child.digest}`, MAX_MANIFEST_BYTES);
      if (got !== undefined) await visitManifest(got.bytes);
    });
  };
  await mapLimit(roots, 8, async (key) => {
    const got = await store.get(key, MAX_MANIFEST_BYTES);
    if (got !== undefined) await visitManifest(got.bytes);
  });
  return keys;
}

/** The plan of removing static `tags` of NAME: each tag's document and files (static files are not shared between tags). */
export async function planStaticRemoval(target: S3Target, name: string, prefix: string, tags: readonly string[]): Promise<RemovalPlan> {
  const store = new S3Store(target);
  await store.checkBucket();
  const base = keyOf(target, `${prefix}/${name}`);
  const objects: { key: string; size: number }[] = [];
  for (const tag of tags) {
    const doc = await store.head(`${base}/${tag}`);
    if (doc !== undefined) objects.push({ key: `${base}/${tag}`, size: doc.size });
    for (const o of await store.list(`${base}/${tag}/`)) objects.push({ key: o.key, size: o.size });
  }
  return { tags: [...tags], objects, bytes: objects.reduce((n, o) => n + o.size, 0) };
}

/** Carries out a plan of planStaticRemoval: the name document first, then each tag document, then its files. */
export async function removeStaticTags(target: S3Target, name: string, prefix: string, plan: RemovalPlan): Promise<void> {
  const store = new S3Store(target);
  const base = keyOf(target, `${prefix}/${name}`);
  await updateTagList(store, base, name, { remove: plan.tags }, compareTags);
  const docs = new Set(plan.tags.map((t) => `${base}/${t}`));
  await mapLimit(plan.objects.filter((o) => docs.has(o.key)), 8, (o) => store.remove(o.key));
  await mapLimit(plan.objects.filter((o) => !docs.has(o.key)), 8, (o) => store.remove(o.key));
}
