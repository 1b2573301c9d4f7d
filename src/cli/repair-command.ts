import { Command } from 'commander';
import { AlbaError } from '../errors.js';
import { out, stderrLog } from './args.js';

/** `alba KIND repair -t NAME s3://…`: rebuilds the tag list of NAME from the tags whose content is whole. */
export function repairCommand(kind: 'container' | 'static'): Command {
  const repair = new Command('repair')
    .description('rebuild the tag list of NAME on S3 from the tags in the bucket')
    .argument('<target>', 's3://BUCKET[/PREFIX]?endpoint=…')
    .requiredOption('-t, --tag <name>', 'the NAME whose tag list is rebuilt')
    .option('--json', 'print one JSON object')
    .addHelpText('after', `\nExample:\n  alba ${kind} repair -t app s3://dist?endpoint=s3.example`)
    .action(async (target: string, flags: { tag: string; prefix?: string; json?: boolean }) => {
      const [{ openTagStore, parseTarget }, { tagStoreKind }] = await Promise.all([
        import('../sink/target.js'),
        import('../lifecycle/removal-request.js'),
      ]);
      // before the store is opened: a registry would be asked (without credentials, a repair needs none there) for nothing
      if (parseTarget(target).kind !== 's3')
        throw new AlbaError('USAGE', `alba ${kind} repair works on s3:// targets`, { hint: 'a registry keeps its own tag list' });
      const store = await openTagStore(target, tagStoreKind(kind, flags.tag, flags.prefix));
      if (store.repair === undefined) throw new AlbaError('USAGE', `${store.name} has no tag list to repair`);
      const done = await store.repair();
      if (flags.json === true) return out(JSON.stringify(done));
      for (const t of done.broken) stderrLog(`left out ${t}: its content is not whole (remove it with rm, or push it again)`);
      out(`repaired ${store.name}: ${done.tags.length} tags listed${done.broken.length > 0 ? `, ${done.broken.length} left out` : ''}`);
    });
  if (kind === 'static') repair.option('--prefix <prefix>', 'key prefix (default df-dist-v1)');
  return repair;
}
