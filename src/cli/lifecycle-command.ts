import { AlbaError } from '../errors.js';
import { parseDuration, type RetentionPolicy } from '../lifecycle/retention.js';
import { runRemoval } from '../lifecycle/removal.js';
import type { BucketRemovalPlan, RegistryRemovalPlan, RemovalPlan } from '../lifecycle/removal-plan.js';
import type { TagClass } from '../lifecycle/tag-class.js';
import { REFERRERS_TAG_RE, userTagProblem } from '../oci/names.js';
import { DEFAULT_STATIC_PREFIX } from '../sink/s3/static-binaries.js';
import { openTagStore, parseTarget, type TagStoreKind } from '../sink/target.js';
import { parseCommandArgs, stderrLog } from './args.js';
import { positiveInt } from './container-command.js';
import { REGISTRY_FLAGS, registryAccess, registryClientOptions } from './registry-flags.js';

const OPTIONS = {
  tag: { type: 'string', short: 't' },
  keep: { type: 'string' },
  'keep-release': { type: 'string' },
  'keep-extra': { type: 'string' },
  'keep-dev': { type: 'string' },
  'older-than': { type: 'string' },
  grace: { type: 'string' },
  'dry-run': { type: 'boolean' },
  prefix: { type: 'string' },
  json: { type: 'boolean' },
  untag: { type: 'boolean' },
  ...REGISTRY_FLAGS,
} as const;

/** `alba container rm -t NAME:TAG TARGET` and `alba container gc -t NAME --keep N TARGET` (s3:// or docker://). */
export function containerRemoval(sub: 'rm' | 'gc', argv: string[]): Promise<void> {
  return removal('container', sub, argv);
}

/** `alba static rm -t NAME:TAG s3://…` and `alba static gc -t NAME --keep N s3://…`. */
export function staticRemoval(sub: 'rm' | 'gc', argv: string[]): Promise<void> {
  return removal('static', sub, argv);
}

/** `alba container repair -t NAME s3://…`, `alba static repair -t NAME s3://…`: rebuilds the tag list from the tags in the bucket. */
export async function repair(kind: 'container' | 'static', argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(`${kind} repair`, argv, { tag: { type: 'string', short: 't' }, prefix: { type: 'string' }, json: { type: 'boolean' } });
  const [targetText] = positionals;
  if (values.tag === undefined || positionals.length !== 1 || targetText === undefined || !targetText.startsWith('s3://')) {
    throw new AlbaError('USAGE', `alba ${kind} repair needs -t NAME and one s3:// TARGET`, { hint: `alba ${kind} repair -t app s3://BUCKET?endpoint=…` });
  }
  const store = await openTagStore(targetText, what(kind, values.tag, values.prefix));
  if (store.repair === undefined) throw new AlbaError('USAGE', `alba ${kind} repair works on s3:// targets`, { hint: 'a registry keeps its own tag list' });
  const done = await store.repair();
  if (values.json === true) process.stdout.write(`${JSON.stringify(done)}\n`);
  else {
    for (const t of done.broken) stderrLog(`left out ${t}: its content is not whole (remove it with rm, or push it again)`);
    process.stdout.write(`repaired ${store.name}: ${done.tags.length} tags listed${done.broken.length > 0 ? `, ${done.broken.length} left out` : ''}\n`);
  }
}

type Values = ReturnType<typeof parse>['values'];

async function removal(kind: 'container' | 'static', sub: 'rm' | 'gc', argv: string[]): Promise<void> {
  const { values, name, targetText } = parse(`${kind} ${sub}`, argv);
  const registry = parseTarget(targetText).kind === 'registry';
  if (registry && values.grace !== undefined) stderrLog('note: --grace applies to s3:// only; a registry keeps its uploads until its own garbage collection');
  const store = await openTagStore(targetText, what(kind, name, values.prefix), {
    registry: async (host) => registryClientOptions(host, registryAccess(values)),
    untag: sub === 'gc' || values.untag === true ? 'placeholder' : 'tag-delete-only',
  });
  const dryRun = values['dry-run'] === true;
  await runRemoval(store as Parameters<typeof runRemoval>[0], sub === 'rm' ? { tag: tagOf(values.tag as string) } : { policy: policy(values) }, {
    graceMs: duration(values.grace ?? '1h', '--grace'),
    dryRun,
    log: stderrLog,
    onDecisions: (decisions) => {
      for (const d of decisions) stderrLog(`${d.remove ? 'remove' : 'keep  '} ${d.entry.tag} (${d.rule})`);
    },
    onPlan: (plan) => print(plan, dryRun, values.json === true, store.name),
  });
}

function what(kind: 'container' | 'static', name: string, prefix: string | undefined): TagStoreKind {
  return kind === 'container' ? { kind, name } : { kind, name, prefix: (prefix ?? DEFAULT_STATIC_PREFIX).replace(/^\/+|\/+$/g, '') };
}

