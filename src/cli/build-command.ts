import { resolve, sep } from 'node:path';
import { Command, Option } from 'commander';
import { AlbaError } from '../errors.js';
import type { OutputFormat } from '../sink/build-output.js';
import type { LayoutSnapshot } from './warm-build.js';
import { stopwatch } from '../util/stopwatch.js';
import { given, indexCompressionOption, listOption, parseAnnotations, repeatable, stderrLog } from './args.js';
import { buildJson, buildLines, printBuild, printBuildJson } from './build-report.js';
import { BuildProgressLine } from './progress.js';
import { checkPushOutputFlags, withPushOutputOptions, type PushOutputFlags } from './push-targets.js';
import { registryAccess, withRegistryOptions, type RegistryFlagValues } from './registry-flags.js';

interface BuildFlags extends RegistryFlagValues, PushOutputFlags {
  out?: string;
  format: OutputFormat;
  arch?: string;
  cache?: string;
  mirror?: string[];
  allowInsecure?: boolean;
  indexCompression?: string;
  json?: boolean;
  annotation?: string[];
  push?: string[];
  annotationsFromCi?: boolean;
  signKey?: string;
  signIdentity?: string;
  remoteCache?: string;
  remoteCacheMode?: string;
}

/** `alba build RECIPE`: builds the recipe's multi-arch image into an OCI layout (or archives), and pushes it with --push. */
export function buildCommand(): Command {
  return withPushOutputOptions(
    withRegistryOptions(
      new Command('build')
        .description('build the multi-arch image of a recipe into an OCI layout (with its SBOMs), using the lock file beside it')
        .argument('<recipe>', 'the recipe (YAML)')
        .option('--out <path>', 'output layout directory, or archive file with --format (default: out/<name>, out/<name>.tar)')
        .addOption(
          new Option('--format <format>', 'oci: a layout directory; oci-archive: one tar; docker-archive: one tar per platform')
            .choices(['oci', 'oci-archive', 'docker-archive'])
            .default('oci'),
        )
        .option('--arch <a,b>', "build only these of the recipe's architectures")
        .option('--cache <dir>', 'download and layer cache (default: $XDG_CACHE_HOME/alba or ~/.cache/alba)')
        .option('--mirror <mirror>', "without a lock: fetch from a mirror ('apt', a base URL or ARCHIVE=URL); repeatable", repeatable)
        .option('--allow-insecure', 'without a lock: accept unsigned or badly signed Release files')
        .option('--index-compression <c>', 'without a lock: auto, xz or gz Packages files')
        .option('--annotation <key=value>', 'an annotation of the index and manifests; repeatable', repeatable)
        .option('--annotations-from-ci', "add org.opencontainers.image.source/revision/url/version from GitHub's or GitLab's variables")
        .option('--push <target>', 'then push, as `alba container push` does (docker://…, oci:DIR, s3://…); repeatable', repeatable)
        .option('--no-pages', 'with --push to s3://: leave the download pages alone')
        .option('--sign-key <file>', 'with --push: sign, attest the SBOMs and SLSA provenance (see docs/trust.md)')
        .option(
          '--sign-identity <host/repo>',
          "with --sign-key: the repository the signatures name (default: the target's; S3: the -t NAME)",
        )
        .option(
          '--remote-cache <url>',
          'a layer cache shared by runners: s3://BUCKET[/PREFIX]?endpoint=… or docker://HOST/REPO (default $ALBA_REMOTE_CACHE)',
        )
        .option('--remote-cache-mode <mode>', 'read or readwrite (default)')
        .option('--json', 'print one JSON object'),
    ),
  )
    .addHelpText(
      'after',
      '\nExample:\n  alba build recipes/busybox.yaml --mirror apt --annotation org.opencontainers.image.revision=$(git rev-parse HEAD)',
    )
    .action(run);
}

