/**
 * Removing tags from a registry, safely. A registry deletes manifests by digest, and a delete
 * takes every tag on that digest with it (distribution 2.8 refuses a delete by tag), so: a tag
 * whose digest a kept tag still reaches is removed alone (a tag DELETE where the registry allows
 * it, else by moving it to a placeholder manifest and deleting that, as `regctl tag rm` does; `rm`
 * does that only when asked); every other removed root goes by digest, then what it reached and
 * no kept tag reaches: its referrers tag, its referrers (SBOMs, push records), its platform
 * manifests, parents first, so no kept tag ever names a missing manifest. Blobs are the
 * registry's to collect. A journal lets a rerun finish a killed removal.
 */
import { AlbaError } from '../../errors.js';
import type { Digest } from '../../oci/digest.js';
import { memoryBlob } from '../../oci/graph.js';
import { artifactManifestBlob, EMPTY_DESCRIPTOR } from '../../oci/manifest.js';
import { reach, unreachedBy, type GraphReader } from '../../oci/reachability.js';
import type { RemovalPlan, TagFacts } from '../sink.js';
import type { RegistryClient } from './client.js';
import type { RemovalJournal } from './removal-journal.js';
import { tagFacts } from './registry-tags.js';

/** A tag removed alone: its digest stays, reached by kept tags. */
export interface Untag {
  tag: string;
  digest: string;
  /** Kept tags on the same digest (empty when kept tags reach it through an index). */
  siblings: string[];
}

/** What a registry removal does: tags removed alone, then manifests deleted by digest (`objects`, in order). */
export interface RegistryRemovalPlan extends RemovalPlan {
  untag: Untag[];
  /** Blobs no remaining tag reaches: the registry frees them in its own garbage collection. */
  blobs: { count: number; bytes: number };
}

/** How tags whose digest must stay are removed. */
export type UntagMode = 'placeholder' | 'tag-delete-only';

const PLACEHOLDER_TYPE = 'application/vnd.alba.untagged.v1+json';

/** The plan of removing `tags` (each must be in `facts`, the repository's tags now); nothing is changed. */
export async function planRegistryRemoval(client: RegistryClient, facts: readonly TagFacts[], tags: readonly string[]): Promise<RegistryRemovalPlan> {
  const removed = new Set(tags);
  const digestOf = new Map(facts.map((f) => [f.tag, f.digest as Digest]));
  const keptFacts = facts.filter((f) => !removed.has(f.tag));
  const reader = graphReader(client);
  const kept = await reach(keptFacts.map((f) => f.digest as Digest), reader);
  const untag: Untag[] = [];
  const roots = new Set<Digest>();
  for (const tag of tags) {
    const digest = digestOf.get(tag);
    if (digest === undefined) continue;
    if (kept.manifests.has(digest)) untag.push({ tag, digest, siblings: keptFacts.filter((f) => f.digest === digest).map((f) => f.tag) });
    else roots.add(digest);
  }
  const gone = unreachedBy(kept, await reach([...roots], reader));
  const objects = gone.manifests.map((m) => ({ key: m.digest, size: m.size }));
  return {
    tags: [...tags],
    untag,
    objects,
    bytes: objects.reduce((n, o) => n + o.size, 0),
    blobs: { count: gone.blobs.length, bytes: gone.blobs.reduce((n, b) => n + b.size, 0) },
  };
}

/**
 * Carries out a plan: the tags removed alone first (so a refusal changes nothing), then the
 * journal, then the deletes in order; a manifest a tag has come to reach since the plan (a push
 * meanwhile) is spared.
 */
export async function removeRegistryTags(client: RegistryClient, plan: RegistryRemovalPlan, journal: RemovalJournal, mode: UntagMode): Promise<void> {
  for (const u of plan.untag) await untagOnly(client, u, mode);
  await journal.save(plan.objects.map((o) => o.key));
  await deleteUnreached(client, plan.objects.map((o) => o.key), new Set(plan.tags));
  await journal.clear();
}

/** Finishes a removal a killed run left in the journal; returns the digests it was about. */
export async function finishPendingRemoval(client: RegistryClient, journal: RemovalJournal): Promise<string[]> {
  const digests = await journal.pending();
  if (digests.length === 0) return [];
  await deleteUnreached(client, digests, new Set());
  await journal.clear();
  return digests;
}

/** Deletes `digests` in order, but those that the repository's tags (other than `leaving`) reach now. */
async function deleteUnreached(client: RegistryClient, digests: readonly string[], leaving: ReadonlySet<string>): Promise<void> {
  const now = (await tagFacts(client)).filter((f) => !leaving.has(f.tag));
  const reached = await reach(now.map((f) => f.digest as Digest), graphReader(client));
  for (const digest of digests) if (!reached.manifests.has(digest as Digest)) await client.deleteManifest(digest);
}

async function untagOnly(client: RegistryClient, u: Untag, mode: UntagMode): Promise<void> {
  if ((await client.deleteManifest(u.tag)) !== 'refused') return;
  if (mode === 'tag-delete-only') {
    const kept = u.siblings.length > 0 ? `the tags ${u.siblings.join(', ')}` : 'kept tags (through their index)';
    throw new AlbaError('TAG_SHARED', `${client.repository}:${u.tag} is ${u.digest}, which ${kept} also name; deleting it by digest would remove them too, and this registry does not delete a tag alone (400 to a DELETE by tag)`, {
      hint: 'pass --untag to move the tag to a placeholder manifest and delete that (as regctl tag rm does), or remove the other tags as well',
    });
  }
  const placeholder = memoryBlob(artifactManifestBlob({ artifactType: PLACEHOLDER_TYPE, layers: [EMPTY_DESCRIPTOR], annotations: { 'dev.alba.untagged': `${u.tag} ${new Date().toISOString()}` } }));
  await client.ensureEmptyBlob();
  await client.putManifest(u.tag, placeholder);
  await client.deleteManifest(placeholder.descriptor.digest);
}

/** Reads a registry repository for the reachability walk. */
function graphReader(client: RegistryClient): GraphReader {
  return {
    manifest: async (digest) => (await client.manifestIfFound(digest))?.bytes,
    referrers: (subject) => client.storedReferrers(subject),
  };
}
