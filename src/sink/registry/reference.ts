import { AlbaError, withoutUserPart } from '../../errors.js';
import { parseDigest, type Digest } from '../../oci/digest.js';
import { REPOSITORY_RE, userTagProblem } from '../../oci/names.js';

/** A parsed image reference: `host[:port]/name[:tag][@digest]`. */
export interface ImageReference {
  /** Registry host as written (`127.0.0.1:5000`, `ghcr.io`), `docker.io` when the reference names none. */
  registry: string;
  /** Repository name inside the registry (`team/app`; `library/x` for a one-part Docker Hub name). */
  repository: string;
  /** The tag, when the reference has one (`latest` when it has neither tag nor digest). */
  tag?: string;
  /** The digest, when the reference has one; it wins over the tag. */
  digest?: Digest;
}

const DOCKER_HUB = 'docker.io';
const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]+)?$/;
const REFERENCE_HINT = 'write the image as HOST[:PORT]/NAME[:TAG] or HOST[:PORT]/NAME@sha256:<hex>, e.g. 127.0.0.1:5000/team/app:1.0';

/**
 * Parses an image reference the way Docker does: the first path component is the registry when
 * it has a `.` or `:` or is `localhost`; otherwise the registry is Docker Hub. Invalid input is
 * USAGE, and so is a tag in the referrers namespace (`sha256-<hex>`: alba's, not a user's).
 */
export function parseReference(input: string): ImageReference {
  // shown without what comes up to an `@` that starts no digest: `user:password@host/…` is never printed
  const shown = withoutUserPart(input);
  const invalid = (why: string, hint = REFERENCE_HINT): AlbaError =>
    new AlbaError('USAGE', `not an image reference: ${JSON.stringify(shown)} (${why})`, { hint });
  const at = input.indexOf('@');
  const beforeDigest = at === -1 ? input : input.slice(0, at);
  let digest: Digest | undefined;
  if (at !== -1) {
    try {
      digest = parseDigest(input.slice(at + 1));
    } catch {
      throw invalid('the digest must be sha256:<64 lowercase hex>');
    }
  }
  const slash = beforeDigest.indexOf('/');
  const first = slash === -1 ? '' : beforeDigest.slice(0, slash);
  const hasHost = slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasHost ? first : DOCKER_HUB;
  if (!HOST_RE.test(registry)) throw invalid(`bad registry host ${JSON.stringify(withoutUserPart(registry))}`);
  const remainder = hasHost ? beforeDigest.slice(slash + 1) : beforeDigest;
  const colon = remainder.lastIndexOf(':');
  const name = colon === -1 ? remainder : remainder.slice(0, colon);
  const tag = colon === -1 ? undefined : remainder.slice(colon + 1);
  if (!REPOSITORY_RE.test(name)) throw invalid(`bad repository name ${JSON.stringify(name)}: lowercase letters, digits and . _ - / only`);
  const badTag = tag === undefined ? undefined : userTagProblem(tag);
  if (badTag !== undefined) throw invalid(`bad tag ${badTag.problem}`, badTag.hint);
  const repository = registry === DOCKER_HUB && !name.includes('/') ? `library/${name}` : name;
  return {
    registry,
    repository,
    ...(tag === undefined && digest === undefined ? { tag: 'latest' } : tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** The reference as text: `registry/repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** What a manifest GET names: the digest when there is one, else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/**
 * The base URL of a registry's API (no trailing slash): plain http when `plainHttp`, or for
 * loopback hosts (localhost, 127.0.0.0/8, [::1]) unless `tls` (a TLS option was given); https
 * otherwise. Docker Hub's API host is registry-1.docker.io.
 */
export function registryBaseUrl(registry: string, plainHttp = false, tls = false): string {
  const host = registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
  const hostname = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:[0-9]+$/, '');
  const loopback = hostname === 'localhost' || /^127(?:\.[0-9]{1,3}){3}$/.test(hostname) || hostname === '[::1]';
  return `${plainHttp || (loopback && !tls) ? 'http' : 'https'}://${host}`;
}
