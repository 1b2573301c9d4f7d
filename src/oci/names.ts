/** The grammar of repository names and tags (distribution-spec), shared by recipes and references. */

/** A repository name: lowercase path components separated by `/`, e.g. `team/app`. */
export const REPOSITORY_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** A tag: up to 128 of `[A-Za-z0-9._-]`, not starting with `.` or `-`. */
export const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
