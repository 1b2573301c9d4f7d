import { cacheArea, defaultCacheDir } from '../cache.js';
import { AlbaError, redactUrl } from '../errors.js';
import type { BucketRemovalPlan, RegistryRemovalPlan } from '../lifecycle/removal-plan.js';
import type { RegistryClientOptions } from './registry/client.js';
import type { UntagMode } from './registry/registry-removal.js';
import { formatReference, parseReference, type ImageReference } from './registry/reference.js';
import { parseS3Target, refuseS3Credentials, s3CredentialsInUrl } from './s3/s3-target.js';
import type { Sink, TagStore } from './sink.js';
import { REPOSITORY_RE, userTagProblem } from '../oci/names.js';

/** Where a push goes. */
export type Target =
  | {
      kind: 'registry';
      ref: ImageReference;
      /** The tag the URL names, if any. */ tag?: string;
      /** True when the URL names no repository. */ bare: boolean;
    }
  | { kind: 'layout'; dir: string }
  | { kind: 's3'; url: string };

const TARGET_HINT = 'write docker://HOST[:PORT]/REPO[:TAG], oci:DIR or s3://BUCKET[/PREFIX]?endpoint=…';

/**
 * Parses a push target: `docker://HOST[:PORT][/REPO[:TAG]]` (`docker.io/x` is Docker Hub's
 * `library/x`), `oci:DIR`, `s3://BUCKET[/PREFIX]?…`. Anything else is USAGE.
 */
export function parseTarget(text: string): Target {
  refuseUserinfo(text);
  if (text.startsWith('oci:')) {
    const dir = text.slice('oci:'.length);
    if (dir === '') throw new AlbaError('USAGE', 'oci: needs a directory, e.g. oci:out/app', { hint: TARGET_HINT });
    return { kind: 'layout', dir };
  }
  // parsed whole now: a push names its targets as given, so one that is refused (an unknown parameter) is refused first
  if (text.startsWith('s3://')) return { kind: 's3', url: parseS3Target(text).url };
  if (text.startsWith('docker://')) {
    const rest = text.slice('docker://'.length).replace(/\/+$/, '');
    if (!rest.includes('/')) {
      // a bare registry host: the repository comes from -t NAME
      const probe = parseReference(`${rest}/x`);
      return { kind: 'registry', ref: { registry: probe.registry, repository: '' }, bare: true };
    }
    const ref = parseReference(rest);
    if (ref.digest !== undefined) throw new AlbaError('USAGE', `${text}: a push target cannot name a digest`, { hint: TARGET_HINT });
    const explicitTag = /:[^/]+$/.test(rest.slice(rest.indexOf('/') + 1));
    return {
      kind: 'registry',
      ref: { registry: ref.registry, repository: ref.repository },
      ...(explicitTag && ref.tag !== undefined ? { tag: ref.tag } : {}),
      bare: false,
    };
  }
  throw new AlbaError('USAGE', `not a push target: ${JSON.stringify(redactUrl(text))}`, { hint: TARGET_HINT });
}

/**
 * True when a `docker://` or `s3://` URL holds credentials: for docker, an `@` that does not start a
 * digest (`@sha256:…`); for s3, see `s3CredentialsInUrl`. A password may hold `/`, `?` or `@`:
 * what is not a digest counts.
 */
export function credentialsInUrl(text: string): boolean {
  if (text.startsWith('docker://')) return /@(?!sha(256|384|512):)/.test(text);
  return text.startsWith('s3://') && s3CredentialsInUrl(text);
}

