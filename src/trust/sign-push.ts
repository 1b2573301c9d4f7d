/**
 * `--sign-key` of `alba build --push` and `alba container push`: the graph signed for the
 * repository the target names (the identity of the signatures), before the one publish walk.
 */
import type { ImageGraph } from '../oci/graph.js';
import { parseTarget, type ImageTag } from '../sink/target.js';
import { formatReference } from '../sink/registry/reference.js';
import { loadSigningKey } from './keys.js';
import type { RecipeBuild } from '../builder/build-recipe.js';
import { provenanceFacts, type ProvenanceFacts } from './provenance.js';
import { signGraph } from './sign-graph.js';

/** Signs a graph for one target. */
export type TargetSigner = (graph: ImageGraph, targetText: string, tags: readonly ImageTag[]) => Promise<ImageGraph>;

/**
 * The signer of `--sign-key FILE` (the key read and opened once, its passphrase from
 * ALBA_SIGN_PASSWORD or COSIGN_PASSWORD): each target's graph signed for the repository it names,
 * with `provenance` attested too when given; `identity` (`--sign-identity`) names another repository
 * (the host an S3 static registry is served from).
 */
export async function signerFor(
  keyFile: string,
  options: { provenance?: ProvenanceFacts; identity?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<TargetSigner> {
  const key = await loadSigningKey(keyFile, options.env ?? process.env);
  const { provenance } = options;
  return (graph, targetText, tags) =>
    signGraph(graph, {
      key,
      identity: options.identity ?? signingIdentity(targetText, tags),
      ...(provenance === undefined ? {} : { provenance }),
    });
}

/** `HOST/REPO` of a registry target (a bare host with the -t NAME), else the -t NAME (S3, layouts), else the target. */
export function signingIdentity(targetText: string, tags: readonly ImageTag[]): string {
  const target = parseTarget(targetText);
  const name = tags.find((t) => t.name !== undefined)?.name;
  if (target.kind === 'registry')
    return formatReference({ registry: target.ref.registry, repository: target.bare ? (name ?? '') : target.ref.repository });
  return name ?? targetText;
}

/** The provenance of a recipe build (`alba build --push --sign-key`): started at `startedOn`, finished now. */
export function buildProvenance(built: RecipeBuild, startedOn: Date, annotations: Record<string, string> = {}): Promise<ProvenanceFacts> {
  return provenanceFacts({
    recipe: built.recipe,
    lock: built.lock,
    archs: built.images.map((i) => i.arch.name),
    options: { sourceDateEpoch: built.epoch.seconds, ...(Object.keys(annotations).length === 0 ? {} : { annotations }) },
    startedOn,
  });
}

/** The signer of `alba build --push --sign-key FILE`: each target's graph of `built` signed, with the build's provenance attested. */
export async function buildSigner(
  built: RecipeBuild,
  options: { keyFile: string; identity?: string; startedOn: Date; annotations: Record<string, string>; tags: readonly ImageTag[] },
): Promise<(targetText: string) => Promise<ImageGraph>> {
  const sign = await signerFor(options.keyFile, {
    provenance: await buildProvenance(built, options.startedOn, options.annotations),
    ...(options.identity === undefined ? {} : { identity: options.identity }),
  });
  return (targetText) => sign(built.graph, targetText, options.tags);
}
