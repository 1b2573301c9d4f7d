import { resolve } from 'node:path';
import { archSlug } from '../debian/arch.js';
import { build } from '../builder/build.js';
import { openLayoutSink } from '../sink/layout/layout-sink.js';
import { publish } from '../sink/publish.js';
import { pushGraph } from './push.js';
import { REGISTRY_FLAGS, registryAccess } from './registry-flags.js';
import { stopwatch } from '../util/stopwatch.js';
import { defaultCacheDir } from '../cache.js';
import { lockRecipe } from '../lock/lock.js';
import { loadRecipe } from '../recipe/load.js';
import { lockPathFor, readLock, resolutionInputs } from '../lock/lock-file.js';
import { AlbaError } from '../errors.js';
import { onePositional, parseCommandArgs, stderrLog } from './args.js';
import { fetchTargets } from './sources.js';

/** `alba build RECIPE`: builds the recipe's multi-arch image into an OCI layout. */
export async function buildCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs('build', argv, {
    out: { type: 'string' },
    arch: { type: 'string' },
    cache: { type: 'string' },
    mirror: { type: 'string', multiple: true },
    'allow-insecure': { type: 'boolean' },
    json: { type: 'boolean' },
    annotation: { type: 'string', multiple: true },
    push: { type: 'string' },
    ...REGISTRY_FLAGS,
  });
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
  if (lock === undefined) {
    stderrLog(`no lock file (${lockPath}): resolving now; run \`alba lock\` to pin the packages`);
    lock = (await lockRecipe(recipe, { targets, cacheDir, allowInsecure: values['allow-insecure'] === true, log: stderrLog })).lock;
  }
  const out = resolve(values.out ?? `out/${recipe.name.split('/').pop()}`);
  const result = await build({
    recipe,
    lock,
    ...(values.arch === undefined ? {} : { archs: values.arch.split(',').map((a) => a.trim()).filter((a) => a !== '') }),
    cacheDir,
    targets,
    log: stderrLog,
    annotations: parseAnnotations(values.annotation ?? []),
  });
  const clock = stopwatch();
  const writeLayout = values.push === undefined || values.out !== undefined;
  if (writeLayout) await publish(result.graph, await openLayoutSink({ dir: out, files: result.files }), [recipe.tag]);
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
    process.stdout.write(`${JSON.stringify({ index: { digest: result.index.digest, size: result.index.size }, manifests, ...(writeLayout ? { layout: out } : {}), ...(pushed === undefined ? {} : { pushed: pushed.pinned }), timings })}\n`);
    return;
  }
  for (const i of result.images) {
    process.stdout.write(
      `${archSlug(i.arch).padEnd(8)} ${i.manifest.digest}  ${i.layers} layers  ${formatSize(i.size)}  ${i.packages} packages\n`,
    );
  }
  process.stdout.write(`index    ${result.index.digest}\n`);
  if (writeLayout) process.stdout.write(`wrote ${out} (tag ${recipe.tag}, SOURCE_DATE_EPOCH ${result.epoch.seconds} from ${result.epoch.from})\n`);
  if (pushed !== undefined) process.stdout.write(`${pushed.pinned}\n`);
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
