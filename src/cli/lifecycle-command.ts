import { Command } from 'commander';
import { AlbaError } from '../errors.js';
import type { RetentionPolicy } from '../lifecycle/retention.js';
import type { TagClass } from '../lifecycle/tag-class.js';
import type { TagStoreKind } from '../sink/target.js';
import { out, positiveInt, stderrLog } from './args.js';
import { registryOption, withRegistryOptions, type RegistryFlagValues } from './registry-flags.js';

type Kind = 'container' | 'static';

interface RemovalFlags extends RegistryFlagValues {
  tag: string;
  keep?: string;
  keepRelease?: string;
  keepExtra?: string;
  keepDev?: string;
  olderThan?: string;
  grace?: string;
  dryRun?: boolean;
  prefix?: string;
  json?: boolean;
  untag?: boolean;
  pages?: boolean;
}

const TARGET = { container: 's3://BUCKET[/PREFIX]?endpoint=… or docker://HOST[/REPO]', static: 's3://BUCKET[/PREFIX]?endpoint=…' };

/** `alba KIND rm`, `alba KIND gc`, `alba KIND repair` (KIND: container, static). */
export function lifecycleCommands(kind: Kind): Command[] {
  const removal = (sub: 'rm' | 'gc'): Command => {
    const command = new Command(sub)
      .description(
        sub === 'rm'
          ? 'remove one tag, and what no other tag reaches'
          : 'remove the tags beyond the N newest of each class (releases are kept unless --keep-release), and what no kept tag reaches',
      )
      .argument('<target>', TARGET[kind])
      .requiredOption('-t, --tag <name>', sub === 'rm' ? 'the tag to remove, NAME:TAG' : 'the NAME whose tags are pruned');
    if (sub === 'gc') {
      command
        .option('--keep <n>', 'keep the N newest extra and dev tags')
        .option('--keep-release <n>', 'keep the N newest releases (default: all)')
        .option('--keep-extra <n>', 'keep the N newest extra tags')
        .option('--keep-dev <n>', 'keep the N newest dev tags')
        .option('--older-than <duration>', 'remove only tags older than this (e.g. 30d)');
    }
    command
      .option('--grace <duration>', 's3: spare objects younger than this, an upload in flight (default 1h)')
      .option('--dry-run', 'print the plan, change nothing')
      .option('--no-pages', 's3: leave the download pages alone')
      .option('--json', 'print one JSON object');
    if (kind === 'static') command.option('--prefix <prefix>', 'key prefix (default df-dist-v1)');
    else
      withRegistryOptions(
        sub === 'rm' ? command.option('--untag', 'on a registry: remove the tag alone when its digest has other tags') : command,
      );
    const example =
      sub === 'rm'
        ? `alba ${kind} rm -t app:1.0 --dry-run s3://dist?endpoint=s3.example`
        : `alba ${kind} gc -t app --keep 10 --older-than 30d s3://dist?endpoint=s3.example`;
    return command
      .addHelpText('after', `\nExample:\n  ${example}`)
      .action((target: string, flags: RemovalFlags) => remove(kind, sub, target, flags));
  };
  const repair = new Command('repair')
    .description('rebuild the tag list of NAME on S3 from the tags in the bucket')
    .argument('<target>', 's3://BUCKET[/PREFIX]?endpoint=…')
    .requiredOption('-t, --tag <name>', 'the NAME whose tag list is rebuilt')
    .option('--json', 'print one JSON object')
    .addHelpText('after', `\nExample:\n  alba ${kind} repair -t app s3://dist?endpoint=s3.example`)
    .action(async (target: string, flags: RemovalFlags) => {
      const store = await (await import('../sink/target.js')).openTagStore(target, what(kind, flags.tag, flags.prefix));
      if (store.repair === undefined)
        throw new AlbaError('USAGE', `alba ${kind} repair works on s3:// targets`, { hint: 'a registry keeps its own tag list' });
      const done = await store.repair();
      if (flags.json === true) return out(JSON.stringify(done));
      for (const t of done.broken) stderrLog(`left out ${t}: its content is not whole (remove it with rm, or push it again)`);
      out(`repaired ${store.name}: ${done.tags.length} tags listed${done.broken.length > 0 ? `, ${done.broken.length} left out` : ''}`);
    });
  if (kind === 'static') repair.option('--prefix <prefix>', 'key prefix (default df-dist-v1)');
  return [removal('rm'), removal('gc'), repair];
}

