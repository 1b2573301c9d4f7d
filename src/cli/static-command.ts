import { resolve } from 'node:path';
import { AlbaError } from '../errors.js';
import { parseS3Target } from '../sink/s3/s3-target.js';
import { checkStaticReference, DEFAULT_STATIC_PREFIX, pushStatic, scanStaticDir } from '../sink/s3/static-binaries.js';
import { parseCommandArgs, stderrLog } from './args.js';
import { printListing } from './ls.js';


/** `alba static push -t NAME:TAG DIR s3://…`. */
export async function staticCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'ls') return staticLs(rest);
  if (sub === 'rm' || sub === 'gc') return (await import('./lifecycle-command.js')).staticRemoval(sub, rest);
  if (sub === 'repair') return (await import('./lifecycle-command.js')).repair('static', rest);
  if (sub !== 'push') {
    throw new AlbaError('USAGE', sub === undefined ? 'alba static needs a subcommand' : `unknown subcommand "static ${sub}"`, { hint: 'alba static push -t NAME:TAG DIR s3://BUCKET?endpoint=…' });
  }
  const { values, positionals } = parseCommandArgs('static push', rest, {
    tag: { type: 'string', short: 't' },
    prefix: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (positionals.length !== 2) throw new AlbaError('USAGE', `alba static push needs DIR and TARGET, got ${positionals.length} arguments`, { hint: 'alba static push -t app:1.0 dist/ s3://BUCKET?endpoint=…' });
  const [dir, targetText] = positionals as [string, string];
  const { name, tag } = parseStaticTag(values.tag);
  if (!targetText.startsWith('s3://')) throw new AlbaError('USAGE', `static binaries go to S3, and ${targetText} is not an s3:// URL`, { hint: 's3://BUCKET[/PREFIX]?endpoint=HOST&region=R&s3ForcePathStyle=true' });
  const target = parseS3Target(targetText);
  const prefix = (values.prefix ?? DEFAULT_STATIC_PREFIX).replace(/^\/+|\/+$/g, '');
  const flavors = await scanStaticDir(resolve(dir));
  const pushed: string[] = [];
  await pushStatic(target, name, tag, flavors, {
    prefix,
    force: values.force === true,
    log: stderrLog,
    onEvent: (e) => {
      if (e.kind === 'file') {
        stderrLog(`${e.from.replace(`${resolve(dir)}/`, `${dir.replace(/\/+$/, '')}/`)} -> ${e.to}${e.outcome === 'skipped' ? ' (unchanged)' : ''}`);
        pushed.push(e.to);
      } else stderrLog(`${e.kind} -> ${e.to}`);
    },
  });
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify({ name, tag, flavors: flavors.map((f) => ({ platform: f.platform, resources: f.resources.map(({ path, size, sha256 }) => ({ path, size, sha256 })) })), objects: pushed })}\n`);
    return;
  }
  stderrLog('✅ push succeeded');
}

function parseStaticTag(value: string | undefined): { name: string; tag: string } {
  if (value === undefined) throw new AlbaError('USAGE', 'alba static push needs -t NAME:TAG', { hint: 'e.g. -t albatros:0.9' });
  const colon = value.indexOf(':');
  if (colon <= 0) throw new AlbaError('USAGE', `-t ${value}: expected NAME:TAG`, { hint: 'e.g. -t albatros:0.9' });
  const name = value.slice(0, colon);
  const tag = value.slice(colon + 1);
  checkStaticReference(name, tag);
  return { name, tag };
}

/** `alba static ls -t NAME s3://… [--prefix P] [--class C] [--json]`: tags with class, push time, flavors and size. */
async function staticLs(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs('static ls', argv, {
    tag: { type: 'string', short: 't' },
    prefix: { type: 'string' },
    class: { type: 'string' },
    json: { type: 'boolean' },
  });
  const [targetText] = positionals;
  if (values.tag === undefined || positionals.length !== 1 || targetText === undefined || !targetText.startsWith('s3://')) {
    throw new AlbaError('USAGE', 'alba static ls needs -t NAME and one s3:// TARGET', { hint: 'alba static ls -t albatros s3://BUCKET?endpoint=…' });
  }
  const { openTagStore } = await import('../sink/target.js');
  const store = await openTagStore(targetText, { kind: 'static', name: values.tag, prefix: (values.prefix ?? DEFAULT_STATIC_PREFIX).replace(/^\/+|\/+$/g, '') });
  const facts = await store.list();
  printListing(facts, values.class, values.json === true);
}
