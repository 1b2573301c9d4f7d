/** The grammar of repository names and tags (distribution-spec), shared by recipes and references. */

/** A repository name: lowercase path components separated by `/`, e.g. `team/app`. */
export const REPOSITORY_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** A tag: up to 128 of `[A-Za-z0-9._-]`, not starting with `.` or `-`. */
export const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/**
 * The tags of the OCI referrers tag schema, `sha256-<hex of the subject>`: alba (and other tools)
 * write them to link SBOMs, signatures and push records to an image. They are never a user's tag.
 */
export const REFERRERS_TAG_RE = /^sha256-[a-f0-9]{64}$/;

/** cosign's signature and attestation tags, `sha256-<hex of the subject>.sig|.att` (docs/trust.md): not image tags either. */
export const ATTACHMENT_TAG_RE = /^sha256-[a-f0-9]{64}\.(?:sig|att|sbom)$/;

/** The tags of a `--remote-cache docker://…` repository's entries (`alba-v1-<sha256 of the key>`): cache entries, not images (ls, rm and gc leave them). */
export const REMOTE_CACHE_TAG_RE = /^alba-v1-[a-f0-9]{64}$/;

/** The tag of a registry repository's removal lease (lifecycle/lease.ts, sink/registry/removal-lease.ts). */
export const LEASE_TAG = 'alba-removal-lease';
/** The tag of a registry repository's removal epoch (same files): kept, a few bytes, nobody's content. */
export const EPOCH_TAG = 'alba-removal-epoch';
/** alba's tags of the removals: never listed, removed or pushed as image tags. */
export const REMOVAL_TAGS: readonly string[] = [LEASE_TAG, EPOCH_TAG];

/** Why `tag` cannot be a tag a user names (the grammar, the referrers namespace, alba's removal tags), with a hint; undefined when it can. */
export function userTagProblem(tag: string): { problem: string; hint: string } | undefined {
  if (REFERRERS_TAG_RE.test(tag)) {
    return {
      problem: `${JSON.stringify(tag)} is a referrers tag (sha256-<digest hex>), not an image tag`,
      hint: "tags of that form link SBOMs and push records to the image of that digest (OCI referrers tag schema); alba keeps them in step with the image's own tags: name another tag",
    };
  }
  if (ATTACHMENT_TAG_RE.test(tag))
    return {
      problem: `${JSON.stringify(tag)} is a cosign signature or attestation tag, not an image tag`,
      hint: 'sign with --sign-key (docs/trust.md); name another tag',
    };
  if (REMOVAL_TAGS.includes(tag))
    return {
      problem: `${JSON.stringify(tag)} is a tag of alba's removals (their lease, their epoch), not an image tag`,
      hint: 'name another tag',
    };
  if (TAG_RE.test(tag)) return undefined;
  return {
    problem: `${JSON.stringify(tag)} is not a valid tag`,
    hint: tag.includes('+')
      ? 'container tags cannot hold "+" (OCI tag grammar); write 1.2.3-feat instead of 1.2.3+feat'
      : 'tags are up to 128 of A-Z a-z 0-9 . _ -, not starting with . or -',
  };
}
