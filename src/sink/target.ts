import { AlbaError } from '../errors.js';
import type { BucketRemovalPlan, RegistryRemovalPlan } from '../lifecycle/removal-plan.js';
import type { RegistryClientOptions } from './registry/client.js';
import type { UntagMode } from './registry/registry-removal.js';
import { parseReference, type ImageReference } from './registry/reference.js';
import type { TagStore } from './sink.js';
import { REPOSITORY_RE } from '../oci/names.js';

/** Where a push goes. */
export type Target =
  | { kind: 'registry'; ref: ImageReference; /** The tag the URL names, if any. */ tag?: string; /** True when the URL names no repository. */ bare: boolean }
  | { kind: 'layout'; dir: string }
  | { kind: 's3'; url: string };

const TARGET_HINT = 'write docker://HOST[:PORT]/REPO[:TAG], oci:DIR or s3://BUCKET[/PREFIX]?endpoint=…';

/**
 * Parses a push target: `docker://HOST[:PORT][/REPO[:TAG]]` (`docker.io/x` is Docker Hub's
 * `library/x`), `oci:DIR`, `s3://BUCKET[/PREFIX]?…`. Anything else is USAGE.
 */
export function parseTarget(text: string): Target {
  if (text.startsWith('oci:')) {
    const dir = text.slice('oci:'.length);
    if (dir === '') throw new AlbaError('USAGE', 'oci: needs a directory, e.g. oci:out/app', { hint: TARGET_HINT });
    return { kind: 'layout', dir };
  }
  if (text.startsWith('s3://')) return { kind: 's3', url: text };
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
    return { kind: 'registry', ref: { registry: ref.registry, repository: ref.repository }, ...(explicitTag && ref.tag !== undefined ? { tag: ref.tag } : {}), bare: false };
  }
  throw new AlbaError('USAGE', `not a push target: ${JSON.stringify(text)}`, { hint: TARGET_HINT });
}

/** Which tags a TagStore holds: an image repository (`container`), or static binaries (`static`, under `prefix`). */
export type TagStoreKind = { kind: 'container'; name: string } | { kind: 'static'; name: string; prefix: string };

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
export async function openTagStore(targetText: string, what: TagStoreKind, options: TagStoreOptions = {}): Promise<TagStore<BucketRemovalPlan> | TagStore<RegistryRemovalPlan>> {
  const target = parseTarget(targetText);
  if (what.kind === 'static' && target.kind !== 's3') throw new AlbaError('USAGE', `static binaries live on S3, and ${targetText} is not an s3:// URL`, { hint: 's3://BUCKET[/PREFIX]?endpoint=HOST&region=R&s3ForcePathStyle=true' });
  if (target.kind === 's3') {
    const [{ parseS3Target, keyOf }, { S3Store }] = await Promise.all([import('./s3/s3-target.js'), import('./s3/s3-store.js')]);
    const s3 = parseS3Target(target.url);
    const store = new S3Store(s3);
    await store.checkBucket();
    if (what.kind === 'static') {
      const [{ StaticNameStore }, { checkStaticReference }] = await Promise.all([import('./s3/static-store.js'), import('./s3/static-binaries.js')]);
      checkStaticReference(what.name);
      return new StaticNameStore(store, keyOf(s3, `${what.prefix}/${what.name}`));
    }
    const { BucketImageStore } = await import('./s3/image-store.js');
    return new BucketImageStore(store, keyOf(s3, `v2/${checkRepository(what.name)}/`));
  }
  if (target.kind === 'registry') {
    const ref = target.bare ? parseReference(`${target.ref.registry}/${what.name}`) : target.ref;
    const [{ RegistryClient }, { RegistryRepoStore }] = await Promise.all([import('./registry/client.js'), import('./registry/registry-removal.js')]);
    const client = new RegistryClient(ref, { ...(await options.registry?.(ref.registry)), ...(options.readOnly === true ? {} : { push: true, delete: true }) });
    await client.ping();
    return new RegistryRepoStore(client, options.untag);
  }
  throw new AlbaError('USAGE', `${targetText}: tags are listed and removed on docker:// and s3:// targets`, { hint: 'a layout is a directory: read its index.json, delete it, or build it again' });
}

function checkRepository(name: string): string {
  if (!REPOSITORY_RE.test(name)) throw new AlbaError('USAGE', `${JSON.stringify(name)} is not a repository name`, { hint: 'lowercase path components separated by /, e.g. team/app' });
  return name;
}
