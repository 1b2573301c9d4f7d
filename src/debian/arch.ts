import type { Platform } from '../oci/types.js';

/** One target architecture, with its OCI and Debian names. */
export interface TargetArch {
  /** OCI platform name as written in recipes and tags: `amd64`, `arm64`, `arm/v7`... */
  name: string;
  platform: Platform;
  /** Debian architecture name: `amd64`, `armhf`, `i386`... */
  debian: string;
  /** ELF e_machine value of binaries for this arch. */
  elfMachine: number;
  /** ELF class: 1 = 32-bit, 2 = 64-bit. */
  elfClass: 1 | 2;
}

/** The one mapping table between OCI platforms and Debian architectures (see docs/recipe.md). */
export const ARCHS: readonly TargetArch[] = [
  { name: 'amd64', platform: { os: 'linux', architecture: 'amd64' }, debian: 'amd64', elfMachine: 62, elfClass: 2 },
  { name: 'arm64', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, debian: 'arm64', elfMachine: 183, elfClass: 2 },
  { name: 'arm/v7', platform: { os: 'linux', architecture: 'arm', variant: 'v7' }, debian: 'armhf', elfMachine: 40, elfClass: 1 },
  { name: 'arm/v5', platform: { os: 'linux', architecture: 'arm', variant: 'v5' }, debian: 'armel', elfMachine: 40, elfClass: 1 },
  { name: '386', platform: { os: 'linux', architecture: '386' }, debian: 'i386', elfMachine: 3, elfClass: 1 },
  { name: 'ppc64le', platform: { os: 'linux', architecture: 'ppc64le' }, debian: 'ppc64el', elfMachine: 21, elfClass: 2 },
  { name: 's390x', platform: { os: 'linux', architecture: 's390x' }, debian: 's390x', elfMachine: 22, elfClass: 2 },
  { name: 'riscv64', platform: { os: 'linux', architecture: 'riscv64' }, debian: 'riscv64', elfMachine: 243, elfClass: 2 },
  { name: 'mips64le', platform: { os: 'linux', architecture: 'mips64le' }, debian: 'mips64el', elfMachine: 8, elfClass: 2 },
];

/** Extra spellings accepted for an arch, mapped to its canonical name. */
const ALIASES: Record<string, string> = {
  armhf: 'arm/v7',
  armel: 'arm/v5',
  i386: '386',
  ppc64el: 'ppc64le',
  mips64el: 'mips64le',
  'arm64/v8': 'arm64',
  'linux/amd64': 'amd64',
  'linux/arm64': 'arm64',
  'linux/arm/v7': 'arm/v7',
  'linux/arm/v5': 'arm/v5',
  'linux/386': '386',
  x86_64: 'amd64',
  aarch64: 'arm64',
};

/** Finds an arch by OCI name or accepted alias; undefined when unknown. */
export function findArch(name: string): TargetArch | undefined {
  const canonical = ALIASES[name] ?? name;
  return ARCHS.find((a) => a.name === canonical);
}

/** Short platform id used in tags and file names: `amd64`, `arm64`, `arm-v7`. */
export function archSlug(arch: TargetArch): string {
  return arch.name.replace('/', '-');
}
