/**
 * Push records: a registry does not say when a tag was pushed, so alba says it. When a push moves
 * a tag, it first stores a tiny artifact manifest whose subject is the pushed root, with the tag
 * and the time as annotations (config and layer: the OCI empty blob), listed among the root's
 * referrers. `ls` and `gc` read them back from the referrers; each push writes its own record, so
 * concurrent pushes do not overwrite each other's.
 */
import { artifactManifestBlob, EMPTY_DESCRIPTOR } from '../../oci/manifest.js';
import type { JsonBlob } from '../../oci/json.js';
import type { Descriptor } from '../../oci/types.js';

/** The artifactType of a push record. */
export const PUSH_RECORD_TYPE = 'application/vnd.alba.push-record.v1+json';
/** The annotation naming the tag a push record is for. */
export const PUSHED_TAG_ANNOTATION = 'dev.alba.push.tag';
const CREATED = 'org.opencontainers.image.created';

/** The push record of pointing `tag` at `subject` at `at`. */
export function pushRecord(subject: Descriptor, tag: string, at: Date): JsonBlob {
  return artifactManifestBlob({
    artifactType: PUSH_RECORD_TYPE,
    layers: [EMPTY_DESCRIPTOR],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: { [CREATED]: at.toISOString(), [PUSHED_TAG_ANNOTATION]: tag },
  });
}

/** The latest push time of each tag among the referrer descriptors of a root (other referrers are ignored). */
export function pushTimes(referrers: readonly Descriptor[]): Map<string, Date> {
  const out = new Map<string, Date>();
  for (const d of referrers) {
    if (d.artifactType !== PUSH_RECORD_TYPE) continue;
    const tag = d.annotations?.[PUSHED_TAG_ANNOTATION];
    const at = Date.parse(d.annotations?.[CREATED] ?? '');
    if (tag === undefined || Number.isNaN(at)) continue;
    const known = out.get(tag);
    if (known === undefined || known.getTime() < at) out.set(tag, new Date(at));
  }
  return out;
}
