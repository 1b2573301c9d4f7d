import { cacheArea, defaultCacheDir } from '../cache.js';
import { AlbaError } from '../errors.js';
import type { ImageGraph } from '../oci/graph.js';
import { openLayoutSink } from '../sink/layout/layout-sink.js';
import { publish, type PublishEvent, type PublishResult } from '../sink/publish.js';
import { loadMountHints } from '../sink/registry/mount-hints.js';
import { formatReference, parseReference } from '../sink/registry/reference.js';
import { openRegistrySink } from '../sink/registry/registry-sink.js';
import type { Sink } from '../sink/sink.js';
import { parseTarget } from '../sink/target.js';
import { REPOSITORY_RE, userTagProblem } from '../oci/names.js';
import { formatBytes, Progress } from './progress.js';
import { registryClientOptions, type RegistryAccess } from './registry-flags.js';
import type { Platform } from '../oci/types.js';

/** Options of a push shared by `alba container push` and `alba build --push`. */
export interface PushFlags extends RegistryAccess {
  chunkSize?: number;
  concurrency?: number;
  mountFrom?: string[];
  cacheDir?: string;
}

/** What a push did, for the trace and --json. */
export interface PushOutcome {
  /** `HOST/REPO@sha256:…` for a registry, `oci:DIR@sha256:…` for a layout. */
  pinned: string;
  result: PublishResult;
  target: string;
  referrersTag?: boolean;
}

/** One `-t NAME:TAG` (or `-t TAG` when the target names the repository). */
export interface ImageTag {
  name?: string;
  tag: string;
}

/** Parses `-t` values: `NAME:TAG` or `TAG`; an invalid tag or a referrers tag (`sha256-<hex>`) is USAGE (a `+` gets its own hint). */
export function parseTags(values: readonly string[]): ImageTag[] {
  return values.map((value) => {
    const colon = value.lastIndexOf(':');
    const name = colon === -1 ? undefined : value.slice(0, colon);
    const tag = colon === -1 ? value : value.slice(colon + 1);
    const bad = userTagProblem(tag);
    if (bad !== undefined) throw new AlbaError('USAGE', `-t ${value}: ${bad.problem}`, { hint: bad.hint });
    return { ...(name === undefined || name === '' ? {} : { name }), tag };
  });
}

/**
 * Publishes `graph` to `targetText` under `tags`, printing a trace on stderr through `log`:
 * per platform, how many blobs were sent, skipped and mounted.
 */
