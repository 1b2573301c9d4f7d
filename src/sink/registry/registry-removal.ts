/**
 * The tags of one registry repository as a TagStore (`alba container ls|rm|gc docker://…`).
 * A registry deletes manifests by digest, and a delete takes every tag on that digest with it
 * (distribution 2.8 refuses a delete by tag), so the plan (lifecycle/removal-plan.ts) removes a
 * tag whose digest a kept tag still reaches alone (a tag DELETE where the registry allows it,
 * else by moving it to a placeholder manifest and deleting that, as `regctl tag rm` does; `rm`
 * does that only when asked), and deletes every other removed root by digest with what it
 * reached and no kept tag reaches, parents first, then cosign's `.sig`/`.att` of the manifests that
 * went (a digest a kept tag reaches keeps its signatures). Blobs are the registry's to collect. The
 * removal lease (removal-lease.ts) announces the removal to pushes and holds its journal: what
 * it still has to delete, which a later removal finishes when this one is killed.
 */
import { AlbaError } from '../../errors.js';
import type { Digest } from '../../oci/digest.js';
import { memoryBlob } from '../../oci/graph.js';
import { artifactManifestBlob, EMPTY_DESCRIPTOR } from '../../oci/manifest.js';
import { reach, readGraph, type GraphReader } from '../../oci/reachability.js';
import { acquireLease, type HeldLease } from '../../lifecycle/lease.js';
import { planRegistryRemoval, type RegistryRemovalPlan, type RemovalRequest, type Untag } from '../../lifecycle/removal-plan.js';
import type { TagFacts, TagStore } from '../sink.js';
import type { RegistryClient } from './client.js';
import { registryReader } from './registry-reader.js';
import { registryLease } from './removal-lease.js';
import { attachmentTags, tagFacts } from './registry-tags.js';

/** How tags whose digest must stay are removed. */
export type UntagMode = 'placeholder' | 'tag-delete-only';

const PLACEHOLDER_TYPE = 'application/vnd.alba.untagged.v1+json';

/** One repository of a registry, through a client that may push and delete. */
export class RegistryRepoStore implements TagStore<RegistryRemovalPlan> {
  readonly name: string;

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

  /** Reads the tags and what they reach, and plans (nothing is changed). */
  async plan(request: RemovalRequest): Promise<RegistryRemovalPlan> {
    const tags = (await this.list()).map((f) => ({ tag: f.tag, digest: f.digest as Digest }));
    const attachments = await attachmentTags(this.client);
    const graph = await readGraph([...new Set([...tags, ...attachments].map((t) => t.digest))], this.reader());
    return planRegistryRemoval({ tags, attachments, graph }, request);
  }

  /**
   * Carries out a plan: the tags removed alone first (so a refusal changes nothing), then the
   * journal, then the deletes in order; a manifest a tag has come to reach since the plan (a push
   * meanwhile), and the signatures of one, are spared, and the lease is checked before each delete.
   */
  async remove(plan: RegistryRemovalPlan, lease: HeldLease): Promise<void> {
    for (const u of plan.untag) await this.untagOnly(u);
    const digests = plan.objects.map((o) => o.key);
    await lease.journal(plan.journal, digests);
    const leaving = new Set(plan.removing);
    const now = (await this.list()).filter((f) => !leaving.has(f.tag));
    const reached = await reach(
      now.map((f) => f.digest as Digest),
      this.reader(),
    );
    const signed = new Set<string>(plan.attachments.filter((a) => reached.manifests.has(a.subject)).map((a) => a.digest));
    for (const digest of digests) {
      if (reached.manifests.has(digest as Digest) || signed.has(digest)) continue;
      await lease.check();
      await this.client.deleteManifest(digest);
    }
  }

  private async untagOnly(u: Untag): Promise<void> {
    if ((await this.client.deleteManifest(u.tag)) !== 'refused') return;
    if (this.mode === 'tag-delete-only') {
      const kept = u.siblings.length > 0 ? `the tags ${u.siblings.join(', ')}` : 'kept tags (through their index)';
      throw new AlbaError(
        'TAG_SHARED',
        `${this.client.repository}:${u.tag} is ${u.digest}, which ${kept} also name; deleting it by digest would remove them too, and this registry does not delete a tag alone (400 to a DELETE by tag)`,
        {
          hint: 'pass --untag to move the tag to a placeholder manifest and delete that (as regctl tag rm does), or remove the other tags as well',
        },
      );
    }
    const placeholder = memoryBlob(
      artifactManifestBlob({
        artifactType: PLACEHOLDER_TYPE,
        layers: [EMPTY_DESCRIPTOR],
        annotations: { 'dev.alba.untagged': `${u.tag} ${new Date().toISOString()}` },
      }),
    );
    await this.client.ensureEmptyBlob();
    await this.client.putManifest(u.tag, placeholder);
    await this.client.deleteManifest(placeholder.descriptor.digest);
  }

  /** Reads the repository for the reachability walk. */
  private reader(): GraphReader {
    return registryReader(
      this.client,
      'nothing was deleted; the registry holds content alba cannot read: push that image again, or delete it with the registry’s own tools',
    );
  }
}
