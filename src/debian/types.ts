/** Where an index came from: one suite/component/arch of one repository. */
export interface IndexOrigin {
  /** Canonical repository URL as the recipe names it (a snapshot URL for snapshot sources). */
  repo: string;
  suite: string;
  component: string;
  /** Debian architecture of this Packages file (`all` packages appear in every arch's file). */
  arch: string;
}

/** The fields alba keeps from one stanza of a Packages index. */
export interface IndexPackage {
  name: string;
  version: string;
  /** Debian architecture of the package: the index arch or `all`. */
  architecture: string;
  /** Source package name (defaults to the binary name). */
  source: string;
  /** Source version (defaults to the binary version). */
  sourceVersion: string;
  depends?: string;
  preDepends?: string;
  provides?: string;
  multiArch?: string;
  maintainer?: string;
  /** Path of the .deb relative to the repository root (`pool/main/...`). */
  filename: string;
  size: number;
  sha256: string;
}

/** A package of the index together with the index it was found in. */
export interface Candidate extends IndexPackage {
  origin: IndexOrigin;
}

/** A request from the recipe: a package name, optionally pinned to one version. */
export interface PackageRequest {
  name: string;
  version?: string;
}

/** A package chosen by the resolver, with the names of the packages it depends on as resolved. */
export interface ResolvedPackage extends Candidate {
  /** Names of selected packages that satisfied this package's Depends/Pre-Depends, sorted. */
  dependsOn: string[];
}
