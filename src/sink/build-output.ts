import { imageGraphOf, type ImageGraph } from '../oci/graph.js';
import { openArchiveSink } from './archive/archive-sink.js';
import { platformRefName } from './layout/layout-refs.js';
import { openLayoutSink } from './layout/layout-sink.js';
import { publish } from './publish.js';

/** The forms `alba build --format` writes. */
export type OutputFormat = 'oci' | 'oci-archive' | 'docker-archive';

/** Where and how to write a graph as files. */
export interface OutputOptions {
  format: OutputFormat;
  /** The layout directory (oci), or the tar file (archives). */
  out: string;
  /** The tag of the layout's or archive's root (a recipe's `tag`). */
  tag: string;
  /** docker-archive: the `NAME:TAG` its `RepoTags` lists. */
  repoTag?: string;
  log?: (line: string) => void;
  /** oci: the stat index of the blobs verified (see openLayoutSink). */
  statIndex?: string;
  /** oci: called once the layout is written, while no other alba may write it (see openLayoutSink). */
  committed?: (dir: string) => void;
}

/**
 * Writes a graph as files: an OCI layout directory (oci), one tar of it (oci-archive), or
 * docker-archive tars, one per platform when there are several (the platform goes into the file
 * name: `busybox-linux-arm64.tar`). Returns the paths written.
 */
export async function writeOutput(graph: ImageGraph, options: OutputOptions): Promise<string[]> {
  const { format, out, tag } = options;
  if (format === 'oci') {
    const sink = await openLayoutSink({
      dir: out,
      ...(options.log === undefined ? {} : { log: options.log }),
      ...(options.statIndex === undefined ? {} : { statIndex: options.statIndex }),
      ...(options.committed === undefined ? {} : { committed: options.committed }),
    });
    await publish(graph, sink, [tag]);
    return [out];
  }
  if (format === 'oci-archive') {
    await publish(graph, await openArchiveSink({ file: out, format }), [tag], { concurrency: 1 });
    return [out];
  }
  const written: string[] = [];
  for (const image of graph.images) {
    const platform = image.manifest.descriptor.platform;
    const file = graph.images.length === 1 || platform === undefined ? out : `${platformRefName(out.replace(/\.tar$/, ''), platform)}.tar`;
    await publish(
      imageGraphOf(graph, image),
      await openArchiveSink({ file, format, ...(options.repoTag === undefined ? {} : { repoTags: [options.repoTag] }) }),
      [tag],
      { concurrency: 1 },
    );
    written.push(file);
  }
  return written;
}
