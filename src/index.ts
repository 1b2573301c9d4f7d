/**
 * alba as a library (the package's export; see docs/api.md): load a recipe, lock it, build its
 * images into a graph, publish the graph to a sink (an OCI layout, an archive, a registry, an S3
 * static registry), read images back from a layout or docker archives, and read SBOMs. Nothing
 * here prints or exits: messages go to the `log` callbacks, failures are AlbaError with a code.
 */
export { AlbaError, isAlbaError, asAlbaError, type ErrorCode } from './errors.js';
export { defaultCacheDir } from './cache.js';
export { loadRecipe } from './recipe/load.js';
export { fetchTargets } from './recipe/fetch-targets.js';
export type { FetchTarget } from './recipe/mirror.js';
export type { Recipe } from './recipe/types.js';
export { lockRecipe as lock, type LockOptions, type LockOutcome } from './lock/lock.js';
export { readLock, writeLock, lockPathFor, isLockFresh } from './lock/lock-file.js';
export type { LockFile, LockedPackage } from './lock/lock-types.js';
export { build, type BuildOptions, type BuildResult } from './builder/build.js';
export { buildRecipe, type BuildRecipeOptions, type RecipeBuild } from './builder/build-recipe.js';
export { openRemoteCache, type OpenRemoteCacheOptions } from './remote-cache.js';
export type { RemoteLayerCache, RemoteCacheMode, RemoteCacheReport } from './builder/remote-cache.js';
export type { ImageGraph, Blob, ManifestNode, Referrer } from './oci/graph.js';
export { publish, type PublishOptions, type PublishResult, type PublishEvent } from './sink/publish.js';
export type { Sink, TagStore, TagFacts } from './sink/sink.js';
export {
  openSink,
  openTagStore,
  parseTags,
  type ImageTag,
  type OpenedSink,
  type SinkOptions,
  type TagStoreKind,
  type TagStoreOptions,
} from './sink/target.js';
export { writeOutput, type OutputFormat, type OutputOptions } from './sink/build-output.js';
export { runRemoval, type RemovalOptions, type RemovalTarget } from './lifecycle/removal.js';
export type { RemovalPlan, BucketRemovalPlan, RegistryRemovalPlan } from './lifecycle/removal-plan.js';
export { planReport, type PlanReport } from './lifecycle/plan-report.js';
export type { RetentionPolicy } from './lifecycle/retention.js';
export { openLayoutSink, type LayoutSinkOptions } from './sink/layout/layout-sink.js';
export { openArchiveSink, type ArchiveSinkOptions } from './sink/archive/archive-sink.js';
export { openRegistrySink, type RegistrySinkOptions } from './sink/registry/registry-sink.js';
export { parseReference } from './sink/registry/reference.js';
export { openStaticRegistrySink } from './sink/s3/static-registry.js';
export { parseS3Target } from './sink/s3/s3-target.js';
export { pushStatic, scanStaticDir, type StaticPushOptions } from './sink/s3/static-binaries.js';
export { readLayoutGraph } from './source/layout-source.js';
export { readDockerArchives } from './source/docker-archives.js';
export { readSbom } from './sbom/read.js';
export { readRegistrySbom } from './sbom/read-registry.js';
export { loadSigningKey, loadPublicKey, type SigningKey } from './trust/keys.js';
export { signGraph, type SignOptions } from './trust/sign-graph.js';
export { signerFor, signingIdentity, buildProvenance } from './trust/sign-push.js';
export { provenanceFacts, provenancePredicate, ALBA_BUILD_TYPE, SLSA_PROVENANCE_V1, type ProvenanceFacts } from './trust/provenance.js';
export { verifyImage, failIfAny, type VerifyReport, type TrustSource } from './trust/verify.js';
export { layoutTrustSource, registryTrustSource } from './trust/verify-source.js';
export { writeBucketPages } from './site/bucket-pages.js';
export { RecipeInvalidError, type RecipeProblem } from './recipe/issues.js';