export async function pushGraph(graph: ImageGraph, targetText: string, tags: ImageTag[], flags: PushFlags, log: (line: string) => void): Promise<PushOutcome> {
  const target = parseTarget(targetText);
  const trace = new Trace();
  const total = totalBlobBytes(graph);
  let done = 0;
  let sent = 0;
  const progress = new Progress((elapsed) => `pushing: ${formatBytes(done + sent)} of ${formatBytes(total)}, ${formatBytes(sent / Math.max(elapsed, 0.001))}/s`);
  const options = {
    ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
    onEvent: (e: PublishEvent) => {
      trace.add(e);
      if (e.kind === 'blob' && e.outcome !== 'sent') done += e.descriptor.size;
      progress.update();
    },
  };
  let sink: Sink;
  let pinnedBase: string;
  let tagNames = tags.map((t) => t.tag);
  let referrersApi: (() => boolean | undefined) | undefined;
  if (target.kind === 'layout') {
    sink = await openLayoutSink({ dir: target.dir, log });
    pinnedBase = `oci:${target.dir}`;
  } else if (target.kind === 'registry') {
    const names = [...new Set(tags.map((t) => t.name).filter((n): n is string => n !== undefined))];
    let ref = target.ref;
    if (target.bare) {
      if (names.length !== 1) throw new AlbaError('USAGE', `${targetText} names no repository, and -t gives ${names.length === 0 ? 'no NAME' : `several (${names.join(', ')})`}`, { hint: 'write -t NAME:TAG, or put the repository in the target: docker://HOST/REPO' });
      ref = parseReference(`${target.ref.registry}/${names[0]}`);
    }
    tagNames = [...new Set([...tagNames, ...(target.tag === undefined ? [] : [target.tag])])];
    const mounts = await loadMountHints(cacheArea(flags.cacheDir ?? defaultCacheDir(), 'mounts'), ref.registry);
    const registrySink = await openRegistrySink(ref, {
      ...(await registryClientOptions(ref.registry, flags)),
      ...(flags.chunkSize === undefined ? {} : { chunkSize: flags.chunkSize }),
      ...(flags.mountFrom === undefined ? {} : { mountFrom: flags.mountFrom }),
      mounts,
      onBytes: (n) => {
        sent += n;
        progress.update();
      },
      ...idleFromEnv(),
      onRetry: (what, delay) => log(`retrying in ${(delay / 1000).toFixed(1)} s: ${what}`),
      log,
    });
    sink = registrySink;
    referrersApi = registrySink.referrersApi;
    pinnedBase = formatReference({ registry: ref.registry, repository: ref.repository });
  } else {
    const names = [...new Set(tags.map((t) => t.name))];
    const name = names[0];
    if (names.length !== 1 || name === undefined) {
      throw new AlbaError('USAGE', `an S3 push needs one NAME in -t NAME:TAG, got ${names.filter((n) => n !== undefined).join(', ') || 'none'}`, { hint: 'e.g. -t albatros:0.9' });
    }
    if (!REPOSITORY_RE.test(name)) throw new AlbaError('USAGE', `-t ${name}: not a repository name (lowercase letters, digits, . _ - /)`, { hint: 'e.g. -t team/app:1.0' });
    // the AWS SDK is large: loaded only for S3 targets
    const { parseS3Target } = await import('../sink/s3/s3-target.js');
    const { openStaticRegistrySink } = await import('../sink/s3/static-registry.js');
    sink = await openStaticRegistrySink(parseS3Target(target.url), name, {
      onBytes: (n) => {
        sent += n;
        progress.update();
      },
      log,
    });
    pinnedBase = sink.name;
  }
  if (tagNames.length === 0) throw new AlbaError('USAGE', 'nothing to tag: give at least one -t NAME:TAG', { hint: 'e.g. -t app:1.0' });
  log(`--- push to ${sink.name} ---`);
  const result = await publish(graph, sink, tagNames, options).finally(() => progress.clear());
  for (const line of trace.lines()) log(line);
  const api = referrersApi?.();
  return {
    pinned: `${pinnedBase}@${result.root.digest}`,
    result,
    target: sink.name,
    ...(api === undefined ? {} : { referrersTag: !api }),
  };
}

/** The bytes of every distinct blob of the graph (what a first push sends). */
function totalBlobBytes(graph: ImageGraph): number {
  const sizes = new Map<string, number>();
  for (const node of [...graph.images, ...graph.referrers]) for (const b of node.blobs) sizes.set(b.descriptor.digest, b.descriptor.size);
  return [...sizes.values()].reduce((a, b) => a + b, 0);
}

/** Counts of outcomes per platform, in the order platforms appear. */
class Trace {
  private readonly rows = new Map<string, Record<string, number>>();

  add(e: PublishEvent): void {
    const key = e.kind === 'blob' ? `blob ${e.platform === undefined ? 'artifacts' : platformText(e.platform)}` : e.kind === 'tag' ? 'tags' : `${e.kind}s`;
    const row = this.rows.get(key) ?? {};
    row[e.outcome] = (row[e.outcome] ?? 0) + 1;
    this.rows.set(key, row);
  }

  lines(): string[] {
    return [...this.rows].map(([key, row]) => `[${key}] ${Object.entries(row).map(([k, n]) => `${n} ${k}`).join(', ')}`);
  }
}

function platformText(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant === undefined ? [] : [p.variant])].join('/');
}

/** `ALBA_HTTP_IDLE_TIMEOUT` (seconds): how long an answer may stay silent before alba gives up on it and retries. */
function idleFromEnv(): { idleMs?: number } {
  const value = Number(process.env.ALBA_HTTP_IDLE_TIMEOUT);
  return Number.isFinite(value) && value > 0 ? { idleMs: value * 1000 } : {};
}
