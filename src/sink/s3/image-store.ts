/**
 * The tags of one image repository of a static registry (`[PREFIX/]v2/NAME/`) as a TagStore:
 * listing (push time = the tag object's Last-Modified: alba writes it only when its content
 * changes), reading the state a removal plans from (only the repository's own `blobs/<x>` and
 * `manifests/<x>`: a nested repository `NAME/sub` is never a candidate), carrying a plan out
 * (tags/list first, then tag objects and referrers tags, then cosign's tags of the subjects that
 * go and manifests parents first, then blobs, checking the removal lease before each phase), aborting the multipart uploads a killed
 * push left, and rebuilding `tags/list` from the tag objects (`alba container repair`).
 * Anything in the bucket that does not read as what alba wrote there is error[S3] naming the key.
 */
import { AlbaError } from '../../errors.js';
import { digestOf } from '../../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../../oci/graph.js';
import { readGraph, type GraphReader } from '../../oci/reachability.js';
import { parseManifestJson, type ManifestJson } from '../../oci/manifest-json.js';
import { acquireLease, type HeldLease, type LeaseRecord } from '../../lifecycle/lease.js';
import {
  bucketKeyKind,
  planBucketRemoval,
  type BucketRemovalPlan,
  type BucketRepoState,
  type RemovalRequest,
} from '../../lifecycle/removal-plan.js';
import { mapLimit } from '../../util/map-limit.js';
import type { TagFacts, TagStore } from '../sink.js';
import { readTagList, updateTagList } from './json-document.js';
import { carryOutRemoval, removalLease } from './removal-lease.js';
import { bucketImageReader } from './bucket-reader.js';
import { MUTABLE, type S3Store } from './s3-store.js';

/** Image NAME of a static registry whose keys start with `base` (`[PREFIX/]v2/NAME/`). */
export class BucketImageStore implements TagStore<BucketRemovalPlan> {
  readonly name: string;

  constructor(
    private readonly store: S3Store,
    private readonly base: string,
  ) {
    this.name = store.where(base);
  }

  /** The tags `tags/list` lists, each with push time, index digest and the bytes it reaches (shared blobs counted in each). */
  async list(): Promise<TagFacts[]> {
    const tags = (await readTagList(this.store, `${this.base}tags/list`)) ?? [];
    const manifests = new Map<string, Promise<ManifestJson | undefined>>();
    const manifest = (digest: string): Promise<ManifestJson | undefined> => {
      let pending = manifests.get(digest);
      if (pending === undefined) {
        pending = this.readJson(`${this.base}manifests/${digest}`);
        manifests.set(digest, pending);
      }
      return pending;
    };
    const facts = await mapLimit(tags, 8, async (tag): Promise<TagFacts | undefined> => {
      const key = `${this.base}manifests/${tag}`;
      const [info, object] = await Promise.all([this.store.head(key), this.store.get(key, MAX_MANIFEST_BYTES)]);
      if (info === undefined || object === undefined) return undefined;
      const root = this.parse(key, object.bytes);
      let size = object.bytes.length;
      const images =
        root.manifests === undefined ? [root] : await Promise.all(root.manifests.map(async (d) => ((size += d.size), manifest(d.digest))));
      for (const m of images) for (const d of [m?.config, ...(m?.layers ?? [])]) if (d !== undefined) size += d.size;
      return { tag, digest: digestOf(object.bytes), size, ...(info.lastModified === undefined ? {} : { pushed: info.lastModified }) };
    });
    return facts.filter((f): f is TagFacts => f !== undefined);
  }

  lease(log?: (line: string) => void): Promise<HeldLease> {
    return acquireLease(removalLease(this.store, this.base), log);
  }

  async leaseThere(): Promise<LeaseRecord | undefined> {
    return (await removalLease(this.store, this.base).read())?.record;
  }

  /** Reads the state and plans the removal (nothing is changed). */
  async plan(request: RemovalRequest & { graceMs: number }, now = Date.now()): Promise<BucketRemovalPlan> {
    return planBucketRemoval(await this.readState(), request, now);
  }

