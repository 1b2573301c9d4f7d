/**
 * What a CI job hands to the next one after a push (docs/ci.md): the digest (`--digest-file`),
 * `HOST/REPO@sha256:…` per target (`--image-name-with-digest-file`) and a JSON description of
 * every target (`--metadata-file`). Written only when every target succeeded, each file atomically.
 */
import { resolve } from 'node:path';
import type { ImageGraph } from '../oci/graph.js';
import type { Platform } from '../oci/types.js';
import { writeOutputFile } from '../util/output-file.js';

/** Where to write what (each optional). */
export interface PushOutputFiles {
  digestFile?: string;
  imageNameWithDigestFile?: string;
  metadataFile?: string;
}

/** One target that was pushed. */
export interface PushedTarget {
  /** The target as the user wrote it (no credentials: they are refused in target URLs). */
  target: string;
  /** `HOST/REPO`, `oci:DIR` or the static registry's name. */
  name: string;
  /** `NAME@sha256:…`. */
  pinned: string;
  tags: readonly string[];
}

/** The `--metadata-file` document. */
export interface PushMetadata {
  /** The root digest (the index's for a multi-arch image), the same on every target. */
  digest: string;
  mediaType: string;
  platforms: { platform: string; digest: string; size: number }[];
  targets: { target: string; name: string; tags: string[]; digest: string; pinned: string }[];
}

/** The metadata of `graph` pushed to `targets`. */
export function pushMetadata(graph: ImageGraph, targets: readonly PushedTarget[]): PushMetadata {
  const root = graph.root.descriptor;
  const platforms = (graph.images.length > 0 ? graph.images : []).map((i) => ({
    platform: platformText(i.manifest.descriptor.platform),
    digest: i.manifest.descriptor.digest,
    size: i.manifest.descriptor.size,
  }));
  return {
    digest: root.digest,
    mediaType: root.mediaType,
    platforms,
    targets: targets.map((t) => ({ target: t.target, name: t.name, tags: [...t.tags], digest: root.digest, pinned: t.pinned })),
  };
}

/** Writes the files asked for; returns their paths. */
export async function writePushOutputs(files: PushOutputFiles, metadata: PushMetadata): Promise<string[]> {
  const contents: [string | undefined, string][] = [
    [files.digestFile, `${metadata.digest}\n`],
    [files.imageNameWithDigestFile, metadata.targets.map((t) => `${t.pinned}\n`).join('')],
    [files.metadataFile, `${JSON.stringify(metadata, null, 2)}\n`],
  ];
  const written: string[] = [];
  for (const [file, text] of contents) {
    if (file === undefined) continue;
    const path = resolve(file);
    await writeOutputFile(path, text);
    written.push(path);
  }
  return written;
}

function platformText(p: Platform | undefined): string {
  return p === undefined ? 'unknown' : [p.os, p.architecture, ...(p.variant === undefined ? [] : [p.variant])].join('/');
}
