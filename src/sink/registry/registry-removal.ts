/**
 * The tags of one registry repository as a TagStore (`alba container ls|rm|gc docker://…`).
 * A registry deletes manifests by digest, and a delete takes every tag on that digest with it
 * (distribution 2.8 refuses a delete by tag), so the plan (lifecycle/removal-plan.ts) removes a
 * tag whose digest a kept tag still reaches alone (a tag DELETE where the registry allows it,
 * else by moving it to a placeholder manifest and deleting that, as `regctl tag rm` does; `rm`
 * does that only when asked), and deletes every other removed root by digest with what it
 * reached and no kept tag reaches, parents first, then cosign's `.sig`/`.att` of the manifests that
 * went (a digest a kept tag reaches keeps its signatures). Blobs are the registry's to collect. The
 * removal lease (removal-lease.ts) announces the removal to pushes and holds its journal: the tags
 * going and what it still has to delete, which a later removal finishes when this one is killed.
 * A tag DELETE is not trusted to remove only the tag: zot ≤ 2.0 and Harbor 1.x answer 202 and
 * delete the manifest, with every other tag on it. So the manifest is read before, looked for
 * after, and put back (by digest and under its kept tags) when it went; the rest of the run then
 * removes tags through the placeholder (`rm` without --untag stops with TAG_SHARED instead).
 */
import { AlbaError } from '../../errors.js';
import type { Digest } from '../../oci/digest.js';
import { memoryBlob } from '../../oci/graph.js';
import { reach, readGraph, type GraphReader } from '../../oci/reachability.js';
import { acquireLease, type HeldLease, type LeaseRecord } from '../../lifecycle/lease.js';
import {
  planRegistryRemoval,
  registryDeletes,
  type RegistryRemovalPlan,
  type RemovalRequest,
  type Untag,
} from '../../lifecycle/removal-plan.js';
import { untagPlaceholder } from '../../lifecycle/untag-placeholder.js';
import type { TagFacts, TagStore } from '../sink.js';
import type { FetchedManifest, RegistryClient } from './client.js';
import { registryReader } from './registry-reader.js';
import { registryLease } from './removal-lease.js';
import { attachmentTags, tagFacts } from './registry-tags.js';

/** How tags whose digest must stay are removed. */
export type UntagMode = 'placeholder' | 'tag-delete-only';

/** One repository of a registry, through a client that may push and delete. */
export class RegistryRepoStore implements TagStore<RegistryRemovalPlan> {
  readonly name: string;
  /** Set once a DELETE by tag took the manifest away: the run's other tags go through the placeholder. */
  private tagDeleteTakesManifest = false;

  constructor(
    private readonly client: RegistryClient,
    /** How `remove` takes away a tag whose digest stays (`rm` refuses unless --untag; `gc` uses a placeholder). */
    private readonly mode: UntagMode = 'placeholder',
  ) {
    this.name = client.repository;
  }

  list(): Promise<TagFacts[]> {
    return tagFacts(this.client);
  }

  lease(log?: (line: string) => void): Promise<HeldLease> {
    return acquireLease(registryLease(this.client), log);
  }

  async leaseThere(): Promise<LeaseRecord | undefined> {
    return (await registryLease(this.client).read())?.record;
  }

  /** Reads the tags and what they reach, and plans (nothing is changed). */
  async plan(request: RemovalRequest): Promise<RegistryRemovalPlan> {
    const tags = (await this.list()).map((f) => ({ tag: f.tag, digest: f.digest as Digest }));
    const attachments = await attachmentTags(this.client);
    const graph = await readGraph([...new Set([...tags, ...attachments].map((t) => t.digest))], this.reader());
    return planRegistryRemoval({ tags, attachments, graph }, request);
  }

