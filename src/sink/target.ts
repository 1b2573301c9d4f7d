import { AlbaError } from '../errors.js';
import { parseReference, type ImageReference } from './registry/reference.js';

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
