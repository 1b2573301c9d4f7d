/**
 * The layer of what maintainer scripts would have made, per arch, after the base layer: the
 * alternatives' links (`usr/bin/java → /etc/alternatives/java → /usr/lib/jvm/…/bin/java`, symlinks
 * 0777 0:0) and, when a JRE is in the image, the Java trust store `etc/ssl/certs/java/cacerts`
 * (PKCS#12 of the image's CA certificates, 0644 0:0). Entries sorted by path, missing parents
 * 0755 0:0, every mtime SOURCE_DATE_EPOCH. An image without alternatives or JRE has no such layer.
 */
import { createHash } from 'node:crypto';
import type { BlobStore } from '../oci/blob-store.js';
import type { TrustedCa } from './ca-bundle.js';
import { addEntry, writeLayer, type LayerBlob } from './layer-writer.js';
import { chooseAlternatives, type Alternative, type MaintainerFacts, type ScriptAction } from './maintainer-scripts.js';
import { pkcs12TrustStore } from './pkcs12.js';
import { DIR_MODE, parentDirs } from './tar-path.js';

/** Where ca-certificates-java writes Java's trust store (the JRE's lib/security/cacerts links to it). */
export const JAVA_CACERTS_PATH = 'etc/ssl/certs/java/cacerts';

/** What the layer will hold, decided before anything is written. */
export interface MaintainerPlan {
  links: { path: string; target: string }[];
  alternatives: Alternative[];
  /** The Java trust store bytes, when a JRE is in the image. */
  javaCacerts?: Buffer;
  /** The packages whose postinst did something alba did not make, with those actions. */
  notMade: { name: string; actions: ScriptAction[] }[];
}

/**
 * Plans the layer from the image's packages (name and maintainer facts) and CA certificates. A JRE
 * is in the image when a package ships a `.jinfo` file.
 */
export function planMaintainerLayer(
  packages: readonly { name: string; facts?: MaintainerFacts }[],
  cas: readonly TrustedCa[],
): MaintainerPlan {
  const withFacts = packages.flatMap((p) => (p.facts === undefined ? [] : [{ name: p.name, facts: p.facts }]));
  const { links, chosen } = chooseAlternatives(withFacts);
  const jre = withFacts.some((p) => p.facts.jinfo.length > 0);
  const notMade = withFacts
    .map((p) => ({ name: p.name, actions: p.facts.actions.filter((a) => a.outcome === 'not-made') }))
    .filter((p) => p.actions.length > 0)
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return { links, alternatives: chosen, ...(jre ? { javaCacerts: pkcs12TrustStore(cas) } : {}), notMade };
}

/** True when the plan writes nothing (no layer then). */
export function isEmptyPlan(plan: MaintainerPlan): boolean {
  return plan.links.length === 0 && plan.javaCacerts === undefined;
}

/** The history line of the layer: `alba: maintainer scripts' effects: alternatives java keytool …; Java trust store (140 certificates)`. */
export function maintainerHistory(plan: MaintainerPlan, certificates: number): string {
  const parts = [
    ...(plan.alternatives.length === 0 ? [] : [`alternatives ${plan.alternatives.map((a) => a.name).join(' ')}`]),
    ...(plan.javaCacerts === undefined ? [] : [`Java trust store (${certificates} certificates)`]),
  ];
  return `alba: maintainer scripts' effects: ${parts.join('; ')}`;
}

/** The files of the layer for the SBOM (links have no content). */
export function maintainerFiles(plan: MaintainerPlan): { path: string; sha256: string; comment: string }[] {
  if (plan.javaCacerts === undefined) return [];
  return [
    {
      path: `/${JAVA_CACERTS_PATH}`,
      sha256: createHash('sha256').update(plan.javaCacerts).digest('hex'),
      comment:
        'made by alba: the Java trust store (PKCS#12, password changeit) of the certificates of /etc/ssl/certs/ca-certificates.crt, as ca-certificates-java would',
    },
  ];
}

/** Writes the planned layer into the store. */
export function buildMaintainerLayer(store: BlobStore, plan: MaintainerPlan, sourceDateEpoch: number): Promise<LayerBlob> {
  const entries: { path: string; target?: string; content?: Buffer }[] = [
    ...plan.links.map((l) => ({ path: l.path, target: l.target })),
    ...(plan.javaCacerts === undefined ? [] : [{ path: JAVA_CACERTS_PATH, content: plan.javaCacerts }]),
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const mtime = sourceDateEpoch;
  return writeLayer(store, async (pack) => {
    const dirs = new Set<string>();
    for (const e of entries) {
      for (const dir of parentDirs(e.path)) {
        if (dirs.has(dir)) continue;
        dirs.add(dir);
        await addEntry(pack, { path: dir, type: 'directory', mode: DIR_MODE, uid: 0, gid: 0, mtime });
      }
      if (e.target !== undefined)
        await addEntry(pack, { path: e.path, type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime, linkname: e.target });
      else await addEntry(pack, { path: e.path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime }, e.content);
    }
  });
}
