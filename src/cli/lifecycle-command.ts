import { Command } from 'commander';
import { given, out, stderrLog } from './args.js';
import { repairCommand } from './repair-command.js';
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
  return [removal('rm'), removal('gc'), repairCommand(kind)];
}

async function remove(kind: Kind, sub: 'rm' | 'gc', targetText: string, flags: RemovalFlags): Promise<void> {
  const [{ openTagStore, parseTarget }, { runRemoval }, { planReport, decisionLine }, { removalRequest, durationOption, tagStoreKind }] =
    await Promise.all([
      import('../sink/target.js'),
      import('../lifecycle/removal.js'),
      import('../lifecycle/plan-report.js'),
      import('../lifecycle/removal-request.js'),
    ]);
  const { name, request } = removalRequest(kind, sub, flags.tag, {
    ...given('keep', flags.keep),
    ...given('keepRelease', flags.keepRelease),
    ...given('keepExtra', flags.keepExtra),
    ...given('keepDev', flags.keepDev),
    ...given('olderThan', flags.olderThan),
  });
  const graceMs = durationOption(flags.grace ?? '1h', '--grace');
  if (parseTarget(targetText).kind === 'registry' && flags.grace !== undefined)
    stderrLog('note: --grace applies to s3:// only; a registry keeps its uploads until its own garbage collection');
  const store = await openTagStore(targetText, tagStoreKind(kind, name, flags.prefix), {
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
      const report = planReport(plan, dryRun, store.name, kind);
      if (flags.json === true) out(JSON.stringify(report.json));
      else report.lines.forEach((line) => out(line));
      report.notes.forEach((note) => stderrLog(note));
    },
  });
}
