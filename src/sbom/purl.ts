import type { Digest } from '../oci/digest.js';
import type { SbomPackage } from './types.js';

/**
 * Percent-encodes everything but RFC 3986 unreserved characters (and `/` when `keepSlash`).
 * This encodes `:` and `+` too (`1%3A2.36-9%2Bb1`, `sha256%3A…`), as the purl oci examples do;
 * every purl parser decodes it back to the same value.
 */
function encode(value: string, keepSlash = false): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9._~-]/.test(ch) || (keepSlash && ch === '/') ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** `?k=v&…` with keys sorted and empty values left out, as the purl spec requires. */
function qualifierString(qualifiers: Record<string, string | undefined>): string {
  const parts = Object.keys(qualifiers)
    .filter((key) => qualifiers[key] !== undefined && qualifiers[key] !== '')
    .sort()
    .map((key) => `${key}=${encode(qualifiers[key] as string, true)}`);
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

/** Identity of one Debian binary package for its purl. */
export interface DebPurlInput {
  name: string;
  version: string;
  /** Debian architecture, `all` included. */
  arch: string;
  /** e.g. `debian-12`. */
  distro?: string;
  /** Source package name; recorded as `upstream` only when name or version differ from the binary's. */
  source?: string;
  sourceVersion?: string;
}

/** The purl of a package of an SBOM, from `distro` (e.g. `debian-12`). */
export function packagePurl(p: SbomPackage, distro: string): string {
  return debPurl({
    name: p.name,
    version: p.version,
    arch: p.architecture,
    distro,
    source: p.source,
    sourceVersion: p.sourceVersion,
  });
}

/** `pkg:deb/debian/<name>@<version>?arch=…&distro=…[&upstream=<source>[@<version>]]` per the purl deb type. */
export function debPurl(input: DebPurlInput): string {
  const source = input.source ?? input.name;
  const sourceVersion = input.sourceVersion ?? input.version;
  let upstream: string | undefined;
  if (source !== input.name || sourceVersion !== input.version) {
    upstream = sourceVersion === input.version ? source : `${source}@${sourceVersion}`;
  }
  const qualifiers = qualifierString({ arch: input.arch, distro: input.distro, upstream });
  return `pkg:deb/debian/${encode(input.name.toLowerCase())}@${encode(input.version)}${qualifiers}`;
}

/** Identity of one OCI manifest or index for its purl. */
export interface OciPurlInput {
  /** Image name; the purl name is its last path segment, lowercased (the oci type has no namespace). */
  name: string;
  digest: Digest;
  /** OCI architecture (`amd64`, `arm64`, `arm`…). */
  arch?: string;
  tag?: string | undefined;
  /** e.g. `ghcr.io/acme/app`. */
  repositoryUrl?: string | undefined;
}

/** `pkg:oci/<name>@sha256%3A<hex>?arch=…&repository_url=…&tag=…` per the purl oci type. */
export function ociPurl(input: OciPurlInput): string {
  const segments = input.name.split('/');
  const name = (segments[segments.length - 1] ?? input.name).toLowerCase();
  const qualifiers = qualifierString({ arch: input.arch, repository_url: input.repositoryUrl, tag: input.tag });
  return `pkg:oci/${encode(name)}@${encode(input.digest)}${qualifiers}`;
}
