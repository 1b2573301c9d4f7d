/**
 * The removal lease of a registry repository (see lifecycle/lease.ts): the tag
 * `alba-removal-lease` on a tiny artifact manifest (config and layer the OCI empty blob) whose
 * annotation `dev.alba.lease` holds the lease record. Each renewal puts a new manifest on the tag
 * and deletes the previous one by digest; the end of the removal deletes its own digest, which
 * takes the tag away only while it is still its own. A registry has no conditional writes: two
 * removals that start within the same ~100 ms can both believe they hold it (each reads it back
 * first), so the guarantee between a push and a removal holds, and the one between two removals
 * of one repository started at the same instant is best-effort (docs/registry.md).
 * The removal epoch (LeaseMedium.epoch) is the digest of the tag `alba-removal-epoch`, a manifest
 * of the same shape whose annotation `dev.alba.epoch` holds a random value: each bump puts a new
 * one on the tag and deletes the one before.
 */
import { randomUUID } from 'node:crypto';
import { digestOf } from '../../oci/digest.js';
import { EPOCH_TAG, LEASE_TAG } from '../../oci/names.js';
import { memoryBlob, type Blob } from '../../oci/graph.js';
import { artifactManifestBlob, EMPTY_DESCRIPTOR } from '../../oci/manifest.js';
import { parseLeaseRecord, type LeaseMedium, type LeaseRecord } from '../../lifecycle/lease.js';
import type { RegistryClient } from './client.js';

const LEASE_TYPE = 'application/vnd.alba.removal-lease.v1+json';
const EPOCH_TYPE = 'application/vnd.alba.removal-epoch.v1+json';
const LEASE_ANNOTATION = 'dev.alba.lease';
const EPOCH_ANNOTATION = 'dev.alba.epoch';

/** The removal lease of the client's repository. */
export function registryLease(client: RegistryClient): LeaseMedium {
  let mine: string | undefined;
  const put = async (record: LeaseRecord): Promise<void> => {
    const blob = marker(LEASE_TYPE, LEASE_ANNOTATION, JSON.stringify(record));
    await client.ensureEmptyBlob();
    await client.putManifest(LEASE_TAG, blob);
    const previous = mine;
    mine = blob.descriptor.digest;
    if (previous !== undefined && previous !== mine) await client.deleteManifest(previous);
  };
  const medium: LeaseMedium = {
    where: `${client.repository}:${LEASE_TAG}`,
    code: 'REGISTRY',
    async create(record) {
      if ((await medium.read()) !== undefined) return false;
      await put(record);
      return true;
    },
    write: put,
    async read() {
      const got = await client.manifestIfFound(LEASE_TAG);
      if (got === undefined) return undefined;
      let record: LeaseRecord | undefined;
      try {
        const annotations = (JSON.parse(got.bytes.toString('utf8')) as { annotations?: Record<string, string> }).annotations;
        record = parseLeaseRecord(JSON.parse(annotations?.[LEASE_ANNOTATION] ?? 'null'));
      } catch {
        record = undefined;
      }
      return { version: digestOf(got.bytes), record };
    },
    async remove(version) {
      await client.deleteManifest(version);
      if (version === mine) mine = undefined;
    },
    epoch: () => client.manifestDigest(EPOCH_TAG),
    async bumpEpoch() {
      const [before] = await Promise.all([client.manifestDigest(EPOCH_TAG), client.ensureEmptyBlob()]);
      await client.putManifest(EPOCH_TAG, marker(EPOCH_TYPE, EPOCH_ANNOTATION, randomUUID()));
      // the one before, untagged now: a registry that refuses the delete keeps a manifest of a few bytes
      if (before !== undefined) await client.deleteManifest(before).catch(() => undefined);
    },
  };
  return medium;
}

/** A manifest of a few bytes (config and layer the OCI empty blob) that carries one annotation. */
function marker(artifactType: string, annotation: string, value: string): Blob {
  return memoryBlob(artifactManifestBlob({ artifactType, layers: [EMPTY_DESCRIPTOR], annotations: { [annotation]: value } }));
}
