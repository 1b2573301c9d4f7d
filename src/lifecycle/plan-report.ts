/**
 * What `rm` and `gc` report of a removal plan, for people and for `--json`: the untagged tags,
 * the objects deleted (cosign's signature and attestation tags named as such), the uploads aborted and the totals (stdout), and notes on what alba leaves
 * (stderr). Pure: the caller prints.
 */
import type { BucketRemovalPlan, RegistryRemovalPlan, RemovalPlan } from './removal-plan.js';
import type { TagDecision } from './retention.js';

/** A plan as text and as JSON. */
export interface PlanReport {
  /** The `--json` object. */
  json: Record<string, unknown>;
  /** Lines for people (stdout). */
  lines: string[];
  /** Notes (stderr), shown with and without `--json`. */
  notes: string[];
}

/** Reports `plan` (of the store named `where`, of `kind`: its notes name `alba KIND repair`); `dryRun` says "would delete" rather than "delete". */
export function planReport(plan: RemovalPlan, dryRun: boolean, where: string, kind: 'container' | 'static' = 'container'): PlanReport {
  const registry = 'untag' in plan ? (plan as RegistryRemovalPlan) : undefined;
  const bucket = 'phases' in plan ? (plan as BucketRemovalPlan) : undefined;
  const extra =
    registry !== undefined
      ? { untag: registry.untag, blobs: registry.blobs }
      : {
          unlisted: bucket?.unlisted ?? [],
          uploads: (bucket?.uploads ?? []).map((u) => ({ key: u.key, initiated: u.initiated.toISOString() })),
        };
  const lines = [
    ...(registry?.untag ?? []).map(
      (u) =>
        `${dryRun ? 'would untag' : 'untag'} ${u.tag} (its ${u.digest} stays: ${u.siblings.length > 0 ? `also tagged ${u.siblings.join(', ')}` : 'kept tags reach it'})`,
    ),
    ...plan.objects.map((o) => `${dryRun ? 'would delete' : 'delete'} ${o.key} (${o.size} bytes${signatureOf(plan, o.key)})`),
    ...(bucket?.uploads ?? []).map(
      (u) => `${dryRun ? 'would abort' : 'abort'} the upload of ${u.key} (begun ${u.initiated.toISOString()})`,
    ),
    `${dryRun ? 'plan' : 'removed'}: ${plan.tags.length} tags, ${plan.objects.length} ${registry !== undefined ? 'manifests' : 'objects'}, ${plan.bytes} bytes${registry !== undefined ? '' : ' freed'}`,
  ];
  const notes = [
    ...(bucket?.unlisted ?? []).map(
      (t) => `note: ${where}: the tag object ${t} is not in the tag list; it is kept (alba ${kind} repair lists it again)`,
    ),
    ...(registry === undefined
      ? []
      : [
          `note: blobs are the registry's to collect: ${registry.blobs.count} blobs (${registry.blobs.bytes} bytes) are no longer reached by any tag of ${where}; distribution frees them with \`registry garbage-collect\` (registry read-only), other registries with their own garbage collection`,
        ]),
  ];
  return {
    json: { dryRun, tags: plan.tags, ...extra, attachments: plan.attachments, objects: plan.objects, bytes: plan.bytes },
    lines,
    notes,
  };
}

/** `, the cosign tag sha256-….sig of sha256:…` when `key` (an S3 key or a registry's digest) is one of `plan.attachments`. */
function signatureOf(plan: RemovalPlan, key: string): string {
  const a = plan.attachments.find((x) => x.digest === key || key.endsWith(`/manifests/${x.tag}`));
  return a === undefined ? '' : `, the cosign tag ${a.tag} of ${a.subject}`;
}

/** One retention decision of a gc, as a line: `remove d01 (dev: beyond the 10 newest)`. */
export function decisionLine(d: TagDecision): string {
  return `${d.remove ? 'remove' : 'keep  '} ${d.entry.tag} (${d.rule})`;
}
