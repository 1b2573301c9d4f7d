import { AlbaError } from '../errors.js';
import { entryOf } from '../lifecycle/listing.js';
import { parseDuration, planRetention, type RetentionPolicy } from '../lifecycle/retention.js';
import type { TagClass } from '../lifecycle/tag-class.js';
import { parseS3Target } from '../sink/s3/s3-target.js';
import { listImageTags, listStaticTags } from '../sink/s3/s3-tags.js';
import { planImageRemoval, planStaticRemoval, removeImageTags, removeStaticTags, type RemovalPlan } from '../sink/s3/s3-sweep.js';
import { DEFAULT_STATIC_PREFIX } from '../sink/s3/static-binaries.js';
import type { TagFacts } from '../sink/sink.js';
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
} as const;

/** `alba container rm -t NAME:TAG s3://…` and `alba container gc -t NAME --keep N s3://…`. */
export async function containerRemoval(sub: 'rm' | 'gc', argv: string[]): Promise<void> {
  const { values, name, targetText } = parse(`container ${sub}`, argv);
  if (!targetText.startsWith('s3://')) {
    throw new AlbaError('USAGE', `alba container ${sub} works on s3:// targets for now`, { hint: 'removal from registries is not implemented yet; use the registry\'s own tools' });
  }
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
async function decide(facts: TagFacts[], values: Record<string, string | boolean | undefined>): Promise<string[]> {
  const count = (flag: string): number | undefined => (typeof values[flag] === 'string' ? (values[flag] === '0' ? 0 : positiveInt(values[flag] as string, `--${flag}`)) : undefined);
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
