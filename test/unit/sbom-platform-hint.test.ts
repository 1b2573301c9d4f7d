import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { parseDigest } from '../../src/oci/digest.js';
import type { Descriptor } from '../../src/oci/types.js';
import { platformEntry } from '../../src/sbom/read.js';

// `alba sbom --platform P` on an index without exactly one P image: the hint lists the index's
// platforms each once, at most 20 then how many more (an index of thousands of repeated entries
// printed them all).

const INDEX = `sha256:${'0'.repeat(64)}`;
const entry = (architecture: string, i: number, variant?: string): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: parseDigest(`sha256:${i.toString(16).padStart(64, '0')}`),
  size: 100,
  platform: { os: 'linux', architecture, ...(variant === undefined ? {} : { variant }) },
});

function hintOf(manifests: Descriptor[], requested: string): { message: string; hint: string } {
  try {
    platformEntry(manifests, requested, INDEX);
  } catch (err) {
    assert.ok(isAlbaError(err, 'SBOM_NOT_FOUND'), String(err));
    return { message: err.message, hint: err.hint ?? '' };
  }
  assert.fail('no error');
}

test('thousands of duplicate entries: each platform once in the hint', () => {
  const manifests = Array.from({ length: 5000 }, (_, i) => entry(i % 2 === 0 ? 'amd64' : 'arm', i, i % 2 === 0 ? undefined : 'v7'));
  const { message, hint } = hintOf(manifests, 'arm64');
  assert.equal(message, `no images for platform arm64 in index ${INDEX}`);
  assert.equal(hint, 'the index has: linux/amd64, linux/arm/v7');
});

test('more than 20 platforms: the first 20, then how many more', () => {
  const manifests = Array.from({ length: 3000 }, (_, i) => entry(`arch${i % 30}`, i));
  const { hint } = hintOf(manifests, 'arm64');
  const shown = Array.from({ length: 20 }, (_, i) => `linux/arch${i}`).join(', ');
  assert.equal(hint, `the index has: ${shown}, …and 10 more`);
});

test('the requested platform repeated: how many, and the platforms once', () => {
  const manifests = Array.from({ length: 1000 }, (_, i) => entry('arm64', i));
  const { message, hint } = hintOf(manifests, 'arm64');
  assert.equal(message, `1000 images for platform arm64 in index ${INDEX}`);
  assert.equal(hint, 'the index has: linux/arm64');
});

test('exactly one match is the entry', () => {
  const manifests = [entry('amd64', 1), entry('arm64', 2)];
  assert.equal(platformEntry(manifests, 'linux/arm64', INDEX), manifests[1]);
});