async function remove(kind: Kind, sub: 'rm' | 'gc', targetText: string, flags: RemovalFlags): Promise<void> {
  const [
    { openTagStore, parseTarget },
    { runRemoval },
    { planReport, decisionLine },
    { parseDuration },
    { REFERRERS_TAG_RE, userTagProblem },
  ] = await Promise.all([
    import('../sink/target.js'),
    import('../lifecycle/removal.js'),
    import('../lifecycle/plan-report.js'),
    import('../lifecycle/retention.js'),
    import('../oci/names.js'),
  ]);
  const duration = (text: string, flag: string): number =>
    parseDuration(text) ?? usage(`${flag} ${text}: expected a duration such as 30d, 12h, 90m or 0`, `e.g. ${flag} 1h`);
  const colon = flags.tag.lastIndexOf(':');
  const name = sub === 'rm' ? flags.tag.slice(0, Math.max(0, colon)) : flags.tag;
  const tag = flags.tag.slice(colon + 1);
  if (name === '') usage(`-t ${flags.tag}: expected NAME:TAG`, 'e.g. -t app:1.0');
  // A referrers tag goes with its image: removing it alone would unlink the image's SBOMs and push records.
  const referrers = kind === 'container' && sub === 'rm' && REFERRERS_TAG_RE.test(tag) ? userTagProblem(tag) : undefined;
  if (referrers !== undefined) usage(`-t ${flags.tag}: ${referrers.problem}`, referrers.hint);
  const request = sub === 'rm' ? { tag } : { policy: policy(flags, (text) => duration(text, '--older-than')) };
  const graceMs = duration(flags.grace ?? '1h', '--grace');
  if (parseTarget(targetText).kind === 'registry' && flags.grace !== undefined)
    stderrLog('note: --grace applies to s3:// only; a registry keeps its uploads until its own garbage collection');
  const store = await openTagStore(targetText, what(kind, name, flags.prefix), {
    registry: registryOption(flags),
    untag: sub === 'gc' || flags.untag === true ? 'placeholder' : 'tag-delete-only',
  });
  const dryRun = flags.dryRun === true;
  await runRemoval(store as Parameters<typeof runRemoval>[0], request, {
    graceMs,
    dryRun,
    pages: flags.pages !== false,
    log: stderrLog,
    onDecisions: (decisions) => decisions.forEach((d) => stderrLog(decisionLine(d))),
    onPlan: (plan) => {
      const report = planReport(plan, dryRun, store.name);
      if (flags.json === true) out(JSON.stringify(report.json));
      else report.lines.forEach((line) => out(line));
      report.notes.forEach((note) => stderrLog(note));
    },
  });
}

function what(kind: Kind, name: string, prefix: string | undefined): TagStoreKind {
  return kind === 'container' ? { kind, name } : { kind, name, prefix };
}

function usage(message: string, hint: string): never {
  throw new AlbaError('USAGE', message, { hint });
}

/** The retention policy the flags ask for. */
function policy(flags: RemovalFlags, duration: (text: string) => number): RetentionPolicy {
  const count = (text: string | undefined, flag: string): number | undefined =>
    text === undefined ? undefined : text === '0' ? 0 : positiveInt(text, flag);
  const keepAll = count(flags.keep, '--keep');
  const counts: [TagClass, number | undefined][] = [
    ['extra', count(flags.keepExtra, '--keep-extra') ?? keepAll],
    ['dev', count(flags.keepDev, '--keep-dev') ?? keepAll],
    ['release', count(flags.keepRelease, '--keep-release')],
  ];
  const keep: Partial<Record<TagClass, number>> = Object.fromEntries(counts.filter(([, n]) => n !== undefined));
  if (Object.keys(keep).length === 0)
    usage(
      'alba gc needs --keep N (or --keep-extra, --keep-dev, --keep-release)',
      'e.g. --keep 10: keep the 10 newest extra and dev tags; releases are kept unless --keep-release',
    );
  return { keep, now: Date.now(), ...(flags.olderThan === undefined ? {} : { olderThanMs: duration(flags.olderThan) }) };
}
