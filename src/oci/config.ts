import type { Digest } from './digest.js';
import { jsonBlob, sortedRecord, type JsonBlob } from './json.js';
import { MediaType } from './media-types.js';
import type { Platform } from './types.js';

/** One layer as the config records it: its diff_id and the history line that explains it. */
export interface ConfigLayer {
  diffId: Digest;
  /** e.g. `alba: libc6 2.36-9+deb12u4`. */
  createdBy: string;
  comment?: string;
}

/** What the image config of one platform says. */
export interface ImageConfigInput {
  /** Creation time in seconds since the epoch (the SOURCE_DATE_EPOCH of the build). */
  created: number;
  platform: Platform;
  user?: string;
  /** Environment in the order given; written as `KEY=value` lines. */
  env?: Record<string, string>;
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  /** Labels; written with sorted keys. */
  labels?: Record<string, string>;
  stopSignal?: string;
  layers: ConfigLayer[];
}

/** An OCI-style UTC timestamp without fractional seconds: `2024-02-10T22:33:13Z`. */
export function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The image config JSON value (members in the canonical order). */
export function imageConfig(input: ImageConfigInput): Record<string, unknown> {
  const created = rfc3339(input.created);
  const env = input.env === undefined ? [] : Object.entries(input.env).map(([k, v]) => `${k}=${v}`);
  return {
    created,
    architecture: input.platform.architecture,
    os: input.platform.os,
    ...(input.platform.variant === undefined ? {} : { variant: input.platform.variant }),
    config: {
      User: input.user,
      Env: env.length === 0 ? undefined : env,
      Entrypoint: input.entrypoint,
      Cmd: input.cmd,
      WorkingDir: input.workingDir,
      Labels: sortedRecord(input.labels),
      StopSignal: input.stopSignal,
    },
    rootfs: { type: 'layers', diff_ids: input.layers.map((l) => l.diffId) },
    history: input.layers.map((l) => ({ created, created_by: l.createdBy, comment: l.comment })),
  };
}

/** The image config as a blob (bytes + descriptor), ready to store and reference from a manifest. */
export function imageConfigBlob(input: ImageConfigInput): JsonBlob {
  return jsonBlob(imageConfig(input), MediaType.config);
}