  /**
   * Carries out a plan: the journal first (a run killed while a tag names its placeholder leaves
   * the tag to the next removal), then the tags removed alone (before any delete, so a refusal
   * changes nothing: the lease goes with its journal), then the deletes in order; a manifest a tag
   * has come to reach since the plan (a push meanwhile), its referrers tag index and signatures
   * are spared (registryDeletes), and the lease is checked before each delete. `log`: warnings.
   */
  async remove(plan: RegistryRemovalPlan, lease: HeldLease, options: { log?: (line: string) => void } = {}): Promise<void> {
    await lease.journal(
      plan.journal,
      plan.objects.map((o) => o.key),
    );
    for (const u of plan.untag) await this.untagOnly(u, options.log ?? (() => undefined));
    const leaving = new Set(plan.removing);
    const now = (await this.list()).filter((f) => !leaving.has(f.tag));
    const reached = await reach(
      now.map((f) => f.digest as Digest),
      this.reader(),
    );
    for (const digest of registryDeletes(plan, reached)) {
      await lease.check();
      await this.client.deleteManifest(digest);
    }
  }

  /** Removes a tag whose digest stays: a DELETE by tag, checked (see the file comment), else through the placeholder. */
  private async untagOnly(u: Untag, log: (line: string) => void): Promise<void> {
    if (!this.tagDeleteTakesManifest) {
      const stays = await this.client.manifest(u.digest);
      const answer = await this.client.deleteManifest(u.tag);
      if (answer === 'deleted' && !(await this.client.hasManifest(u.digest))) return this.putBack(u, stays, log);
      if (answer !== 'refused') return;
      if (this.mode === 'tag-delete-only') {
        throw new AlbaError(
          'TAG_SHARED',
          `${this.client.repository}:${u.tag} is ${u.digest}, which ${this.keptBy(u)} also name; deleting it by digest would remove them too, and this registry does not delete a tag alone (400 to a DELETE by tag)`,
          {
            hint: 'pass --untag to move the tag to a placeholder manifest and delete that (as regctl tag rm does), or remove the other tags as well',
          },
        );
      }
    }
    const placeholder = memoryBlob(untagPlaceholder(u.tag, u.digest));
    await this.client.ensureEmptyBlob();
    await this.client.putManifest(u.tag, placeholder);
    await this.client.deleteManifest(placeholder.descriptor.digest);
  }

  /**
   * The registry deleted `u.digest` on the DELETE of its tag: puts the manifest back by digest and
   * under the kept tags on it (an index reached only through a kept index needs no tag); `rm`
   * without --untag puts the tag back too and stops, changing nothing.
   */
  private async putBack(u: Untag, stays: FetchedManifest, log: (line: string) => void): Promise<void> {
    const blob = memoryBlob({
      bytes: stays.bytes,
      descriptor: { mediaType: stays.mediaType, digest: stays.digest, size: stays.bytes.length },
    });
    const refuse = this.mode === 'tag-delete-only';
    for (const reference of [u.digest, ...u.siblings, ...(refuse ? [u.tag] : [])]) await this.client.putManifest(reference, blob);
    this.tagDeleteTakesManifest = true;
    const what = `${this.client.repository}: the registry deleted ${u.digest} itself on the DELETE of the tag ${u.tag}${u.siblings.length > 0 ? `, and the tags ${u.siblings.join(', ')} with it` : ', which a kept index names'}; alba put it back`;
    if (refuse) {
      throw new AlbaError(
        'TAG_SHARED',
        `${what}, ${u.tag} too: this registry deletes the manifest on a DELETE by tag, so rm does not remove a tag alone there`,
        {
          hint: 'pass --untag to move the tag to a placeholder manifest and delete that (as regctl tag rm does), or remove the other tags as well',
        },
      );
    }
    log(
      `warning: ${what}. This registry deletes the manifest on a DELETE by tag: the other tags of this run are removed through a placeholder`,
    );
  }

  /** Who keeps `u.digest`, for messages. */
  private keptBy(u: Untag): string {
    return u.siblings.length > 0 ? `the tags ${u.siblings.join(', ')}` : 'kept tags (through their index)';
  }

  /** Reads the repository for the reachability walk. */
  private reader(): GraphReader {
    return registryReader(
      this.client,
      'nothing was deleted; the registry holds content alba cannot read: push that image again, or delete it with the registry’s own tools',
    );
  }
}