async function run(recipePath: string, flags: BuildFlags): Promise<void> {
  checkPushOutputFlags(flags, flags.push !== undefined);
  const archs = listOption(flags.arch, '--arch', 'amd64,arm64'); // `--arch ''` fails before the build
  const { parseTarget } = await import('../sink/target.js');
  const targets = (flags.push ?? []).map(parseTarget); // a mistyped target fails before the build
  const fromCi = flags.annotationsFromCi === true ? (await import('../ci/annotations.js')).ciAnnotations() : {};
  const annotations = { ...fromCi, ...parseAnnotations(flags.annotation ?? []) };
  const [{ buildRecipe }, { writeOutput }] = await Promise.all([import('../builder/build-recipe.js'), import('../sink/build-output.js')]);
  const progress = new BuildProgressLine();
  if (flags.signKey !== undefined && flags.push === undefined)
    throw new AlbaError('USAGE', '--sign-key signs what --push publishes', { hint: 'add --push TARGET (docs/trust.md)' });
  const startedOn = new Date();
  const { remoteCacheOption, cacheMountFrom } = await import('./remote-cache.js');
  // pushing without --out: a layer of the remote cache is fetched only if a target lacks it (remote-cache.ts)
  const remote = await remoteCacheOption(flags.remoteCache, flags.remoteCacheMode, process.env, stderrLog, {
    access: registryAccess(flags),
    accessFor: targets.flatMap((t) => (t.kind === 'registry' ? [t.ref.registry] : [])),
    lazy: flags.push !== undefined && flags.out === undefined,
  });
  // a build the next run may answer without building (warm-build.ts): its inputs as the build is about to read them
  const warm = (await import('./warm-build.js')).warmRequest();
  const { lockPathFor } = await import('../lock/lock-file.js');
  const before = warm === undefined ? undefined : (await import('./warm-build.js')).inputsBefore(warm, lockPathFor(resolve(recipePath)));
  const cacheDir = resolve(flags.cache ?? (await import('../cache.js')).defaultCacheDir());
  const writeLayout = flags.push === undefined || flags.out !== undefined;
  if (flags.out !== undefined) checkApart(resolve(flags.out), cacheDir, flags.format);
  const warnings: string[] = [];
  const log = (line: string): void => {
    if (line.startsWith('warning:')) warnings.push(line);
    stderrLog(line);
  };
  const built = await buildRecipe(resolve(recipePath), {
    ...given('cacheDir', flags.cache),
    ...given('mirrors', flags.mirror),
    ...given('archs', archs),
    annotations,
    allowInsecure: flags.allowInsecure === true,
    indexCompression: indexCompressionOption('build', flags.indexCompression),
    onLockProgress: (p) => progress.lock(p),
    onProgress: (p) => progress.build(p),
    log,
    ...remote,
  }).finally(() => progress.clear());
  const { recipe } = built;
  const clock = stopwatch();
  const format = flags.format;
  const outPath = resolve(flags.out ?? `out/${recipe.name.split('/').pop()}${format === 'oci' ? '' : '.tar'}`);
  if (writeLayout) checkApart(outPath, cacheDir, format);
  // a stamp lets the next identical build answer at once (warm-build.ts); what it cannot prove from its inputs is never stamped
  const stamping =
    warm !== undefined &&
    before !== undefined &&
    format === 'oci' &&
    flags.push === undefined &&
    !built.resolved &&
    remote.remoteCache === undefined;
  const snapshotLayout = stamping ? (await import('./warm-build.js')).snapshotLayout : undefined;
  let layout: LayoutSnapshot | undefined;
  const written = writeLayout
    ? await writeOutput(built.graph, {
        format,
        out: outPath,
        tag: recipe.tag,
        repoTag: `${recipe.name}:${recipe.tag}`,
        log: stderrLog,
        statIndex: (await import('../builder/build.js')).verifiedIndexPath(cacheDir),
        ...(snapshotLayout === undefined ? {} : { committed: (dir: string) => void (layout = snapshotLayout(dir)) }),
      })
    : [];
  const tags = [{ name: recipe.name, tag: recipe.tag }];
  const sign =
    flags.signKey === undefined
      ? undefined
      : await (
          await import('../trust/sign-push.js')
        ).buildSigner(built, { keyFile: flags.signKey, ...given('identity', flags.signIdentity), startedOn, annotations, tags });
  const pushed =
    flags.push === undefined
      ? undefined
      : await (
          await import('./push-targets.js')
        ).pushTargets(built.graph, flags.push, tags, { ...flags, mountFrom: cacheMountFrom(remote.remoteCache, flags.push) }, sign);
  const writeMs = clock();
  // the remote cache's writes never block the build or the push; the summary waits for them, to count them (the process would wait anyway)
  await built.remoteCacheWrites;
  const report = {
    built,
    format,
    outPath: writeLayout ? outPath : undefined,
    written,
    pushed,
    writeMs,
    ...(remote.remoteCache === undefined ? {} : { remoteCache: remote.remoteCache.report }),
  };
  if (stamping && layout !== undefined)
    (await import('./warm-build.js')).recordWarmBuild(warm, before, {
      out: outPath,
      layout,
      lockPath: lockPathFor(resolve(recipePath)),
      inputs: built.inputs,
      report: { text: await buildLines(report), json: buildJson(report), warnings },
    });
  if (flags.json === true) printBuildJson(report);
  else await printBuild(report);
}

/**
 * USAGE when a layout `--out` and the cache are one inside the other: the layout is replaced whole
 * (everything in it that is not the new image is deleted), so a cache inside it was deleted at
 * every build, and a layout inside the cache could take one of its areas.
 */
function checkApart(out: string, cache: string, format: string): void {
  if (format !== 'oci') return;
  const within = (a: string, b: string): boolean => a === b || a.startsWith(`${b}${sep}`);
  if (within(cache, out) || within(out, cache))
    throw new AlbaError('USAGE', `--out ${out} and the cache ${cache} are one inside the other`, {
      hint: '--out is replaced whole at every build: give --cache (or --out) a folder outside the other',
    });
}
