/**
 * The tags of one static NAME (`PREFIX/NAME`) as a TagStore: listing (push time = the tag
 * document's Last-Modified), reading the state a removal plans from, carrying a plan out (the
 * name document first, then the tag documents, then their files, the removal lease checked
 * before each phase) and rebuilding the name document from the tag documents (`alba static repair`).
 * Static NAMEs are one path segment and tags cannot start with `.`, so `PREFIX/NAME/TAG` is a tag
 * document, `PREFIX/NAME/TAG/…` its files, and nothing else of the bucket is ever a candidate.
 */
import { AlbaError } from '../../errors.js';
import { digestOf } from '../../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../../oci/graph.js';
import { platformString } from '../../oci/manifest-json.js';
import { acquireLease, type HeldLease, type LeaseRecord } from '../../lifecycle/lease.js';
import {
  planStaticRemoval,
  type BucketObject,
  type BucketRemovalPlan,
  type RemovalRequest,
  type StaticNameState,
} from '../../lifecycle/removal-plan.js';
import { mapLimit } from '../../util/map-limit.js';
import type { TagFacts, TagStore } from '../sink.js';
import { LOCK_SUFFIX, readTagList, updateTagList } from './json-document.js';
import { carryOutRemoval, removalLease } from './removal-lease.js';
import { MUTABLE, type S3Store } from './s3-store.js';

/** A tag document: `{"flavors":[{"resources":[{"path","size","sha256"}],"platform":{…}}]}`. */
export interface TagDocument {
  flavors: {
    resources: { path: string; size: number; sha256: string }[];
    platform: { os: string; architecture: string; variant?: string };
  }[];
}

/** True when `doc` is a tag document. */
export function isTagDocument(doc: unknown): doc is TagDocument {
  const flavors = (doc as Partial<TagDocument> | null)?.flavors;
  return (
    Array.isArray(flavors) &&
    flavors.every(
      (f) =>
        typeof f?.platform?.os === 'string' &&
        typeof f.platform.architecture === 'string' &&
        Array.isArray(f.resources) &&
        f.resources.every((r) => typeof r?.path === 'string' && typeof r.size === 'number' && typeof r.sha256 === 'string'),
    )
  );
}

