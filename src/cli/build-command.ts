import { resolve } from 'node:path';
import { archSlug, findArch } from '../debian/arch.js';
import { build, type BuildProgress, type BuildResult } from '../builder/build.js';
import { BuildPrefetch } from '../builder/deb-downloads.js';
import { formatBytes, Progress } from './progress.js';
import { imageGraphOf, type ImageGraph } from '../oci/graph.js';
import type { Recipe } from '../recipe/types.js';
import { openArchiveSink, type ArchiveFormat } from '../sink/archive/archive-sink.js';
import { platformRefName } from '../sink/layout/layout-refs.js';
import { openLayoutSink } from '../sink/layout/layout-sink.js';
import { publish } from '../sink/publish.js';
import { pushGraph } from './push.js';
import { REGISTRY_FLAGS, registryAccess } from './registry-flags.js';
import { stopwatch } from '../util/stopwatch.js';
import { defaultCacheDir } from '../cache.js';
import { lockShowingProgress } from './lock-command.js';
import { loadRecipe } from '../recipe/load.js';
import { lockPathFor, readLock, resolutionInputs } from '../lock/lock-file.js';
import { AlbaError } from '../errors.js';
import { indexCompressionOption, onePositional, parseCommandArgs, stderrLog } from './args.js';
import { fetchTargets } from '../recipe/fetch-targets.js';

/** `alba build RECIPE`: builds the recipe's multi-arch image into an OCI layout. */
export async function buildCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs('build', argv, {
    out: { type: 'string' },
    arch: { type: 'string' },
    cache: { type: 'string' },
    mirror: { type: 'string', multiple: true },
    'allow-insecure': { type: 'boolean' },
    'index-compression': { type: 'string' },
    json: { type: 'boolean' },
    annotation: { type: 'string', multiple: true },
    push: { type: 'string' },
    format: { type: 'string' },
    ...REGISTRY_FLAGS,
  });
  const format = values.format ?? 'oci';
  if (format !== 'oci' && format !== 'oci-archive' && format !== 'docker-archive') {
    throw new AlbaError('USAGE', `--format ${format}: expected oci, oci-archive or docker-archive`, { hint: 'oci writes a layout directory; oci-archive and docker-archive one tar file (docker-archive: one per platform)' });
  }
  const recipePath = resolve(onePositional('build', positionals, 'recipe'));
  const recipe = await loadRecipe(recipePath);
  const cacheDir = values.cache ?? defaultCacheDir();
  const targets = await fetchTargets(recipe, values.mirror);
  const lockPath = lockPathFor(recipePath);
  let lock = await readLock(lockPath);
  if (lock !== undefined && lock.inputs !== resolutionInputs(recipe)) {
    throw new AlbaError('LOCK_STALE', `${lockPath} was made from other packages, sources or archs than ${recipePath} now lists`, {
      hint: 'run `alba lock --update` to re-resolve',
    });
  }
  let verified: ReadonlySet<string> | undefined;
  if (lock === undefined) {
    stderrLog(`no lock file (${lockPath}): resolving now; run \`alba lock\` to pin the packages`);
    // each arch's .debs download, and its layers build, while the other archs resolve
    const prefetch = new BuildPrefetch({ recipe, cacheDir, targets, log: stderrLog });
    const wanted = values.arch?.split(',').map((a) => findArch(a.trim())?.name);
    lock = (
      await lockShowingProgress(recipe, {
        targets,
        cacheDir,
        allowInsecure: values['allow-insecure'] === true,
        log: stderrLog,
        indexCompression: indexCompressionOption('build', values['index-compression']),
        onArchResolved: (name, packages, releases) => {
          const arch = recipe.archs.find((a) => a.name === name);
          if (arch !== undefined && (wanted === undefined || wanted.includes(name))) prefetch.add(arch, packages, releases);
        },
      })
    ).lock;
    verified = await prefetch.finish();
  }
  const out = resolve(values.out ?? `out/${recipe.name.split('/').pop()}${format === 'oci' ? '' : '.tar'}`);
  let state: BuildProgress | undefined;
  const progress = new Progress((elapsed) => describeProgress(state, elapsed)).tick();
  const result = await build({
    onProgress: (p) => {
      state = p;
      progress.update();
    },
    recipe,
    lock,
    ...(values.arch === undefined ? {} : { archs: values.arch.split(',').map((a) => a.trim()).filter((a) => a !== '') }),
    cacheDir,
    targets,
    log: stderrLog,
    annotations: parseAnnotations(values.annotation ?? []),
    ...(verified === undefined ? {} : { verified }),
  }).finally(() => progress.clear());
  const clock = stopwatch();
  const writeLayout = values.push === undefined || values.out !== undefined;
  const written = writeLayout ? await writeOutput(result.graph, format, out, recipe, result.files) : [];
  const pushed =
    values.push === undefined
      ? undefined
      : await pushGraph(result.graph, values.push, [{ name: recipe.name, tag: recipe.tag }], {
          ...registryAccess(values),
          cacheDir,
        }, stderrLog);
  const timings = { ...result.timings, write: clock() };
  if (values.json === true) {
    const manifests = result.images.map((i) => ({ platform: i.arch.name, digest: i.manifest.digest, size: i.manifest.size }));
    const where = format === 'oci' ? { layout: out } : { archives: written };
    process.stdout.write(`${JSON.stringify({ index: { digest: result.index.digest, size: result.index.size }, manifests, ...(writeLayout ? where : {}), ...(pushed === undefined ? {} : { pushed: pushed.pinned }), timings })}\n`);
    return;
  }
  for (const i of result.images) {
    process.stdout.write(
      `${archSlug(i.arch).padEnd(8)} ${i.manifest.digest}  ${i.layers} layers  ${formatSize(i.size)}  ${i.packages} packages\n`,
    );
  }
  process.stdout.write(`index    ${result.index.digest}\n`);
  for (const file of written) process.stdout.write(`wrote ${file} (${format}, tag ${recipe.tag}, SOURCE_DATE_EPOCH ${result.epoch.seconds} from ${result.epoch.from})\n`);
  if (pushed !== undefined) process.stdout.write(`${pushed.pinned}\n`);
}

/**
 * Writes the build where `--format` says: the layout directory (oci), one tar of it
 * (oci-archive), or docker-archive tars, one per platform when there are several (the platform
 * goes into the file name: `busybox-linux-arm64.tar`). Returns what was written.
 */
async function writeOutput(graph: ImageGraph, format: 'oci' | ArchiveFormat, out: string, recipe: Recipe, files: BuildResult['files']): Promise<string[]> {
  if (format === 'oci') {
    await publish(graph, await openLayoutSink({ dir: out, files, log: stderrLog }), [recipe.tag]);
    return [out];
  }
  if (format === 'oci-archive') {
    await publish(graph, await openArchiveSink({ file: out, format }), [recipe.tag], { concurrency: 1 });
    return [out];
  }
  const written: string[] = [];
  for (const image of graph.images) {
    const platform = image.manifest.descriptor.platform;
    const file = graph.images.length === 1 || platform === undefined ? out : `${platformRefName(out.replace(/\.tar$/, ''), platform)}.tar`;
    await publish(imageGraphOf(graph, image), await openArchiveSink({ file, format, repoTags: [`${recipe.name}:${recipe.tag}`] }), [recipe.tag], { concurrency: 1 });
    written.push(file);
  }
  return written;
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
    if (eq <= 0) throw new AlbaError('USAGE', `--annotation ${v}: expected KEY=VALUE`, { hint: 'e.g. --annotation org.opencontainers.image.revision=$(git rev-parse HEAD)' });
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} kB`;
}