function print(plan: RemovalPlan, dryRun: boolean, json: boolean, where: string): void {
  const registry = 'untag' in plan ? (plan as RegistryRemovalPlan) : undefined;
  const bucket = 'phases' in plan ? (plan as BucketRemovalPlan) : undefined;
  if (json) {
    const extra = registry !== undefined ? { untag: registry.untag, blobs: registry.blobs } : { unlisted: bucket?.unlisted ?? [], uploads: (bucket?.uploads ?? []).map((u) => ({ key: u.key, initiated: u.initiated.toISOString() })) };
    process.stdout.write(`${JSON.stringify({ dryRun, tags: plan.tags, ...extra, objects: plan.objects, bytes: plan.bytes })}\n`);
  } else {
    for (const u of registry?.untag ?? []) process.stdout.write(`${dryRun ? 'would untag' : 'untag'} ${u.tag} (its ${u.digest} stays: ${u.siblings.length > 0 ? `also tagged ${u.siblings.join(', ')}` : 'kept tags reach it'})\n`);
    for (const o of plan.objects) process.stdout.write(`${dryRun ? 'would delete' : 'delete'} ${o.key} (${o.size} bytes)\n`);
    for (const u of bucket?.uploads ?? []) process.stdout.write(`${dryRun ? 'would abort' : 'abort'} the upload of ${u.key} (begun ${u.initiated.toISOString()})\n`);
    process.stdout.write(`${dryRun ? 'plan' : 'removed'}: ${plan.tags.length} tags, ${plan.objects.length} ${registry !== undefined ? 'manifests' : 'objects'}, ${plan.bytes} bytes${registry !== undefined ? '' : ' freed'}\n`);
  }
  for (const t of bucket?.unlisted ?? []) stderrLog(`note: ${where}: the tag object ${t} is not in the tag list; it is kept (alba container repair lists it again)`);
  if (registry !== undefined) {
    stderrLog(`note: blobs are the registry's to collect: ${registry.blobs.count} blobs (${registry.blobs.bytes} bytes) are no longer reached by any tag of ${where}; distribution frees them with \`registry garbage-collect\` (registry read-only), other registries with their own garbage collection`);
  }
}

function parse(command: string, argv: string[]) {
  const { values, positionals } = parseCommandArgs(command, argv, OPTIONS);
  const [targetText] = positionals;
  if (values.tag === undefined || positionals.length !== 1 || targetText === undefined) {
    throw new AlbaError('USAGE', `alba ${command} needs -t NAME${command.endsWith('rm') ? ':TAG' : ''} and one TARGET`, { hint: `alba ${command} -t ${command.endsWith('rm') ? 'app:1.0' : 'app --keep 10'} s3://BUCKET?endpoint=…` });
  }
  const name = command.endsWith('rm') ? values.tag.slice(0, Math.max(0, values.tag.lastIndexOf(':'))) : values.tag;
  if (name === '') throw new AlbaError('USAGE', `-t ${values.tag}: expected NAME:TAG`, { hint: 'e.g. -t app:1.0' });
  // A referrers tag goes with its image: removing it alone would unlink the image's SBOMs and push records.
  const referrers = command === 'container rm' && REFERRERS_TAG_RE.test(tagOf(values.tag)) ? userTagProblem(tagOf(values.tag)) : undefined;
  if (referrers !== undefined) throw new AlbaError('USAGE', `-t ${values.tag}: ${referrers.problem}`, { hint: referrers.hint });
  return { values, name, targetText };
}

function tagOf(value: string): string {
  return value.slice(value.lastIndexOf(':') + 1);
}

/** The retention policy the flags ask for. */
function policy(values: Values): RetentionPolicy {
  const count = (flag: 'keep' | 'keep-extra' | 'keep-dev' | 'keep-release'): number | undefined => {
    const text = values[flag];
    return text === undefined ? undefined : text === '0' ? 0 : positiveInt(text, `--${flag}`);
  };
  const keepAll = count('keep');
  const keep: Partial<Record<TagClass, number>> = {};
  const extra = count('keep-extra') ?? keepAll;
  const dev = count('keep-dev') ?? keepAll;
  const release = count('keep-release');
  if (extra !== undefined) keep.extra = extra;
  if (dev !== undefined) keep.dev = dev;
  if (release !== undefined) keep.release = release;
  if (Object.keys(keep).length === 0) throw new AlbaError('USAGE', 'alba gc needs --keep N (or --keep-extra, --keep-dev, --keep-release)', { hint: 'e.g. --keep 10: keep the 10 newest extra and dev tags; releases are kept unless --keep-release' });
  return { keep, now: Date.now(), ...(typeof values['older-than'] === 'string' ? { olderThanMs: duration(values['older-than'], '--older-than') } : {}) };
}

function duration(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new AlbaError('USAGE', `${flag} ${text}: expected a duration such as 30d, 12h, 90m or 0`, { hint: `e.g. ${flag} 1h` });
  return ms;
}
