import { resolve } from 'node:path';
import { Command } from 'commander';
import { AlbaError } from '../errors.js';
import { out, stderrLog } from './args.js';
import { lifecycleCommands } from './lifecycle-command.js';
import { lsCommand } from './ls.js';

interface StaticPushFlags {
  tag: string;
  prefix?: string;
  force?: boolean;
  pages?: boolean;
  json?: boolean;
}

/** `alba static push|ls|rm|gc|repair`: static binaries on S3. */
export function staticCommand(): Command {
  const push = new Command('push')
    .description('push static binaries (DIR/<os>/<arch>[/<variant>]/<files>) to S3, under PREFIX/NAME/TAG')
    .argument('<dir>', 'holds <os>/<arch>[/<variant>]/<files>')
    .argument('<target>', 's3://BUCKET[/PREFIX]?endpoint=HOST[:PORT]&region=R&s3ForcePathStyle=true')
    .requiredOption('-t, --tag <name:tag>', 'NAME:TAG')
    .option('--prefix <prefix>', 'key prefix (default df-dist-v1)')
    .option('--force', 'replace a tag that names other files')
    .option('--no-pages', 'leave the download pages (PREFIX/NAME/index.html, index.html) alone')
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      '\nExample:\n  alba static push -t albatros:0.9 dist/ s3://dist?endpoint=s3.example&region=eu&s3ForcePathStyle=true',
    )
    .action(pushRun);
  const group = new Command('static')
    .description('push, list, remove and garbage-collect static binaries on S3')
    .addCommand(push)
    .addCommand(lsCommand('static'));
  for (const command of lifecycleCommands('static')) group.addCommand(command);
  return group;
}

async function pushRun(dir: string, targetText: string, flags: StaticPushFlags): Promise<void> {
  const colon = flags.tag.indexOf(':');
  if (colon <= 0) throw new AlbaError('USAGE', `-t ${flags.tag}: expected NAME:TAG`, { hint: 'e.g. -t albatros:0.9' });
  const name = flags.tag.slice(0, colon);
  const tag = flags.tag.slice(colon + 1);
  const { checkStaticPrefix, checkStaticReference, DEFAULT_STATIC_PREFIX, pushStatic, scanStaticDir } =
    await import('../sink/s3/static-binaries.js');
  checkStaticReference(name, tag);
  const prefix = (flags.prefix ?? DEFAULT_STATIC_PREFIX).replace(/^\/+|\/+$/g, '');
  checkStaticPrefix(prefix, name);
  if (!targetText.startsWith('s3://'))
    throw new AlbaError('USAGE', `static binaries go to S3, and ${targetText} is not an s3:// URL`, {
      hint: 's3://BUCKET[/PREFIX]?endpoint=HOST&region=R&s3ForcePathStyle=true',
    });
  const target = (await import('../sink/s3/s3-target.js')).parseS3Target(targetText);
  const flavors = await scanStaticDir(resolve(dir));
  const pushed: string[] = [];
  await pushStatic(target, name, tag, flavors, {
    prefix,
    force: flags.force === true,
    pages: flags.pages !== false,
    log: stderrLog,
    onEvent: (e) => {
      if (e.kind !== 'file') return stderrLog(`${e.kind} -> ${e.to}`);
      stderrLog(
        `${e.from.replace(`${resolve(dir)}/`, `${dir.replace(/\/+$/, '')}/`)} -> ${e.to}${e.outcome === 'skipped' ? ' (unchanged)' : ''}`,
      );
      pushed.push(e.to);
    },
  });
  if (flags.json !== true) return stderrLog('✅ push succeeded');
  out(
    JSON.stringify({
      name,
      tag,
      flavors: flavors.map((f) => ({
        platform: f.platform,
        resources: f.resources.map(({ path, size, sha256 }) => ({ path, size, sha256 })),
      })),
      objects: pushed,
    }),
  );
}
