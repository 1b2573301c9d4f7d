import { mapLimit } from '../../util/map-limit.js';
import type { TagFacts } from '../sink.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import type { ImageReference } from './reference.js';

/**
 * The tags of one repository with the digest each points at. A registry does not say when a tag
 * was pushed, so `pushed` is absent; the referrers tags (`sha256-<hex>`) are not tags of the image.
 */
export async function listRegistryTags(ref: Pick<ImageReference, 'registry' | 'repository'>, options: RegistryClientOptions = {}): Promise<TagFacts[]> {
  const client = new RegistryClient(ref, options);
  await client.ping();
  const tags = (await client.tags()).filter((t) => !/^sha256-[a-f0-9]{64}$/.test(t));
  const facts = await mapLimit(tags, 8, async (tag): Promise<TagFacts | undefined> => {
    const digest = await client.manifestDigest(tag);
    return digest === undefined ? undefined : { tag, digest };
  });
  return facts.filter((f): f is TagFacts => f !== undefined);
}