/** `docker://user:pass@host/…` (or `s3://key:secret@…`): USAGE, naming the target without its credentials. */
function refuseUserinfo(text: string): void {
  if (text.startsWith('s3://')) return refuseS3Credentials(text);
  if (!credentialsInUrl(text)) return;
  throw new AlbaError(
    'USAGE',
    `${redactUrl(text)}: credentials in a target URL are refused (they would end up in shell history, CI logs and process lists)`,
    {
      hint: 'drop USER:PASSWORD@ and pass them as --creds, ALBA_REGISTRY_USER/ALBA_REGISTRY_PASSWORD, or a docker login (see docs/registry.md)',
    },
  );
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

/** How to open a push target. */
export interface SinkOptions {
  /** The `-t` tags: they name the repository when the target does not (a bare `docker://HOST`, `s3://…`). */
  tags: readonly ImageTag[];
  /** For S3: write the download pages (`v2/NAME/index.html`, the root `index.html`; default true). */
  pages?: boolean;
  /** For a registry: how to reach it (credentials already found). */
  registry?: (registry: string) => Promise<RegistryClientOptions>;
  /** For a registry: where the cross-repository mount hints are kept (default: defaultCacheDir()). */
  cacheDir?: string;
  /** For a registry: PATCH requests of at most this many bytes. */
  chunkSize?: number;
  /** For a registry: other repositories blobs may be mounted from. */
  mountFrom?: readonly string[];
  /** For a registry: how long an answer may stay silent before it is given up and retried. */
  idleMs?: number;
  onRetry?: (what: string, delayMs: number) => void;
  /** Told of every chunk of blob bytes sent (registry and S3). */
  onBytes?: (bytes: number) => void;
  log?: (line: string) => void;
}

/** An opened push target: the sink, the tags to give `publish`, and how to name what was pushed. */
export interface OpenedSink {
  sink: Sink;
  /** The tags to publish: the `-t` tags, and a registry URL's own tag. */
  tags: string[];
  /** `HOST/REPO@sha256:…`, `oci:DIR@sha256:…` or the static registry's name `@sha256:…`, for the pushed root digest. */
  pinned: (digest: string) => string;
  /** For a registry, after the push: true when a referrers tag was written (the registry has no referrers API). */
  referrersTag?: () => boolean | undefined;
}

/**
 * Opens the sink a push target names (`oci:DIR`, `docker://HOST[/REPO[:TAG]]`, `s3://…`; see
 * parseTarget): a layout, a registry repository (with the mount hints of the cache), or an S3
 * static registry. A bare registry host and S3 take the repository from the one NAME of `tags`.
 * A new kind of sink is one more branch here. The AWS SDK is loaded only for s3:// targets.
 */
export async function openSink(targetText: string, options: SinkOptions): Promise<OpenedSink> {
  const target = parseTarget(targetText);
  const tags = options.tags.map((t) => t.tag);
  const log = options.log ?? (() => undefined);
  if (target.kind === 'layout') {
    someTags(tags);
    const { openLayoutSink } = await import('./layout/layout-sink.js');
    return { sink: await openLayoutSink({ dir: target.dir, log }), tags, pinned: (digest) => `oci:${target.dir}@${digest}` };
  }
  if (target.kind === 'registry') {
    const names = [...new Set(options.tags.map((t) => t.name).filter((n): n is string => n !== undefined))];
    if (target.bare && names.length !== 1)
      throw new AlbaError(
        'USAGE',
        `${targetText} names no repository, and -t gives ${names.length === 0 ? 'no NAME' : `several (${names.join(', ')})`}`,
        { hint: 'write -t NAME:TAG, or put the repository in the target: docker://HOST/REPO' },
      );
    const ref = target.bare ? parseReference(`${target.ref.registry}/${names[0]}`) : target.ref;
    const registryTags = someTags([...new Set([...tags, ...(target.tag === undefined ? [] : [target.tag])])]);
    const [{ loadMountHints }, { openRegistrySink }] = await Promise.all([
      import('./registry/mount-hints.js'),
      import('./registry/registry-sink.js'),
    ]);
    const sink = await openRegistrySink(ref, {
      ...(await options.registry?.(ref.registry)),
      ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
      ...(options.mountFrom === undefined ? {} : { mountFrom: options.mountFrom }),
      mounts: await loadMountHints(cacheArea(options.cacheDir ?? defaultCacheDir(), 'mounts'), ref.registry),
      ...(options.onBytes === undefined ? {} : { onBytes: options.onBytes }),
      ...(options.idleMs === undefined ? {} : { idleMs: options.idleMs }),
      ...(options.onRetry === undefined ? {} : { onRetry: options.onRetry }),
      log,
    });
    const base = formatReference({ registry: ref.registry, repository: ref.repository });
    return {
      sink,
      tags: registryTags,
      pinned: (digest) => `${base}@${digest}`,
      referrersTag: () => {
        const api = sink.referrersApi();
        return api === undefined ? undefined : !api;
      },
    };
  }
  const names = [...new Set(options.tags.map((t) => t.name))];
  const name = names[0];
  if (names.length !== 1 || name === undefined) {
    throw new AlbaError(
      'USAGE',
      `an S3 push needs one NAME in -t NAME:TAG, got ${names.filter((n) => n !== undefined).join(', ') || 'none'}`,
      { hint: 'e.g. -t albatros:0.9' },
    );
  }
  if (!REPOSITORY_RE.test(name))
    throw new AlbaError('USAGE', `-t ${name}: not a repository name (lowercase letters, digits, . _ - /)`, {
      hint: 'e.g. -t team/app:1.0',
    });
  someTags(tags);
  // the AWS SDK is large: loaded only for S3 targets
  const [{ parseS3Target }, { openStaticRegistrySink }] = await Promise.all([
    import('./s3/s3-target.js'),
    import('./s3/static-registry.js'),
  ]);
  const sink = await openStaticRegistrySink(parseS3Target(target.url), name, {
    ...(options.onBytes === undefined ? {} : { onBytes: options.onBytes }),
    ...(options.pages === false ? { pages: false } : {}),
    log,
  });
  return { sink, tags, pinned: (digest) => `${sink.name}@${digest}` };
}

function someTags(tags: string[]): string[] {
  if (tags.length === 0) throw new AlbaError('USAGE', 'nothing to tag: give at least one -t NAME:TAG', { hint: 'e.g. -t app:1.0' });
  return tags;
}

/** Which tags a TagStore holds: an image repository (`container`), or static binaries (`static`, under `prefix`). */
export type TagStoreKind =
  | { kind: 'container'; name: string }
  | { kind: 'static'; name: string; /** Key prefix (default `df-dist-v1`). */ prefix?: string | undefined };

/** How to open a TagStore. */
export interface TagStoreOptions {
  /** For a registry: how to reach it (credentials already found). */
  registry?: (registry: string) => Promise<RegistryClientOptions>;
  /** For a registry removal: how a tag whose digest stays is taken away (default placeholder). */
  untag?: UntagMode;
  /** Only list (a registry is then asked for pull access only). */
  readOnly?: boolean;
}

/**
 * Opens the tags of `what` at `targetText` (`docker://HOST[/REPO]` or `s3://…`) for ls, rm and gc:
 * a registry repository, an image repository of a static registry, or a static NAME.
 */
export async function openTagStore(
  targetText: string,
  what: TagStoreKind,
  options: TagStoreOptions = {},
): Promise<TagStore<BucketRemovalPlan> | TagStore<RegistryRemovalPlan>> {
  const target = parseTarget(targetText);
  if (what.kind === 'static' && target.kind !== 's3')
    throw new AlbaError('USAGE', `static binaries live on S3, and ${targetText} is not an s3:// URL`, {
      hint: 's3://BUCKET[/PREFIX]?endpoint=HOST&region=R&s3ForcePathStyle=true',
    });
  if (target.kind === 's3') {
    const [{ parseS3Target, keyOf }, { S3Store }] = await Promise.all([import('./s3/s3-target.js'), import('./s3/s3-store.js')]);
    const s3 = parseS3Target(target.url);
    const store = new S3Store(s3);
    await store.checkBucket();
    if (what.kind === 'static') {
      const [{ StaticNameStore }, { checkStaticPrefix, checkStaticReference, DEFAULT_STATIC_PREFIX }] = await Promise.all([
        import('./s3/static-store.js'),
        import('./s3/static-binaries.js'),
      ]);
      checkStaticReference(what.name);
      const prefix = (what.prefix ?? DEFAULT_STATIC_PREFIX).replace(/^\/+|\/+$/g, '');
      checkStaticPrefix(prefix, what.name);
      return new StaticNameStore(store, keyOf(s3, `${prefix}/${what.name}`));
    }
    const { BucketImageStore } = await import('./s3/image-store.js');
    return new BucketImageStore(store, keyOf(s3, `v2/${checkRepository(what.name)}/`));
  }
  if (target.kind === 'registry') {
    const named = parseReference(`${target.ref.registry}/${what.name}`);
    // docker://HOST/REPO with -t OTHER: never list or remove another repository than the one asked
    if (!target.bare && (named.repository !== target.ref.repository || target.tag !== undefined))
      throw new AlbaError(
        'USAGE',
        `${targetText} names ${target.tag === undefined ? `the repository ${target.ref.repository}` : `the tag ${target.tag}`}, and -t names ${what.name}`,
        {
          hint: `name the repository once: -t ${what.name}… docker://${target.ref.registry} (or the same repository in both, without a tag in the URL)`,
        },
      );
    const ref = target.bare ? named : target.ref;
    const [{ RegistryClient }, { RegistryRepoStore }] = await Promise.all([
      import('./registry/client.js'),
      import('./registry/registry-removal.js'),
    ]);
    const client = new RegistryClient(ref, {
      ...(await options.registry?.(ref.registry)),
      ...(options.readOnly === true ? {} : { push: true, delete: true }),
    });
    await client.ping();
    return new RegistryRepoStore(client, options.untag);
  }
  throw new AlbaError('USAGE', `${targetText}: tags are listed and removed on docker:// and s3:// targets`, {
    hint: 'a layout is a directory: read its index.json, delete it, or build it again',
  });
}

function checkRepository(name: string): string {
  if (!REPOSITORY_RE.test(name))
    throw new AlbaError('USAGE', `${JSON.stringify(name)} is not a repository name`, {
      hint: 'lowercase path components separated by /, e.g. team/app',
    });
  return name;
}
