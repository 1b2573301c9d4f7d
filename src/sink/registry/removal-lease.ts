/**
 * The removal lease of a registry repository (see lifecycle/lease.ts): the tag
 * `alba-removal-lease` on a tiny artifact manifest (config and layer the OCI empty blob) whose
 * annotation `dev.alba.lease` holds the lease record. Each renewal puts a new manifest on the tag
 * and deletes the previous one by digest; the end of the removal deletes its own digest, which
 * takes the tag away only while it is still its own. A registry has no conditional writes: two
 * removals that start within the same ~100 ms can both believe they hold it (each reads it back
 * first), so the guarantee between a push and a removal holds, and the one between two removals
 * of one repository started at the same instant is best-effort (docs/registry.md).
 */
import { digestOf } from '../../oci/digest.js';
import { memoryBlob } from '../../oci/graph.js';
import { artifactManifestBlob, EMPTY_DESCRIPTOR } from '../../oci/manifest.js';
import { parseLeaseRecord, type LeaseMedium, type LeaseRecord } from '../../lifecycle/lease.js';
import type { RegistryClient } from './client.js';

/** The tag of the removal lease (never listed, removed or pushed as an image tag by alba). */
export const LEASE_TAG = 'alba-removal-lease';
const LEASE_TYPE = 'application/vnd.alba.removal-lease.v1+json';
const LEASE_ANNOTATION = 'dev.alba.lease';

/** The removal lease of the client's repository. */
export function registryLease(client: RegistryClient): LeaseMedium {
  let mine: string | undefined;
  const put = async (record: LeaseRecord): Promise<void> => {
    const blob = memoryBlob(
      artifactManifestBlob({
        artifactType: LEASE_TYPE,
        layers: [EMPTY_DESCRIPTOR],
        annotations: { [LEASE_ANNOTATION]: JSON.stringify(record) },
      }),
    );
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
  };
  return medium;
}
