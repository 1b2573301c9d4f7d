/**
 * Tag classes, for listing and retention:
 * - `release`: a semantic version without label: `0.8.2`, `v0.8.2`;
 * - `extra`: a semantic version with a pre-release and/or build label: `0.8.2+feat`, `v0.8.0-rc1`, `1.2.3-rc.1`;
 * - `dev`: everything else: commit hashes, branch names, `latest`, `1.2`.
 * Versions follow semver 2.0.0 (no leading zeros in numbers), with an optional leading `v`.
 */

/** The class of a tag. */
export type TagClass = 'release' | 'extra' | 'dev';

/** Every class, in the order a UI shows them. */
export const TAG_CLASSES: readonly TagClass[] = ['release', 'extra', 'dev'];

const NUMBER = '(?:0|[1-9]\\d*)';
const PRE_ID = '(?:0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)';
const BUILD_ID = '[0-9A-Za-z-]+';
const SEMVER_RE = new RegExp(`^v?${NUMBER}\\.${NUMBER}\\.${NUMBER}(-${PRE_ID}(?:\\.${PRE_ID})*)?(\\+${BUILD_ID}(?:\\.${BUILD_ID})*)?$`);

/** The class of `tag` (pure). */
export function tagClass(tag: string): TagClass {
  const m = SEMVER_RE.exec(tag);
  if (m === null) return 'dev';
  return m[1] === undefined && m[2] === undefined ? 'release' : 'extra';
}
