import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cacheArea, defaultCacheDir } from '../cache.js';
import { AlbaError } from '../errors.js';
import { BlobStore } from '../oci/blob-store.js';
import { readLayoutGraph } from '../source/layout-source.js';
import { readDockerArchives } from '../source/docker-archives.js';
import type { ImageGraph } from '../oci/graph.js';
import { parseCommandArgs, stderrLog } from './args.js';
import { printListing } from './ls.js';
import { parseTags, pushGraph } from './push.js';
import { REGISTRY_FLAGS, registryAccess, registryClientOptions } from './registry-flags.js';
import { openTagStore } from '../sink/target.js';

/** `alba container push -t NAME:TAG [...] SRC TARGET`, `alba container ls -t NAME TARGET`. */
export async function containerCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'ls') return containerLs(rest);
  if (sub === 'rm' || sub === 'gc') return (await import('./lifecycle-command.js')).containerRemoval(sub, rest);
  if (sub === 'repair') return (await import('./lifecycle-command.js')).repair('container', rest);
  if (sub !== 'push') {
    throw new AlbaError('USAGE', sub === undefined ? 'alba container needs a subcommand' : `unknown subcommand "container ${sub}"`, { hint: 'alba container push -t NAME:TAG SRC TARGET, or alba container ls -t NAME TARGET' });
  }
  const { values, positionals } = parseCommandArgs('container push', rest, {
    tag: { type: 'string', short: 't', multiple: true },
    ref: { type: 'string' },
    ...REGISTRY_FLAGS,
    'chunk-size': { type: 'string' },
    concurrency: { type: 'string' },
    'mount-from': { type: 'string', multiple: true },
    cache: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length !== 2) {
    throw new AlbaError('USAGE', `alba container push needs SRC and TARGET, got ${positionals.length} arguments`, { hint: 'alba container push -t NAME:TAG out/app docker://HOST/REPO' });
  }
  const [src, target] = positionals as [string, string];
  const tags = parseTags(values.tag ?? []);
  const graph = await loadSource(resolve(src), values.ref, values.cache);
  const outcome = await pushGraph(
    graph,
    target,
    tags,
    {
      ...registryAccess(values),
      ...(values['chunk-size'] === undefined ? {} : { chunkSize: positiveInt(values['chunk-size'], '--chunk-size') }),
      ...(values.concurrency === undefined ? {} : { concurrency: positiveInt(values.concurrency, '--concurrency') }),
      ...(values['mount-from'] === undefined ? {} : { mountFrom: values['mount-from'] }),
      ...(values.cache === undefined ? {} : { cacheDir: values.cache }),
    },
    stderrLog,
  );
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify({ target: outcome.target, digest: outcome.result.root.digest, tags: outcome.result.tags, blobs: outcome.result.blobs, manifests: outcome.result.manifests, pinned: outcome.pinned })}\n`);
    return;
  }
  stderrLog('✅ push succeeded');
  process.stdout.write(`${outcome.pinned}\n`);
}

/** An OCI layout (a directory with `oci-layout`), or a directory of docker archives. */
async function loadSource(dir: string, ref: string | undefined, cacheDir: string | undefined): Promise<ImageGraph> {
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) {
    throw new AlbaError('USAGE', `${dir} is not a directory`, { hint: 'SRC is an OCI layout (what alba build writes) or a directory of docker save archives' });
  }
  if (await stat(join(dir, 'oci-layout')).then(() => true, () => false)) {
    stderrLog('-- load oci layout --');
    return (await readLayoutGraph(dir, ref)).graph;
  }
  if (ref !== undefined) throw new AlbaError('USAGE', '--ref picks an image of an OCI layout', { hint: 'drop --ref for a directory of docker archives' });
  stderrLog('-- load docker archives --');
  return readDockerArchives(dir, { store: new BlobStore(cacheArea(cacheDir ?? defaultCacheDir(), 'blobs')), log: stderrLog });
}

/** A positive integer option; sizes may end in k, m or g (powers of 1024). */
export function positiveInt(text: string, flag: string): number {
  const m = /^(\d+)([kmg]?)(i?b?)$/i.exec(text.trim());
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m?.[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g'];
  const value = m === null ? NaN : Number(m[1]) * scale;
  if (!Number.isSafeInteger(value) || value <= 0) throw new AlbaError('USAGE', `${flag} ${text}: expected a positive number`, { hint: `e.g. ${flag} 8m` });
  return value;
}

/** `alba container ls -t NAME TARGET [--class C] [--json]`: the tags of an image, with class, push time, digest and size. */
async function containerLs(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs('container ls', argv, {
    tag: { type: 'string', short: 't' },
    class: { type: 'string' },
    json: { type: 'boolean' },
    ...REGISTRY_FLAGS,
  });
  const name = values.tag;
  const [targetText] = positionals;
  if (name === undefined || positionals.length !== 1 || targetText === undefined) {
    throw new AlbaError('USAGE', 'alba container ls needs -t NAME and one TARGET', { hint: 'alba container ls -t app docker://HOST or s3://BUCKET?endpoint=…' });
  }
  const store = await openTagStore(targetText, { kind: 'container', name }, { readOnly: true, registry: async (host) => registryClientOptions(host, registryAccess(values)) });
  const facts = await store.list();
  printListing(facts, values.class, values.json === true);
}
