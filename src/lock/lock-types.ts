/** One Release file that indexes were read from. */
export interface LockedRelease {
  /** Canonical repository URL (as in the recipe). */
  repo: string;
  suite: string;
  /** `InRelease` or `Release`. */
  file: string;
  sha256: string;
  /** `Date:` of the Release file, ISO 8601. */
  date?: string;
}

/** One .deb pinned by the lock. */
export interface LockedPackage {
  name: string;
  version: string;
  /** Debian architecture of the .deb (`amd64`, `all`...). */
  architecture: string;
  source: string;
  sourceVersion: string;
  repo: string;
  suite: string;
  component: string;
  /** Path of the .deb under the repository root. */
  filename: string;
  size: number;
  sha256: string;
  maintainer?: string;
  /** Names of packages of this lock that satisfied its dependencies. */
  dependsOn: string[];
}

/** The lock file: exactly which .debs make up each arch, and where they were found. */
export interface LockFile {
  lockVersion: 1;
  name: string;
  /** sha256 of the recipe's packages/sources/archs section when locked, to detect a stale lock. */
  inputs: string;
  releases: LockedRelease[];
  /** Keyed by OCI arch name (`amd64`, `arm/v7`), packages sorted by name. */
  archs: Record<string, LockedPackage[]>;
}