/** Orders tags as people read versions (0.9 before 0.10). */
export function compareTags(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Static NAME under `PREFIX/` of a bucket; `base` is `PREFIX/NAME`. */
export class StaticNameStore implements TagStore<BucketRemovalPlan> {
  readonly name: string;

  constructor(
    private readonly store: S3Store,
    private readonly base: string,
  ) {
    this.name = store.where(base);
  }

  /** The tags the name document lists, each with push time, flavors and file bytes. */
  async list(): Promise<TagFacts[]> {
    const tags = (await readTagList(this.store, this.base)) ?? [];
    const facts = await mapLimit(tags, 8, async (tag): Promise<TagFacts | undefined> => {
      const [info, doc] = await Promise.all([this.store.head(`${this.base}/${tag}`), this.tagDocument(tag)]);
      if (info === undefined || doc === undefined) return undefined;
      return {
        tag,
        flavors: doc.flavors.map((f) => platformString(f.platform)),
        size: doc.flavors.reduce((sum, f) => sum + f.resources.reduce((s, r) => s + r.size, 0), 0),
        ...(info.lastModified === undefined ? {} : { pushed: info.lastModified }),
      };
    });
    return facts.filter((f): f is TagFacts => f !== undefined);
  }

  lease(log?: (line: string) => void): Promise<HeldLease> {
    return acquireLease(removalLease(this.store, `${this.base}/`), log);
  }

  async leaseThere(): Promise<LeaseRecord | undefined> {
    return (await removalLease(this.store, `${this.base}/`).read())?.record;
  }

  async plan(request: RemovalRequest & { graceMs: number }, now = Date.now()): Promise<BucketRemovalPlan> {
    const named = [...request.tags, ...(request.unfinished ?? []).map((entry) => entry.split('@')[0] ?? entry)];
    return planStaticRemoval(await this.readState(named), request, now);
  }

  /** The name as a removal plans from it: the name document's tags, each tag's document and files, the digests of the documents of `digestsOf`. */
  async readState(digestsOf: readonly string[] = []): Promise<StaticNameState> {
    const [listed, tags, uploads] = await Promise.all([
      readTagList(this.store, this.base),
      this.tagObjects(),
      this.store.listUploads(`${this.base}/`),
    ]);
    await mapLimit([...new Set(digestsOf)], 8, async (tag) => {
      const entry = tags.get(tag);
      const got = entry?.document === undefined ? undefined : await this.store.get(`${this.base}/${tag}`, MAX_MANIFEST_BYTES);
      if (entry !== undefined && got !== undefined) entry.digest = digestOf(got.bytes);
    });
    return { base: this.base, listed, tags, uploads };
  }

  /** Each tag's document and files, as listed (the lease, locks and anything starting with `.` left out). */
  private async tagObjects(): Promise<Map<string, { document?: BucketObject; digest?: string; files: BucketObject[] }>> {
    const tags = new Map<string, { document?: BucketObject; digest?: string; files: BucketObject[] }>();
    for (const o of await this.store.list(`${this.base}/`)) {
      const [tag, ...rest] = o.key.slice(this.base.length + 1).split('/');
      if (
        tag === undefined ||
        tag === '' ||
        tag.startsWith('.') ||
        tag.endsWith(LOCK_SUFFIX) ||
        (tag === 'index.html' && rest.length === 0)
      )
        continue; // index.html: the download page
      const entry = tags.get(tag) ?? { files: [] };
      if (rest.length === 0) entry.document = o;
      else entry.files.push(o);
      tags.set(tag, entry);
    }
    return tags;
  }

  /** Carries out a plan: the name document first, then the pages (without the removed tags), then each phase, the lease checked before each, then the pages again. */
  async remove(plan: BucketRemovalPlan, lease: HeldLease, options: { pages?: boolean } = {}): Promise<void> {
    const pages = options.pages === false ? undefined : await import('../../site/bucket-pages.js');
    const name = this.base.slice(this.base.lastIndexOf('/') + 1);
    await carryOutRemoval(this.store, plan, lease, {
      unlist: async (tags) => {
        if ((await readTagList(this.store, this.base)) !== undefined)
          await updateTagList(this.store, this.base, name, { remove: tags }, compareTags);
      },
      ...(pages === undefined ? {} : { refreshPages: () => pages.refreshStaticPages(this.store, this.base) }),
    });
  }

  /** Rebuilds the name document from the tag documents whose files are all there with their size and SHA256 (`alba static repair`). */
  async repair(): Promise<{ tags: string[]; broken: string[] }> {
    const candidates = [...(await this.tagObjects())].filter(([, t]) => t.document !== undefined).map(([tag]) => tag);
    const whole = await mapLimit(candidates, 4, async (tag) => {
      const doc = await this.tagDocument(tag).catch((err: unknown) => (err instanceof AlbaError ? undefined : Promise.reject(err)));
      if (doc === undefined) return false;
      const files = doc.flavors.flatMap((f) =>
        f.resources.map((r) => ({ r, key: `${this.base}/${tag}/${platformString(f.platform)}/${r.path}` })),
      );
      return (
        await mapLimit(files, 8, async ({ r, key }) => {
          const info = await this.store.head(key);
          return info?.size === r.size && info.metadata?.sha256 === r.sha256;
        })
      ).every(Boolean);
    });
    const kept = candidates.filter((_, i) => whole[i] === true).sort(compareTags);
    const name = this.base.slice(this.base.lastIndexOf('/') + 1);
    await this.store.put(this.base, Buffer.from(`${JSON.stringify({ name, tags: kept })}\n`), {
      contentType: 'application/json',
      cacheControl: MUTABLE,
    });
    await (await import('../../site/bucket-pages.js')).refreshStaticPages(this.store, this.base);
    return { tags: kept, broken: candidates.filter((_, i) => whole[i] !== true).sort(compareTags) };
  }

  /** The tag document of `tag`; undefined when there is none; error[S3] naming the key when it is not one. */
  async tagDocument(tag: string): Promise<TagDocument | undefined> {
    const key = `${this.base}/${tag}`;
    const got = await this.store.get(key, MAX_MANIFEST_BYTES);
    if (got === undefined) return undefined;
    let doc: unknown;
    try {
      doc = JSON.parse(got.bytes.toString('utf8'));
    } catch {
      doc = undefined;
    }
    if (!isTagDocument(doc))
      throw new AlbaError('S3', `${this.store.where(key)} is not a static tag document`, {
        hint: 'nothing was changed; push that tag again (with --force), or delete that object and run: alba static repair -t NAME TARGET',
      });
    return doc;
  }
}
