import type { Digest } from '../../oci/digest.js';
import { ATTACHMENT_TAG_RE, REFERRERS_TAG_RE, REMOTE_CACHE_TAG_RE, REMOVAL_TAGS } from '../../oci/names.js';
import { mapLimit } from '../../util/map-limit.js';
import type { TagFacts } from '../sink.js';
import type { RegistryClient } from './client.js';
import { pushTimes } from './push-record.js';

/** cosign's `sha256-<hex>.sig|.att|.sbom` tags of the repository with the digest each holds (a removal keeps them with their subjects). */
export async function attachmentTags(client: RegistryClient): Promise<{ tag: string; digest: Digest }[]> {
  const tags = (await client.tags()).filter((t) => ATTACHMENT_TAG_RE.test(t));
  const found = await mapLimit(tags, 8, async (tag) => {
    const digest = await client.manifestDigest(tag);
    return digest === undefined ? undefined : { tag, digest: digest as Digest };
  });
  return found.filter((f) => f !== undefined);
}

/**
 * The tags of one repository with the digest each points at and, where alba pushed it, its push
 * time (from the push records among the digest's referrers; tags pushed by other tools have none).
 * The referrers tags (`sha256-<hex>`), cosign's, the removal lease and epoch and a remote cache's entries
 * (`alba-v1-<hex>`) are not tags of images.
 */
export async function tagFacts(client: RegistryClient): Promise<TagFacts[]> {
  const tags = (await client.tags()).filter(
    (t) => !REFERRERS_TAG_RE.test(t) && !ATTACHMENT_TAG_RE.test(t) && !REMOTE_CACHE_TAG_RE.test(t) && !REMOVAL_TAGS.includes(t),
  );
  const times = new Map<string, Promise<Map<string, Date>>>();
  const timesOf = (digest: string): Promise<Map<string, Date>> => {
    let pending = times.get(digest);
    if (pending === undefined) {
      pending = client.storedReferrers(digest as Digest).then((r) => pushTimes(r.entries));
      times.set(digest, pending);
    }
    return pending;
  };
  const facts = await mapLimit(tags, 8, async (tag): Promise<TagFacts | undefined> => {
    const digest = await client.manifestDigest(tag);
    if (digest === undefined) return undefined;
    const pushed = (await timesOf(digest)).get(tag);
    return { tag, digest, ...(pushed === undefined ? {} : { pushed }) };
  });
  return facts.filter((f): f is TagFacts => f !== undefined);
}
