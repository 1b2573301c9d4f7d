import type { ImageGraph } from '../oci/graph.js';
import type { Platform } from '../oci/types.js';
import type { PublishEvent, PublishResult } from '../sink/publish.js';
import type { ImageTag } from '../sink/target.js';
import { formatBytes } from '../util/format-bytes.js';
import { given, stderrLog } from './args.js';
import { Progress } from './progress.js';
import { registryOption, type RegistryFlagValues } from './registry-flags.js';

/** Options of a push shared by `alba container push` and `alba build --push`. */
export interface PushFlags extends RegistryFlagValues {
  chunkSize?: number;
  concurrency?: number;
  mountFrom?: string[];
  cache?: string;
  /** false with --no-pages: an S3 push leaves the download pages alone. */
  pages?: boolean;
}

/** What a push did, for the trace and --json. */
export interface PushOutcome {
  /** `HOST/REPO@sha256:…` for a registry, `oci:DIR@sha256:…` for a layout. */
  pinned: string;
  result: PublishResult;
  target: string;
  referrersTag?: boolean;
  /** Which source of the credentials chain was used for the registry (never the secret), e.g. `CI_JOB_TOKEN`. */
  credentials?: string;
}

/** How pushGraph reports. */
export interface PushReport {
  /** Draw the progress line (default true; off when several targets push at once). */
  progress?: boolean;
}

/** Publishes `graph` to `targetText` under `tags`, with a progress line, then a trace per platform on stderr (blobs sent, skipped, mounted). */
export async function pushGraph(
  graph: ImageGraph,
  targetText: string,
  tags: ImageTag[],
  flags: PushFlags,
  report: PushReport = {},
): Promise<PushOutcome> {
  const [{ openSink }, { publish }] = await Promise.all([import('../sink/target.js'), import('../sink/publish.js')]);
  const total = totalBlobBytes(graph);
  let done = 0;
  let sent = 0;
  const progress = new Progress(
    (elapsed) => `pushing: ${formatBytes(done + sent)} of ${formatBytes(total)}, ${formatBytes(sent / Math.max(elapsed, 0.001))}/s`,
    report.progress === false ? ({ isTTY: false } as NodeJS.WriteStream) : process.stderr,
  );
  let credentials: string | undefined;
  const opened = await openSink(targetText, {
    tags,
    registry: registryOption(flags, (host, source) => {
      credentials = source;
      stderrLog(`credentials for ${host}: ${source}`);
    }),
    ...given('cacheDir', flags.cache),
    ...given('chunkSize', flags.chunkSize),
    ...given('mountFrom', flags.mountFrom),
    ...given('pages', flags.pages),
    onBytes: (n) => {
      sent += n;
      progress.update();
    },
    onRetry: (what, delay) => stderrLog(`retrying in ${(delay / 1000).toFixed(1)} s: ${what}`),
    log: stderrLog,
  });
  const trace = new Map<string, Record<string, number>>();
  const onEvent = (e: PublishEvent): void => {
    const key =
      e.kind === 'blob'
        ? `blob ${e.platform === undefined ? 'artifacts' : platformText(e.platform)}`
        : e.kind === 'tag'
          ? 'tags'
          : `${e.kind}s`;
    const row = trace.get(key) ?? {};
    row[e.outcome] = (row[e.outcome] ?? 0) + 1;
    trace.set(key, row);
    if (e.kind === 'blob' && e.outcome !== 'sent') done += e.descriptor.size;
    progress.update();
  };
  const result = await publish(graph, opened.sink, opened.tags, { ...given('concurrency', flags.concurrency), onEvent }).finally(() =>
    progress.clear(),
  );
  stderrLog(`--- push to ${opened.sink.name} ---`);
  for (const [key, row] of trace)
    stderrLog(
      `[${key}] ${Object.entries(row)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ')}`,
    );
  const referrersTag = opened.referrersTag?.();
  return {
    pinned: opened.pinned(result.root.digest),
    result,
    target: opened.sink.name,
    ...given('referrersTag', referrersTag),
    ...given('credentials', credentials),
  };
}

/** The bytes of every distinct blob of the graph (what a first push sends). */
function totalBlobBytes(graph: ImageGraph): number {
  const sizes = new Map<string, number>();
  for (const node of [...graph.images, ...graph.referrers]) for (const b of node.blobs) sizes.set(b.descriptor.digest, b.descriptor.size);
  return [...sizes.values()].reduce((a, b) => a + b, 0);
}

function platformText(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant === undefined ? [] : [p.variant])].join('/');
}
