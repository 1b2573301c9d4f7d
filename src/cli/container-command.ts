import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { AlbaError } from '../errors.js';
import type { ImageGraph } from '../oci/graph.js';
import { concurrencyOption, given, out, positiveInt, repeatable, stderrLog } from './args.js';
import { lifecycleCommands } from './lifecycle-command.js';
import { lsCommand } from './ls.js';
import type { PushFlags } from './push.js';
import { withPushOutputOptions, type PushOutputFlags } from './push-targets.js';
import { withRegistryOptions } from './registry-flags.js';

interface ContainerPushFlags extends Omit<PushFlags, 'chunkSize' | 'concurrency'>, PushOutputFlags {
  tag?: string[];
  ref?: string;
  chunkSize?: string;
  concurrency?: string;
  json?: boolean;
  signKey?: string;
  signIdentity?: string;
}

/** `alba container push|ls|rm|gc|repair`. */
export function containerCommand(): Command {
  const push = withRegistryOptions(
    new Command('push')
      .description('push an OCI layout or a directory of docker archives to a registry, a layout or an S3 static registry')
      .argument('<src>', 'an OCI layout (what alba build writes) or a directory of docker save archives')
      .argument(
        '<target...>',
        'docker://HOST[:PORT][/REPO[:TAG]], oci:DIR or s3://BUCKET[/PREFIX]?endpoint=HOST&region=R&s3ForcePathStyle=true; several: each gets the image',
      )
      .option('-t, --tag <name:tag>', 'a tag to push (NAME:TAG, or TAG when TARGET names the repository); repeatable', repeatable)
      .option('--ref <tag>', "which image of the layout's index.json, when it holds several"),
  )
    .option('--chunk-size <n>', 'upload blobs in PATCH requests of N bytes (e.g. 8m), for registries that cap request size')
    .option('--mount-from <repo>', 'try a cross-repository mount from REPO of the same registry first; repeatable', repeatable)
    .option('--concurrency <n>', 'nodes stored at once, 1 to 64 (default 8)')
    .option('--cache <dir>', 'blob cache and mount hints (default: $XDG_CACHE_HOME/alba or ~/.cache/alba)')
    .option('--no-pages', 's3: leave the download pages (v2/NAME/index.html, index.html) alone')
    .option('--sign-key <file>', 'sign the index and each platform, attest the SBOMs (cosign key: ALBA_SIGN_PASSWORD; docs/trust.md)')
    .option('--sign-identity <host/repo>', "with --sign-key: the repository the signatures name (default: the target's; S3: the -t NAME)")
    .option('--json', 'print one JSON object');
  withPushOutputOptions(push)
    .addHelpText('after', '\nExample:\n  alba container push -t app:1.0 -t app:latest out/app docker://registry.example:5000')
    .action(pushRun);
  const group = new Command('container')
    .description('push, list, remove and garbage-collect the tags of images (registries, S3 static registries)')
    .addCommand(push)
    .addCommand(lsCommand('container'));
  for (const command of lifecycleCommands('container')) group.addCommand(command);
  return group;
}

async function pushRun(src: string, targets: string[], flags: ContainerPushFlags): Promise<void> {
  const [{ parseTags, parseTarget }, { pushTargets }] = await Promise.all([import('../sink/target.js'), import('./push-targets.js')]);
  targets.forEach(parseTarget); // a mistyped target fails before the source is read
  const tags = parseTags(flags.tag ?? []);
  const graph = await loadSource(resolve(src), flags.ref, flags.cache);
  const { chunkSize, concurrency, signKey, signIdentity, ...rest } = flags;
  const signed =
    signKey === undefined ? undefined : await (await import('../trust/sign-push.js')).signerFor(signKey, given('identity', signIdentity));
  const sizes = {
    ...given('chunkSize', chunkSize === undefined ? undefined : positiveInt(chunkSize, '--chunk-size')),
    ...given('concurrency', concurrency === undefined ? undefined : concurrencyOption(concurrency)),
  };
  const outcomes = await pushTargets(graph, targets, tags, { ...rest, ...sizes }, signed && ((t) => signed(graph, t, tags)));
  const json = outcomes.map(({ target, result, pinned, credentials }) => ({
    target,
    digest: result.root.digest,
    tags: result.tags,
    blobs: result.blobs,
    manifests: result.manifests,
    pinned,
    ...given('credentials', credentials),
  }));
  if (flags.json === true) return out(JSON.stringify({ ...json[0], targets: json }));
  stderrLog('✅ push succeeded');
  for (const outcome of outcomes) out(outcome.pinned);
}

/** An OCI layout (a directory with `oci-layout`), or a directory of docker archives. */
async function loadSource(dir: string, ref: string | undefined, cacheDir: string | undefined): Promise<ImageGraph> {
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) {
    throw new AlbaError('USAGE', `${dir} is not a directory`, {
      hint: 'SRC is an OCI layout (what alba build writes) or a directory of docker save archives',
    });
  }
  if (
    await stat(join(dir, 'oci-layout')).then(
      () => true,
      () => false,
    )
  ) {
    stderrLog('-- load oci layout --');
    return (await (await import('../source/layout-source.js')).readLayoutGraph(dir, ref)).graph;
  }
  if (ref !== undefined)
    throw new AlbaError('USAGE', '--ref picks an image of an OCI layout', { hint: 'drop --ref for a directory of docker archives' });
  stderrLog('-- load docker archives --');
  const [{ cacheArea, defaultCacheDir }, { BlobStore }, { readDockerArchives }] = await Promise.all([
    import('../cache.js'),
    import('../oci/blob-store.js'),
    import('../source/docker-archives.js'),
  ]);
  return readDockerArchives(dir, { store: new BlobStore(cacheArea(cacheDir ?? defaultCacheDir(), 'blobs')), log: stderrLog });
}
