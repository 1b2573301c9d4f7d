/**
 * Removing tags from a bucket, safely: the index documents first (`tags/list`,
 * `df-dist-v1/NAME`), then the tag objects, then a sweep that deletes an object only when no
 * remaining tag reaches it — through the index, its platform manifests, their configs and layers,
 * and the referrers tag of every reachable manifest with the referrers it lists — and only when it
 * is older than the grace period, so a push running meanwhile keeps what it just uploaded. Every
 * step can be repeated: a killed run leaves a consistent bucket that a rerun finishes.
 */
import { digestOf, type Digest } from '../../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../../oci/graph.js';
import { reach, type GraphReader } from '../../oci/reachability.js';
import { referrersTag } from '../../oci/referrers.js';
import type { Descriptor } from '../../oci/types.js';
import { mapLimit } from '../../util/map-limit.js';
import type { RemovalPlan } from '../sink.js';
import { LOCK_SUFFIX, readTagList, updateTagList } from './json-document.js';
import { S3Store } from './s3-store.js';
import { compareTags } from './static-binaries.js';
import { keyOf, type S3Target } from './s3-target.js';

const TAG_KEY = /\/manifests\/(?!sha256[:-])([^/]+)$/;

/** The plan of removing `tags` of image NAME (nothing is changed). */
export async function planImageRemoval(target: S3Target, name: string, tags: readonly string[], graceMs: number, now = Date.now()): Promise<RemovalPlan> {
  const store = new S3Store(target);
  await store.checkBucket();
  const base = keyOf(target, `v2/${name}/`);
  const objects = await store.list(base);
  const removed = new Set(tags);
  const listed = new Set(await readTagList(store, `${base}tags/list`));
  const young = (o: { lastModified: Date }): boolean => now - o.lastModified.getTime() < graceMs;
  // a tag object stays a root while tags/list lists it, or while it is young (a push writes it before tags/list);
  // an old one tags/list lost (a removal killed before it deleted the tag objects) goes
  const isRoot = (o: { key: string; lastModified: Date }): boolean => {
    const tag = TAG_KEY.exec(o.key)?.[1] ?? '';
    return !removed.has(tag) && (listed.has(tag) || young(o));
  };
  const roots = objects.filter((o) => TAG_KEY.test(o.key) && isRoot(o));
  const reachable = await reachableKeys(store, base, roots.map((o) => o.key));
  const doomed = objects.filter((o) => {
    if (TAG_KEY.test(o.key)) return !isRoot(o);
    if (o.key === `${base}tags/list` || o.key.endsWith(LOCK_SUFFIX)) return false;
    return !reachable.has(o.key) && !young(o);
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

/** Every key the tag objects `roots` reach: themselves, then what their manifests reach (see oci/reachability.ts). */
async function reachableKeys(store: S3Store, base: string, roots: readonly string[]): Promise<Set<string>> {
  const manifest = async (reference: string): Promise<Buffer | undefined> => (await store.get(`${base}manifests/${reference}`, MAX_MANIFEST_BYTES))?.bytes;
  const reader: GraphReader = {
    manifest,
    async referrers(subject) {
      const bytes = await manifest(referrersTag(subject));
      if (bytes === undefined) return { entries: [] };
      const entries = (JSON.parse(bytes.toString('utf8')) as { manifests?: Descriptor[] }).manifests ?? [];
      return { entries, tagIndex: { digest: digestOf(bytes), size: bytes.length } };
    },
  };
  const rootDigests = await mapLimit(roots, 8, async (key) => {
    const got = await store.get(key, MAX_MANIFEST_BYTES);
    return got === undefined ? undefined : digestOf(got.bytes);
  });
  const reached = await reach(rootDigests.filter((d): d is Digest => d !== undefined), reader);
  const keys = new Set<string>(roots);
  for (const d of reached.manifests.keys()) keys.add(`${base}manifests/${d}`);
  for (const d of reached.blobs.keys()) keys.add(`${base}blobs/${d}`);
  for (const [subject, index] of reached.referrersTags) {
    keys.add(`${base}manifests/${referrersTag(subject)}`);
    keys.add(`${base}manifests/${index.digest}`);
  }
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
