import { Command } from 'commander';
import { AlbaError } from '../errors.js';
import { out } from './args.js';
import { registryOption, withRegistryOptions, type RegistryFlagValues } from './registry-flags.js';

interface LsFlags extends RegistryFlagValues {
  tag: string;
  class?: string;
  prefix?: string;
  json?: boolean;
}

/** `alba container ls -t NAME TARGET`, `alba static ls -t NAME s3://…`: the tags with class, push time, digest and size. */
export function lsCommand(kind: 'container' | 'static'): Command {
  const command = new Command('ls')
    .description(
      kind === 'container'
        ? 'list the tags of an image: class, push time, digest, size'
        : 'list the tags of static binaries: class, push time, flavors, size',
    )
    .argument(
      '<target>',
      kind === 'container' ? 'docker://HOST[/REPO] or s3://BUCKET[/PREFIX]?endpoint=…' : 's3://BUCKET[/PREFIX]?endpoint=…',
    )
    .requiredOption('-t, --tag <name>', kind === 'container' ? 'the image repository' : 'the static NAME')
    .option('--class <class>', 'release (default), extra, dev or all')
    .option('--json', 'print a JSON array');
  if (kind === 'static') command.option('--prefix <prefix>', 'key prefix (default df-dist-v1)');
  else withRegistryOptions(command);
  return command
    .addHelpText(
      'after',
      `\nExample:\n  alba ${kind} ls -t app --class all ${kind === 'container' ? 'docker://registry.example:5000' : 's3://dist?endpoint=s3.example'}`,
    )
    .action(async (target: string, flags: LsFlags) => {
      const [{ openTagStore }, { entryOf, formatListing, parseClassFilter, sortEntries }] = await Promise.all([
        import('../sink/target.js'),
        import('../lifecycle/listing.js'),
      ]);
      const filter = parseClassFilter(flags.class);
      if (flags.class !== undefined && filter === undefined)
        throw new AlbaError('USAGE', `--class ${flags.class}: expected release, extra, dev or all`, { hint: 'e.g. --class all' });
      const what = kind === 'container' ? { kind, name: flags.tag } : { kind, name: flags.tag, prefix: flags.prefix };
      const store = await openTagStore(target, what, { readOnly: true, registry: registryOption(flags) });
      const entries = (await store.list()).map(entryOf);
      if (flags.json !== true) return out(formatListing(entries, filter ?? 'release').join('\n'));
      const shown = sortEntries(entries).filter((e) => (filter ?? 'release') === 'all' || e.class === (filter ?? 'release'));
      out(JSON.stringify(shown.map((e) => ({ ...e, ...(e.pushed === undefined ? {} : { pushed: e.pushed.toISOString() }) }))));
    });
}
