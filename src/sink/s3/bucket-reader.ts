/** An image repository of an S3 static registry as the graph walks and the referrer finder read it (oci/reachability.ts, oci/artifacts.ts). */
import { AlbaError } from '../../errors.js';
import type { ArtifactReader } from '../../oci/artifacts.js';
import { digestOf } from '../../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../../oci/graph.js';
import { parseManifestJson } from '../../oci/manifest-json.js';
import type { StoredReferrers } from '../../oci/reachability.js';
import { referrersTag } from '../../oci/referrers.js';
import type { S3Store } from './s3-store.js';

/**
 * Reads `base` (`[PREFIX/]v2/NAME/`): manifests, the referrers tag (the static registry's only
 * referrers index) and blobs, each blob checked against its descriptor's size and digest. An object
 * that does not read as what it should be is error[S3] naming its key, with `hint`.
 */
export function bucketImageReader(store: S3Store, base: string, hint: string): ArtifactReader {
  const invalid = (key: string, why: string): AlbaError => new AlbaError('S3', `${store.where(key)} ${why}`, { hint });
  return {
    manifest: async (digest) => (await store.get(`${base}manifests/${digest}`, MAX_MANIFEST_BYTES))?.bytes,
    referrers: async (subject): Promise<StoredReferrers> => {
      const key = `${base}manifests/${referrersTag(subject)}`;
      const got = await store.get(key, MAX_MANIFEST_BYTES);
      if (got === undefined) return { entries: [] };
      const entries = parseManifestJson(got.bytes, (why) => invalid(key, why.replace(/^it /, ''))).manifests;
      if (!Array.isArray(entries)) throw invalid(key, 'is not an index of referrers');
      return { entries, tagIndex: { digest: digestOf(got.bytes), size: got.bytes.length } };
    },
    invalid: (digest, why) => invalid(`${base}manifests/${digest}`, `is not a manifest: ${why}`),
    blob: async (d, max) => {
      const key = `${base}blobs/${d.digest}`;
      const got = await store.get(key, Math.min(max, d.size));
      if (got === undefined) throw invalid(key, 'is missing');
      if (got.bytes.length !== d.size || digestOf(got.bytes) !== d.digest)
        throw invalid(key, `does not hold ${d.digest} (${d.size} bytes)`);
      return got.bytes;
    },
  };
}
