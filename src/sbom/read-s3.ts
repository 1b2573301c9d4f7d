import { AlbaError } from '../errors.js';
import { digestOf } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../oci/graph.js';
import { REPOSITORY_RE } from '../oci/names.js';
import { bucketImageReader } from '../sink/s3/bucket-reader.js';
import { S3Store } from '../sink/s3/s3-store.js';
import { keyOf, parseS3Target } from '../sink/s3/s3-target.js';
import { readSbomFrom, type SbomFormat } from './read.js';

/** Which SBOM to read from an S3 static registry. */
export interface ReadBucketSbomOptions {
  /** `linux/arm64`, `arm64`…; without it, the document of the tag's index. */
  platform?: string;
  /** `spdx` (the default) or `cyclonedx`. */
  format?: SbomFormat;
}

/**
 * The SPDX (or CycloneDX) document of image `NAME:TAG` in the S3 static registry of `target`
 * (`s3://BUCKET[/PREFIX]?endpoint=…`): the tag object names the root, the referrers tag lists its
 * referrers, every object read is checked against its digest.
 */
export async function readBucketSbom(target: string, nameTag: string, options: ReadBucketSbomOptions = {}): Promise<Buffer> {
  const colon = nameTag.lastIndexOf(':');
  const [name, tag] = colon === -1 ? [nameTag, 'latest'] : [nameTag.slice(0, colon), nameTag.slice(colon + 1)];
  if (!REPOSITORY_RE.test(name)) throw new AlbaError('USAGE', `-t ${nameTag}: not NAME:TAG`, { hint: 'e.g. -t team/app:1.0' });
  const s3 = parseS3Target(target);
  const store = new S3Store(s3);
  const base = keyOf(s3, `v2/${name}/`);
  const tagKey = `${base}manifests/${tag}`;
  const top = await store.get(tagKey, MAX_MANIFEST_BYTES);
  if (top === undefined) {
    throw new AlbaError('SBOM_NOT_FOUND', `${store.where(tagKey)} does not exist: no image ${name}:${tag} there`, {
      hint: `list the tags with \`alba container ls -t ${name} s3://…\``,
    });
  }
  return readSbomFrom(
    {
      reader: bucketImageReader(store, base, 'the bucket holds a damaged object; push the image again'),
      root: digestOf(top.bytes),
      name: `${store.where(base)}:${tag}`,
      notFoundHint: 'push the image with alba (which stores its SBOMs as referrers), or check the platform',
    },
    options.platform,
    options.format,
  );
}
