import type { TargetArch } from '../debian/arch.js';
import type { PackageRequest } from '../debian/types.js';

/** One APT repository to read indexes from. */
export interface SourceSpec {
  /** Canonical URL of the repository root (the directory holding `dists/`). */
  url: string;
  suites: string[];
  components: string[];
  /** Archive name on snapshot.debian.org (`debian`, `debian-security`) when expanded from `snapshot:`; used to map mirrors. */
  archive?: string;
  /** True for snapshot sources: their Release files are old by nature, so Valid-Until is not enforced. */
  snapshot: boolean;
}

/** A user account in the image. */
export interface UserAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** A group in the image. */
export interface GroupAccount {
  name: string;
  gid: number;
  members: string[];
}

/** A file of the user's, added per arch. */
export interface FileSpec {
  /** Source path template relative to the recipe; placeholders {os} {arch} {variant} {debarch}. */
  src: string;
  /** Absolute path inside the image. */
  dst: string;
  mode: number;
  uid: number;
  gid: number;
  /** Check that an ELF file's machine matches the arch (default true). */
  checkElf: boolean;
}

/** The kinds of `paths:` entries (apko's field). */
export type PathType = 'directory' | 'empty-file' | 'symlink' | 'hardlink' | 'permissions';

/** One `paths:` entry: a path the recipe creates in the image, or whose owner and mode it sets. */
export interface PathSpec {
  type: PathType;
  /** Absolute, normalized path in the image. */
  path: string;
  /** symlink: what the link points at (as written); hardlink: the absolute path of a file the recipe places. */
  target?: string;
  mode: number;
  uid: number;
  gid: number;
}

/** A validated recipe, with defaults applied and paths resolved. */
export interface Recipe {
  /** Absolute path of the recipe file. */
  path: string;
  name: string;
  tag: string;
  archs: TargetArch[];
  sources: SourceSpec[];
  /** Snapshot timestamp (`20250520T000000Z`) when the recipe uses `snapshot:`. */
  snapshot?: string;
  /** Absolute paths of OpenPGP keyrings to trust. */
  keyrings: string[];
  packages: PackageRequest[];
  resolve: 'dependencies' | 'explicit';
  exclude: string[];
  files: FileSpec[];
  /** `paths:`: directories, empty files, links and permissions, in the image's own layer. */
  paths: PathSpec[];
  users: UserAccount[];
  groups: GroupAccount[];
  /** `User` of the image config: a user name or uid[:gid]. */
  runAs?: string;
  entrypoint?: string[];
  cmd?: string[];
  env: Record<string, string>;
  workdir?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  stopSignal?: string;
  /** Clamp for every mtime and the `created` time, in seconds since the epoch, when set in the recipe. */
  sourceDateEpoch?: number;
  /** Most layers an image may have (`max-layers`, default 100); packages share layers beyond it. */
  maxLayers: number;
  /**
   * What of the ca-certificates package the image holds (`ca-certificates`): `bundle` (default, as
   * distroless) the assembled /etc/ssl/certs/ca-certificates.crt and the package's copyright and
   * dpkg record only; `package` every file of the package as well.
   */
  caCertificates: 'bundle' | 'package';
  /**
   * `additional-ca-certificates`: absolute paths of PEM files of CA certificates to trust besides
   * the ca-certificates package's (bundle, /usr/local/share/ca-certificates, Java trust store).
   */
  additionalCaCertificates?: string[];
}
