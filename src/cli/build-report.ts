import type { RecipeBuild } from '../builder/build-recipe.js';
import type { RemoteCacheReport } from '../builder/remote-cache.js';
import type { OutputFormat } from '../sink/build-output.js';
import { formatBytes } from '../util/format-bytes.js';
import { out } from './args.js';
import type { PushOutcome } from './push.js';

/** What `alba build` did: the build, where it wrote (`outPath` undefined: nothing written), what it pushed. */
export interface BuildReport {
  built: RecipeBuild;
  format: OutputFormat;
  outPath: string | undefined;
  written: string[];
  pushed: PushOutcome[] | undefined;
  writeMs: number;
  /** With `--remote-cache`: what it did (its writes settled). */
  remoteCache?: RemoteCacheReport;
}

/** `--json`: one object with the index, each platform manifest, the layout or archives, the pushes and the timings. */
export function printBuildJson(report: BuildReport): void {
  out(JSON.stringify(buildJson(report)));
}

/** The object `--json` prints. */
export function buildJson({ built, format, outPath, written, pushed, writeMs, remoteCache }: BuildReport): Record<string, unknown> {
  const manifests = built.images.map((i) => ({ platform: i.arch.name, digest: i.manifest.digest, size: i.manifest.size }));
  const where = outPath === undefined ? {} : format === 'oci' ? { layout: outPath } : { archives: written };
  return {
    index: { digest: built.index.digest, size: built.index.size },
    manifests,
    ...where,
    ...(pushed === undefined ? {} : { pushed: pushed[0]?.pinned, pushes: pushed.map((p) => p.pinned) }),
    // which source of the credentials chain each registry push used, never the secret
    ...(pushed?.some((p) => p.credentials !== undefined)
      ? { credentials: pushed.flatMap((p) => (p.credentials === undefined ? [] : [{ target: p.target, source: p.credentials }])) }
      : {}),
    timings: { ...built.timings, write: writeMs },
    ...(remoteCache === undefined ? {} : { remoteCache: { ...remoteCache } }),
  };
}

/** A line per platform (digest, layers, size, packages), the index, each file written and each pinned push. */
export async function printBuild(report: BuildReport): Promise<void> {
  for (const line of await buildLines(report)) out(line);
}

/** The lines printBuild prints. */
export async function buildLines({ built, format, written, pushed, remoteCache }: BuildReport): Promise<string[]> {
  const { archSlug } = await import('../debian/arch.js');
  return [
    ...built.images.map(
      (i) => `${archSlug(i.arch).padEnd(8)} ${i.manifest.digest}  ${i.layers} layers  ${formatBytes(i.size)}  ${i.packages} packages`,
    ),
    `index    ${built.index.digest}`,
    ...written.map(
      (file) => `wrote ${file} (${format}, tag ${built.recipe.tag}, SOURCE_DATE_EPOCH ${built.epoch.seconds} from ${built.epoch.from})`,
    ),
    ...(pushed ?? []).map((p) => p.pinned),
    ...(remoteCache === undefined ? [] : [remoteCacheLine(remoteCache)]),
  ];
}

/** `remote cache: 24 layers (0 by their record alone), 28.2 MB of layers read, 0 missing, 0 refused, 0 written`. */
export function remoteCacheLine(r: RemoteCacheReport): string {
  const warnings = r.warnings === 0 ? '' : `, ${r.warnings} warning${r.warnings === 1 ? '' : 's'}`;
  return `remote cache: ${r.hits} layers (${r.lazy} by their record alone), ${formatBytes(r.blobBytes)} of layers read, ${r.misses} missing, ${r.refused} refused, ${r.written} written${warnings}`;
}
