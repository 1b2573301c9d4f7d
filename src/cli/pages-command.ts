import { Command } from 'commander';
import { AlbaError } from '../errors.js';
import { out, stderrLog } from './args.js';

/** `alba pages s3://…`: (re)writes every download page of a bucket (or prefix), for buckets pushed before pages existed or with --no-pages. */
export function pagesCommand(): Command {
  return new Command('pages')
    .description('write the download pages of an S3 bucket: each static NAME and image repository found, and the root index.html')
    .argument('<target>', 's3://BUCKET[/PREFIX]?endpoint=HOST[:PORT]&region=R&s3ForcePathStyle=true')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExample:\n  alba pages s3://dist?endpoint=s3.example&region=eu&s3ForcePathStyle=true')
    .action(async (targetText: string, flags: { json?: boolean }) => {
      if (!targetText.startsWith('s3://'))
        throw new AlbaError('USAGE', `pages are written into a bucket, and ${targetText} is not an s3:// URL`, {
          hint: 's3://BUCKET[/PREFIX]?endpoint=HOST&region=R&s3ForcePathStyle=true',
        });
      const { where, pages } = await (await import('../site/bucket-pages.js')).writeBucketPages(targetText);
      if (flags.json === true) return out(JSON.stringify({ pages }));
      for (const key of pages) stderrLog(`page -> ${key}`);
      out(`wrote ${pages.length} pages to ${where}`);
    });
}
