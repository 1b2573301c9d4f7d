import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { imageConfigBlob } from '../../src/oci/config.js';
import { digestOf } from '../../src/oci/digest.js';
import { fileBlob, memoryBlob } from '../../src/oci/graph.js';
import { imageIndexBlob } from '../../src/oci/image-index.js';
import { imageManifestBlob } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { openLayoutSink } from '../../src/sink/layout/layout-sink.js';
import { publish } from '../../src/sink/publish.js';

/**
 * A one-platform (linux/amd64) OCI layout at `dir/layout`, tagged `1`, whose only layer is `mb`
 * MB of random bytes (typed as an uncompressed tar; never unpacked): for upload-path and memory tests.
 */
export async function bigLayout(dir: string, mb: number): Promise<{ dir: string; layer: string }> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'layer.bin');
  const bytes = randomBytes(mb * 1024 * 1024);
  await writeFile(file, bytes);
  const digest = digestOf(bytes);
  const layer = fileBlob({ mediaType: MediaType.layerTar, digest, size: bytes.length }, file);
  const platform = { os: 'linux', architecture: 'amd64' };
  const config = imageConfigBlob({ created: 0, platform, layers: [{ diffId: digest, createdBy: 'test' }] });
  const manifest = imageManifestBlob({ config: config.descriptor, layers: [layer.descriptor] }, platform);
  const index = imageIndexBlob({ manifests: [manifest.descriptor] });
  const out = join(dir, 'layout');
  await publish(
    { root: memoryBlob(index), images: [{ manifest: memoryBlob(manifest), blobs: [memoryBlob(config), layer] }], referrers: [] },
    await openLayoutSink({ dir: out }),
    ['1'],
  );
  return { dir: out, layer: digest };
}
