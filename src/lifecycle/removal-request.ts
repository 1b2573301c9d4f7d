/**
 * What `rm` and `gc` are asked, from their command-line text: the NAME, the tag to remove or the
 * retention policy, and the durations. Every mistake is USAGE, before anything is read.
 */
import { AlbaError } from '../errors.js';
import { REFERRERS_TAG_RE, userTagProblem } from '../oci/names.js';
import type { TagStoreKind } from '../sink/target.js';
import type { RemovalTarget } from './removal.js';
import { parseDuration, type RetentionPolicy } from './retention.js';
import type { TagClass } from './tag-class.js';

/** The keep counts and age of `gc`, as given (`--keep 10`, `--older-than 30d`). */
export interface RetentionText {
  keep?: string;
  keepRelease?: string;
  keepExtra?: string;
  keepDev?: string;
  olderThan?: string;
}

/** `-t NAME:TAG` of `rm` or `-t NAME` of `gc` with gc's counts: the NAME and the request for runRemoval. */
export function removalRequest(
  kind: 'container' | 'static',
  sub: 'rm' | 'gc',
  tagText: string,
  retention: RetentionText,
  now = Date.now(),
): { name: string; request: RemovalTarget } {
  if (sub === 'gc') return { name: tagText, request: { policy: retentionPolicy(retention, now) } };
  const colon = tagText.lastIndexOf(':');
  const name = tagText.slice(0, Math.max(0, colon));
  const tag = tagText.slice(colon + 1);
  if (name === '') usage(`-t ${tagText}: expected NAME:TAG`, 'e.g. -t app:1.0');
  // A referrers tag goes with its image: removing it alone would unlink the image's SBOMs and push records.
  const referrers = kind === 'container' && REFERRERS_TAG_RE.test(tag) ? userTagProblem(tag) : undefined;
  if (referrers !== undefined) usage(`-t ${tagText}: ${referrers.problem}`, referrers.hint);
  return { name, request: { tag } };
}

/** A duration option (`30d`, `12h`, `90m`, `0`) in milliseconds. */
export function durationOption(text: string, flag: string): number {
  return parseDuration(text) ?? usage(`${flag} ${text}: expected a duration such as 30d, 12h, 90m or 0`, `e.g. ${flag} 1h`);
}

/** What openTagStore opens for `alba KIND … -t NAME` (static names live under a prefix). */
export function tagStoreKind(kind: 'container' | 'static', name: string, prefix: string | undefined): TagStoreKind {
  return kind === 'container' ? { kind, name } : { kind, name, prefix };
}

/** The retention policy gc's counts ask for: --keep sets extra and dev; releases are kept unless --keep-release. */
export function retentionPolicy(text: RetentionText, now: number): RetentionPolicy {
  const count = (value: string | undefined, flag: string): number | undefined => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) usage(`${flag} ${value}: expected a number of tags`, `e.g. ${flag} 10`);
    return Number(value);
  };
  const keepAll = count(text.keep, '--keep');
  const counts: [TagClass, number | undefined][] = [
    ['extra', count(text.keepExtra, '--keep-extra') ?? keepAll],
    ['dev', count(text.keepDev, '--keep-dev') ?? keepAll],
    ['release', count(text.keepRelease, '--keep-release')],
  ];
  const keep: Partial<Record<TagClass, number>> = Object.fromEntries(counts.filter(([, n]) => n !== undefined));
  if (Object.keys(keep).length === 0)
    usage(
      'alba gc needs --keep N (or --keep-extra, --keep-dev, --keep-release)',
      'e.g. --keep 10: keep the 10 newest extra and dev tags; releases are kept unless --keep-release',
    );
  return { keep, now, ...(text.olderThan === undefined ? {} : { olderThanMs: durationOption(text.olderThan, '--older-than') }) };
}

function usage(message: string, hint: string): never {
  throw new AlbaError('USAGE', message, { hint });
}
