import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { findArch, type TargetArch } from '../../src/debian/arch.js';
import { digestOf } from '../../src/oci/digest.js';
import { parseDep5 } from '../../src/sbom/dep5.js';
import type { ImageSbomInput, SbomPackage } from '../../src/sbom/types.js';

// The facts of one arm64 image the SBOM writers' unit tests (SPDX, CycloneDX) build their documents from.

export const FORMAT = 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n';
export const MIRROR = 'http://deb.example/debian';
export const EPOCH = 1707606793; // 2024-02-10T23:13:13Z

export function arch(name: string): TargetArch {
  const found = findArch(name);
  assert.ok(found, name);
  return found;
}

export function deb(name: string, extra: Partial<SbomPackage> = {}): SbomPackage {
  const version = extra.version ?? '1.0-1';
  return {
    name,
    version,
    architecture: 'arm64',
    source: name,
    sourceVersion: version,
    downloadUrl: `${MIRROR}/pool/main/${name[0]}/${name}/${name}_${version}_arm64.deb`,
    sha256: createHash('sha256').update(name).digest('hex'),
    dependsOn: [],
    ...extra,
  };
}

export const PACKAGES: SbomPackage[] = [
  deb('libc6', { version: '2.36-9+deb12u4', source: 'glibc', maintainer: 'GNU Libc Maintainers <debian-glibc@lists.debian.org>' }),
  deb('libssl3', {
    version: '3.0.11-1~deb12u2',
    source: 'openssl',
    maintainer: 'Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>',
    dependsOn: ['libc6'],
    license: parseDep5(`${FORMAT}Files: *\nCopyright: x\nLicense: Apache-2.0\n`),
  }),
  deb('netbase', {
    version: '6.4',
    architecture: 'all',
    maintainer: "Marco d'Itri <md@linux.it>",
    license: parseDep5(`${FORMAT}Files: *\nCopyright: x\nLicense: GPL-2\n`),
  }),
  deb('tzdata', {
    version: '2024a-0+deb12u1',
    architecture: 'all',
    license: parseDep5(`${FORMAT}Files: *\nCopyright: IANA\nLicense: public-domain\n This database is in the public domain.\n`),
  }),
  deb('base-files', { version: '12.4+deb12u5', maintainer: 'Santiago Vila <sanvila@debian.org>' }),
  deb('curl', { dependsOn: ['libssl3', 'libc6'], license: parseDep5(`${FORMAT}Files: *\nCopyright: x\nLicense: curl\n`) }),
];

export function input(overrides: Partial<ImageSbomInput> = {}): ImageSbomInput {
  return {
    toolVersion: '0.1.0',
    name: 'ghcr.io/acme/app',
    tag: '1.2.3',
    repositoryUrl: 'ghcr.io/acme/app',
    created: EPOCH,
    arch: arch('arm64'),
    manifest: { digest: digestOf('arm64 manifest'), size: 1234 },
    packages: PACKAGES,
    files: [
      { path: '/usr/local/bin/app', sha256: createHash('sha256').update('app').digest('hex') },
      { path: '/etc/app/config.yaml', sha256: createHash('sha256').update('cfg').digest('hex') },
    ],
    distro: 'debian-12',
    ...overrides,
  };
}
