import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { BuildProgress } from '../builder/build.js';
import type { RecipeBuild } from '../builder/build-recipe.js';
import type { ImageGraph } from '../oci/graph.js';
import type { ImageTag } from '../sink/target.js';
import { AlbaError } from '../errors.js';
import type { OutputFormat } from '../sink/build-output.js';
import { formatBytes } from '../util/format-bytes.js';
import { stopwatch } from '../util/stopwatch.js';
import { given, indexCompressionOption, out, repeatable, stderrLog } from './args.js';
import { describeLock, type LockProgress } from './lock-command.js';
import { Progress } from './progress.js';
import { checkPushOutputFlags, withPushOutputOptions, type PushOutputFlags } from './push-targets.js';
import { withRegistryOptions, type RegistryFlagValues } from './registry-flags.js';

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
        .option('--sign-identity <host/repo>', 'with --sign-key: the repository the signatures name (default: the target\'s; S3: the -t NAME)')
        .option('--remote-cache <url>', 'a layer cache shared by runners: s3://BUCKET[/PREFIX]?endpoint=… (default $ALBA_REMOTE_CACHE)')
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
  if (flags.push !== undefined) flags.push.forEach((await import('../sink/target.js')).parseTarget); // a mistyped target fails before the build
  const fromCi = flags.annotationsFromCi === true ? (await import('../ci/annotations.js')).ciAnnotations() : {};
  const annotations = { ...fromCi, ...parseAnnotations(flags.annotation ?? []) };
  const [{ buildRecipe }, { writeOutput }] = await Promise.all([import('../builder/build-recipe.js'), import('../sink/build-output.js')]);
  let locking: LockProgress | undefined;
  let state: BuildProgress | undefined;
  let since: number | undefined; // the build's rate counts from its first progress, after any resolving
  const progress = new Progress((elapsed) =>
    state === undefined && locking !== undefined ? describeLock(locking, elapsed) : describeProgress(state, elapsed - (since ??= elapsed)),
  ).tick();
  if (flags.signKey !== undefined && flags.push === undefined)
    throw new AlbaError('USAGE', '--sign-key signs what --push publishes', { hint: 'add --push TARGET (docs/trust.md)' });
  const startedOn = new Date();
  const built = await buildRecipe(resolve(recipePath), {
    ...given('cacheDir', flags.cache),
    ...given('mirrors', flags.mirror),
    ...given(
      'archs',
      flags.arch
        ?.split(',')
        .map((a) => a.trim())
        .filter((a) => a !== ''),
    ),
    annotations,
    allowInsecure: flags.allowInsecure === true,
    indexCompression: indexCompressionOption('build', flags.indexCompression),
    onLockProgress: (p) => {
      locking = p;
      progress.update();
    },
    onProgress: (p) => {
      state = p;
      progress.update();
    },
    log: stderrLog,
    ...(await (await import('./remote-cache.js')).remoteCacheOption(flags.remoteCache, flags.remoteCacheMode, process.env, stderrLog)),
  }).finally(() => progress.clear());
  const { recipe, timings } = built;
  const clock = stopwatch();
  const format = flags.format;
  const outPath = resolve(flags.out ?? `out/${recipe.name.split('/').pop()}${format === 'oci' ? '' : '.tar'}`);
  const writeLayout = flags.push === undefined || flags.out !== undefined;
  const written = writeLayout
    ? await writeOutput(built.graph, { format, out: outPath, tag: recipe.tag, repoTag: `${recipe.name}:${recipe.tag}`, log: stderrLog })
    : [];
  const tags = [{ name: recipe.name, tag: recipe.tag }];
  const pushed =
    flags.push === undefined
      ? undefined
      : await (await import('./push-targets.js')).pushTargets(built.graph, flags.push, tags, flags, await signing(built, flags, tags, startedOn, annotations));
  if (flags.json === true) {
    const manifests = built.images.map((i) => ({ platform: i.arch.name, digest: i.manifest.digest, size: i.manifest.size }));
    const where = format === 'oci' ? { layout: outPath } : { archives: written };
    out(
      JSON.stringify({
        index: { digest: built.index.digest, size: built.index.size },
        manifests,
        ...(writeLayout ? where : {}),
        ...(pushed === undefined ? {} : { pushed: pushed[0]?.pinned, pushes: pushed.map((p) => p.pinned) }),
        timings: { ...timings, write: clock() },
      }),
    );
    return;
  }
  const { archSlug } = await import('../debian/arch.js');
  for (const i of built.images)
    out(`${archSlug(i.arch).padEnd(8)} ${i.manifest.digest}  ${i.layers} layers  ${formatBytes(i.size)}  ${i.packages} packages`);
  out(`index    ${built.index.digest}`);
  for (const file of written)
    out(`wrote ${file} (${format}, tag ${recipe.tag}, SOURCE_DATE_EPOCH ${built.epoch.seconds} from ${built.epoch.from})`);
  for (const p of pushed ?? []) out(p.pinned);
}

/** With --sign-key: the graph signed for each target, with the build's provenance (trust/sign-push.ts). */
async function signing(built: RecipeBuild, flags: BuildFlags, tags: ImageTag[], startedOn: Date, annotations: Record<string, string>): Promise<((t: string) => Promise<ImageGraph>) | undefined> {
  if (flags.signKey === undefined) return undefined;
  const { signerFor, buildProvenance } = await import('../trust/sign-push.js');
  const sign = await signerFor(flags.signKey, { provenance: await buildProvenance(built, startedOn, annotations), ...given('identity', flags.signIdentity) });
  return (t) => sign(built.graph, t, tags);
}

/** The progress line of a build: `.debs 12/40, 8.1 MB of 20.3 MB, 4.2 MB/s` or `layers 7/38`, with the elapsed time. */
function describeProgress(state: BuildProgress | undefined, elapsed: number): string {
  const time = `${elapsed.toFixed(0)} s`;
  if (state === undefined) return `building… ${time}`;
  if (state.stage === 'layers') return `layers ${state.done}/${state.total}  ${time}`;
  return `.debs ${state.done}/${state.total}, ${formatBytes(state.bytes ?? 0)} of ${formatBytes(state.totalBytes ?? 0)}, ${formatBytes((state.bytes ?? 0) / Math.max(elapsed, 0.001))}/s  ${time}`;
}

/** `--annotation KEY=VALUE` options (e.g. org.opencontainers.image.revision=$GIT_SHA) as a map. */
function parseAnnotations(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0)
      throw new AlbaError('USAGE', `--annotation ${v}: expected KEY=VALUE`, {
        hint: 'e.g. --annotation org.opencontainers.image.revision=$(git rev-parse HEAD)',
      });
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}