  /** The repository as a removal plans from it. */
  async readState(): Promise<BucketRepoState> {
    const objects = (await Promise.all([this.store.list(`${this.base}blobs/`), this.store.list(`${this.base}manifests/`)]))
      .flat()
      .filter((o) => bucketKeyKind(this.base, o.key) !== undefined);
    const listed = await readTagList(this.store, `${this.base}tags/list`);
    const tagKeys = objects.filter((o) => ['tag', 'attachment'].includes(bucketKeyKind(this.base, o.key)?.kind ?? '')).map((o) => o.key); // cosign's tags too: they stay with their subjects
    const digests = await mapLimit(tagKeys, 8, async (key) => {
      const got = await this.store.get(key, MAX_MANIFEST_BYTES);
      if (got === undefined) return undefined; // deleted since the listing: no root
      this.parse(key, got.bytes);
      return [key.slice(`${this.base}manifests/`.length), digestOf(got.bytes)] as const;
    });
    const tagDigests = new Map(digests.filter((d) => d !== undefined));
    const graph = await readGraph([...new Set(tagDigests.values())], this.reader());
    return { base: this.base, objects, listed, tagDigests, graph, uploads: await this.store.listUploads(this.base) };
  }

  /**
   * Carries out a plan under `lease`: tags/list first, then the pages (which no longer list the
   * removed tags), then each phase, the lease checked before each, then the pages again.
   */
  async remove(plan: BucketRemovalPlan, lease: HeldLease, options: { pages?: boolean } = {}): Promise<void> {
    const pages = options.pages === false ? undefined : await import('../../site/bucket-pages.js');
    const key = `${this.base}tags/list`;
    await carryOutRemoval(this.store, plan, lease, {
      unlist: async (tags) => {
        if ((await readTagList(this.store, key)) !== undefined) await updateTagList(this.store, key, this.repository(), { remove: tags });
      },
      ...(pages === undefined ? {} : { refreshPages: () => pages.refreshImagePages(this.store, this.base) }),
    });
  }

  /**
   * Rebuilds `tags/list` from the tag objects whose content is whole (every manifest and blob
   * they name is there): `alba container repair`. Returns the tags listed and those left out.
   */
  async repair(): Promise<{ tags: string[]; broken: string[] }> {
    const objects = await this.store.list(`${this.base}manifests/`);
    const tags = objects
      .map((o) => bucketKeyKind(this.base, o.key))
      .filter((k) => k?.kind === 'tag')
      .map((k) => k?.name ?? ''); // cosign's tags (kind 'attachment') are not image tags
    class Broken extends Error {}
    const content: GraphReader = {
      ...this.reader(),
      referrers: async () => ({ entries: [] }),
      invalid: (d, why) => new Broken(`${d}: ${why}`),
    };
    const whole = await mapLimit(tags, 4, async (tag) => {
      const got = await this.store.get(`${this.base}manifests/${tag}`, MAX_MANIFEST_BYTES);
      if (got === undefined) return false;
      try {
        const digest = digestOf(got.bytes);
        const graph = await readGraph([digest], content);
        const named = new Set([digest, ...[...graph.values()].flatMap((n) => n.children)]);
        if ([...named].some((d) => !graph.has(d))) return false;
        const blobs = new Map([...graph.values()].flatMap((n) => [...n.blobs]));
        return (await mapLimit([...blobs], 8, async ([d, size]) => (await this.store.head(`${this.base}blobs/${d}`))?.size === size)).every(
          Boolean,
        );
      } catch (err) {
        if (err instanceof Broken) return false;
        throw err;
      }
    });
    const kept = tags.filter((_, i) => whole[i] === true).sort();
    // written whole, over whatever is there: the damaged document is what this replaces
    await this.store.put(`${this.base}tags/list`, Buffer.from(`${JSON.stringify({ name: this.repository(), tags: kept })}\n`), {
      contentType: 'application/json',
      cacheControl: MUTABLE,
    });
    await (await import('../../site/bucket-pages.js')).refreshImagePages(this.store, this.base);
    return { tags: kept, broken: tags.filter((_, i) => whole[i] !== true).sort() };
  }

  /** NAME, from the base key. */
  private repository(): string {
    const at = this.base.lastIndexOf('v2/');
    return this.base.slice(at + 3, -1);
  }

  private reader(): GraphReader {
    return bucketImageReader(this.store, this.base, 'nothing was deleted; delete that object (or push the image again) and run again');
  }

  private async readJson(key: string): Promise<ManifestJson | undefined> {
    const got = await this.store.get(key, MAX_MANIFEST_BYTES);
    return got === undefined ? undefined : this.parse(key, got.bytes);
  }

  /** Parses a manifest or index object; error[S3] naming the key when it is not one. */
  private parse(key: string, bytes: Buffer): ManifestJson {
    return parseManifestJson(bytes, (why) => this.invalid(key, why.replace(/^it /, '')));
  }

  private invalid(key: string, why: string): AlbaError {
    return new AlbaError('S3', `${this.store.where(key)} ${why}`, {
      hint: 'nothing was deleted; delete that object (or push the image again) and run again',
    });
  }
}
