import { AlbaError } from '../errors.js';
import { entryOf } from '../lifecycle/listing.js';
import { parseDuration, planRetention, type RetentionPolicy } from '../lifecycle/retention.js';
import type { TagClass } from '../lifecycle/tag-class.js';
import { parseS3Target } from '../sink/s3/s3-target.js';
import { listImageTags, listStaticTags } from '../sink/s3/s3-tags.js';
import { planImageRemoval, planStaticRemoval, removeImageTags, removeStaticTags } from '../sink/s3/s3-sweep.js';
import { DEFAULT_STATIC_PREFIX } from '../sink/s3/static-binaries.js';
import { cacheArea, defaultCacheDir } from '../cache.js';
import { RegistryClient } from '../sink/registry/client.js';
import { formatReference, parseReference, type ImageReference } from '../sink/registry/reference.js';
import { finishPendingRemoval, planRegistryRemoval, removeRegistryTags } from '../sink/registry/registry-removal.js';
import { tagFacts } from '../sink/registry/registry-tags.js';
import { removalJournal } from '../sink/registry/removal-journal.js';
import { parseTarget } from '../sink/target.js';
import { REGISTRY_FLAGS, registryAccess, registryClientOptions } from './registry-flags.js';
import type { RemovalPlan, TagFacts } from '../sink/sink.js';
import { parseCommandArgs, stderrLog } from './args.js';
import { positiveInt } from './container-command.js';

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
  cache: { type: 'string' },
  ...REGISTRY_FLAGS,
} as const;

/** `alba container rm -t NAME:TAG TARGET` and `alba container gc -t NAME --keep N TARGET` (s3:// or docker://). */
export async function containerRemoval(sub: 'rm' | 'gc', argv: string[]): Promise<void> {
  const { values, name, targetText } = parse(`container ${sub}`, argv);
  const parsed = parseTarget(targetText);
  if (parsed.kind === 'registry') return registryRemoval(sub, values, parsed.bare ? parseReference(`${parsed.ref.registry}/${name}`) : parsed.ref);
  if (parsed.kind !== 's3') throw new AlbaError('USAGE', `alba container ${sub} works on s3:// and docker:// targets, not ${targetText}`, { hint: 'a layout is a directory: delete it, or build it again' });
  const target = parseS3Target(targetText);
  const graceMs = duration(values.grace ?? '1h', '--grace');
  const tags = sub === 'rm' ? [tagOf(values.tag as string)] : await decide(await listImageTags(target, name), values);
  const plan = await planImageRemoval(target, name, tags, graceMs);
  if (sub === 'rm' && !plan.objects.some((o) => o.key.endsWith(`/manifests/${tags[0]}`))) {
    throw new AlbaError('USAGE', `${targetText}: image ${name} has no tag ${tags[0]}`, { hint: `see the tags with: alba container ls -t ${name} --class all TARGET` });
  }
  await report(plan, values['dry-run'] === true, values.json === true, () => removeImageTags(target, name, plan));
}

/** `alba static rm -t NAME:TAG s3://…` and `alba static gc -t NAME --keep N s3://…`. */
export async function staticRemoval(sub: 'rm' | 'gc', argv: string[]): Promise<void> {
  const { values, name, targetText } = parse(`static ${sub}`, argv);
  const target = parseS3Target(targetText);
  const prefix = (values.prefix ?? DEFAULT_STATIC_PREFIX).replace(/^\/+|\/+$/g, '');
  const tags = sub === 'rm' ? [tagOf(values.tag as string)] : await decide(await listStaticTags(target, name, prefix), values);
  const plan = await planStaticRemoval(target, name, prefix, tags);
  if (sub === 'rm' && plan.objects.length === 0) {
    throw new AlbaError('USAGE', `${targetText}: ${name} has no static tag ${tags[0]}`, { hint: `see the tags with: alba static ls -t ${name} --class all TARGET` });
  }
  await report(plan, values['dry-run'] === true, values.json === true, () => removeStaticTags(target, name, prefix, plan));
}

type Values = ReturnType<typeof parse>['values'];

