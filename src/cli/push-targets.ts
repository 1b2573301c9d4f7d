import type { Command } from 'commander';
import { AlbaError, asAlbaError } from '../errors.js';
import type { PushOutputFiles } from '../ci/outputs.js';
import type { ImageGraph } from '../oci/graph.js';
import type { ImageTag } from '../sink/target.js';
import { given, stderrLog } from './args.js';
import { pushGraph, type PushFlags, type PushOutcome } from './push.js';

/** The options of what a push leaves for the next CI job (`alba build --push`, `alba container push`). */
export function withPushOutputOptions(command: Command): Command {
  return command
    .option('--digest-file <file>', 'after a successful push, write the pushed digest (sha256:…) to FILE')
    .option('--image-name-with-digest-file <file>', 'after a successful push, write HOST/REPO@sha256:… (one line per target) to FILE')
    .option('--metadata-file <file>', 'after a successful push, write JSON (digest, platforms, and per target name, tags, digest) to FILE');
}

/** Those options as commander gives them. */
export interface PushOutputFlags {
  digestFile?: string;
  imageNameWithDigestFile?: string;
  metadataFile?: string;
}

/** The output files need a push: `--digest-file` without `--push` is USAGE, not a file silently never written. */
export function checkPushOutputFlags(flags: PushOutputFlags, pushing: boolean): void {
  const given = Object.entries({
    '--digest-file': flags.digestFile,
    '--image-name-with-digest-file': flags.imageNameWithDigestFile,
    '--metadata-file': flags.metadataFile,
  }).find(([, v]) => v !== undefined);
  if (!pushing && given !== undefined)
    throw new AlbaError('USAGE', `${given[0]} is written after a push, and there is no --push`, {
      hint: 'add --push TARGET, or drop the option',
    });
}

/**
 * Pushes `graph` to every target at once, each with its own publish walk over the same graph
 * (the blobs are the cache's files: built or converted once, read by each walk, the second time
 * from the page cache). A failed target does not stop the others: the summary names each
 * target's outcome, then the (first) failure is thrown. The output files are written only when
 * every target succeeded.
 */
export async function pushTargets(
  graph: ImageGraph,
  targets: readonly string[],
  tags: ImageTag[],
  flags: PushFlags & PushOutputFlags,
  /** The graph for one target, when it depends on it (signatures name the target's repository: trust/sign-push.ts). */
  graphFor?: (target: string) => Promise<ImageGraph>,
): Promise<PushOutcome[]> {
  const several = targets.length > 1;
  const settled = await Promise.allSettled(
    targets.map(async (t) => pushGraph((await graphFor?.(t)) ?? graph, t, tags, flags, several ? { progress: false } : {})),
  );
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  const outcomes = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (several || failures.length > 0)
    settled.forEach((s, i) =>
      stderrLog(s.status === 'fulfilled' ? `✅ ${targets[i]}: pushed ${s.value.pinned}` : `❌ ${targets[i]}: ${message(s.reason)}`),
    );
  if (failures.length > 0) {
    if (several) stderrLog(`${outcomes.length} of ${targets.length} targets pushed; no output file written`);
    throw failures[0];
  }
  const files: PushOutputFiles = {
    ...given('digestFile', flags.digestFile),
    ...given('imageNameWithDigestFile', flags.imageNameWithDigestFile),
    ...given('metadataFile', flags.metadataFile),
  };
  if (Object.keys(files).length > 0) {
    const { pushMetadata, writePushOutputs } = await import('../ci/outputs.js');
    const metadata = pushMetadata(
      graph,
      outcomes.map((o, i) => ({ target: targets[i] ?? o.target, name: o.target, pinned: o.pinned, tags: o.result.tags })),
    );
    for (const file of await writePushOutputs(files, metadata)) stderrLog(`wrote ${file}`);
  }
  return outcomes;
}

/** A target's failure on its summary line: `error[CODE]: message` as alba prints errors. */
function message(reason: unknown): string {
  const err = asAlbaError(reason);
  return err instanceof AlbaError ? `error[${err.code}]: ${err.message}` : err instanceof Error ? err.message : String(err);
}