/** rm and gc on a registry: finishes a removal a killed run left, then plans, prints and carries out this one. */
async function registryRemoval(sub: 'rm' | 'gc', values: Values, ref: Pick<ImageReference, 'registry' | 'repository'>): Promise<void> {
  const client = new RegistryClient(ref, { ...(await registryClientOptions(ref.registry, registryAccess(values))), push: true, delete: true });
  await client.ping();
  const dryRun = values['dry-run'] === true;
  if (values.grace !== undefined) stderrLog('note: --grace applies to s3:// only; a registry keeps its uploads until its own garbage collection');
  const journal = removalJournal(cacheArea(values.cache ?? defaultCacheDir(), 'removals'), ref.registry, ref.repository);
  const pending = await journal.pending();
  if (pending.length > 0) {
    if (dryRun) stderrLog(`note: a removal killed earlier left ${pending.length} manifests to delete; the real run finishes it first`);
    else stderrLog(`finished a removal killed earlier: ${(await finishPendingRemoval(client, journal)).length} manifests`);
  }
  const facts = await tagFacts(client);
  let tags: string[];
  if (sub === 'rm') {
    const tag = tagOf(values.tag as string);
    if (!facts.some((f) => f.tag === tag)) throw new AlbaError('USAGE', `${formatReference(ref)} has no tag ${tag}`, { hint: `see the tags with: alba container ls -t ${ref.repository} --class all TARGET` });
    tags = [tag];
  } else tags = await decide(facts, values);
  const plan = await planRegistryRemoval(client, facts, tags);
  const mode = sub === 'gc' || values.untag === true ? 'placeholder' : 'tag-delete-only';
  if (values.json === true) process.stdout.write(`${JSON.stringify({ dryRun, tags: plan.tags, untag: plan.untag, objects: plan.objects, bytes: plan.bytes, blobs: plan.blobs })}\n`);
  else {
    for (const u of plan.untag) process.stdout.write(`${dryRun ? 'would untag' : 'untag'} ${u.tag} (its ${u.digest} stays: ${u.siblings.length > 0 ? `also tagged ${u.siblings.join(', ')}` : 'kept tags reach it'})\n`);
    for (const o of plan.objects) process.stdout.write(`${dryRun ? 'would delete' : 'delete'} ${o.key} (${o.size} bytes)\n`);
    process.stdout.write(`${dryRun ? 'plan' : 'removed'}: ${plan.tags.length} tags, ${plan.objects.length} manifests, ${plan.bytes} bytes\n`);
  }
  stderrLog(`note: blobs are the registry's to collect: ${plan.blobs.count} blobs (${plan.blobs.bytes} bytes) are no longer reached by any tag of ${ref.repository}; distribution frees them with \`registry garbage-collect\` (registry read-only), other registries with their own garbage collection`);
  if (!dryRun) await removeRegistryTags(client, plan, journal, mode);
}

function parse(command: string, argv: string[]) {
  const { values, positionals } = parseCommandArgs(command, argv, OPTIONS);
  const [targetText] = positionals;
  if (values.tag === undefined || positionals.length !== 1 || targetText === undefined) {
    throw new AlbaError('USAGE', `alba ${command} needs -t NAME${command.endsWith('rm') ? ':TAG' : ''} and one TARGET`, { hint: `alba ${command} -t ${command.endsWith('rm') ? 'app:1.0' : 'app --keep 10'} s3://BUCKET?endpoint=…` });
  }
  const name = command.endsWith('rm') ? values.tag.slice(0, Math.max(0, values.tag.lastIndexOf(':'))) : values.tag;
  if (name === '') throw new AlbaError('USAGE', `-t ${values.tag}: expected NAME:TAG`, { hint: 'e.g. -t app:1.0' });
  return { values, name, targetText };
}

function tagOf(value: string): string {
  return value.slice(value.lastIndexOf(':') + 1);
}

/** The tags the retention policy of the flags removes; prints each decision. */
async function decide(facts: TagFacts[], values: Values): Promise<string[]> {
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
  const policy: RetentionPolicy = { keep, now: Date.now(), ...(typeof values['older-than'] === 'string' ? { olderThanMs: duration(values['older-than'], '--older-than') } : {}) };
  const decisions = planRetention(facts.map(entryOf), policy);
  for (const d of decisions) stderrLog(`${d.remove ? 'remove' : 'keep  '} ${d.entry.tag} (${d.rule})`);
  return decisions.filter((d) => d.remove).map((d) => d.entry.tag);
}

async function report(plan: RemovalPlan, dryRun: boolean, json: boolean, carryOut: () => Promise<void>): Promise<void> {
  if (json) process.stdout.write(`${JSON.stringify({ dryRun, tags: plan.tags, objects: plan.objects, bytes: plan.bytes })}\n`);
  else {
    for (const o of plan.objects) process.stdout.write(`${dryRun ? 'would delete' : 'delete'} ${o.key} (${o.size} bytes)\n`);
    process.stdout.write(`${dryRun ? 'plan' : 'removed'}: ${plan.tags.length} tags, ${plan.objects.length} objects, ${plan.bytes} bytes freed\n`);
  }
  if (!dryRun) await carryOut();
}

function duration(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new AlbaError('USAGE', `${flag} ${text}: expected a duration such as 30d, 12h, 90m or 0`, { hint: `e.g. ${flag} 1h` });
  return ms;
}
