import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DebEntry } from './make-deb.js';
import { fakeElf, writeFakePrograms } from './fake-elf.js';
import { makeRepo, type Repo, type RepoKey, type RepoOptions, type RepoPackage } from './make-repo.js';

/**
 * A small distroless-like Debian repository for end-to-end tests: suite `bookworm`, component
 * `main`, archs amd64 and arm64. Every .deb is byte-for-byte deterministic (fixed mtimes, fixed
 * content; xz output is stable for one xz version), so images built from it have stable digests.
 *
 * | package         | arch        | depends on (resolved)                          | copyright        |
 * |-----------------|-------------|------------------------------------------------|------------------|
 * | base-files      | amd64 arm64 | —                                              | not DEP-5        |
 * | gcc-12-base     | amd64 arm64 | —                                              | none             |
 * | libgcc-s1       | amd64 arm64 | gcc-12-base (= 12.2.0-14)                      | none             |
 * | libc6           | amd64 arm64 | libgcc-s1                                      | not DEP-5        |
 * | tzdata          | all         | debconf (>= 0.5) \| debconf-2.0 (exclude them) | DEP-5            |
 * | ca-certificates | all         | openssl (>= 1.1.1), debconf... (exclude them)  | DEP-5            |
 *
 * base-files has `etc/os-release` → `../usr/lib/os-release`; libc6 and libgcc-s1 carry tiny ELF
 * files of their arch; tzdata has a hard link; ca-certificates has FIXTURE_CERTS.
 */

/** The suite of the fixture distro. */
export const FIXTURE_SUITE = 'bookworm';

/** The architectures the fixture distro has indexes for. */
export const FIXTURE_ARCHS = ['amd64', 'arm64'] as const;

/** What a recipe lists to get every fixture package (the rest come as dependencies). */
export const FIXTURE_PACKAGES = ['base-files', 'ca-certificates', 'libc6', 'tzdata'] as const;

/** What a recipe must exclude for FIXTURE_PACKAGES to resolve (as distroless does). */
export const FIXTURE_EXCLUDES = ['debconf', 'openssl'] as const;

/** Every package a build of FIXTURE_PACKAGES installs, by name, with version and Debian arch (`any` = per arch). */
export const FIXTURE_INSTALLED: Readonly<Record<string, { version: string; arch: 'any' | 'all' }>> = {
  'base-files': { version: '12.4+deb12u5', arch: 'any' },
  'ca-certificates': { version: '20230311', arch: 'all' },
  'gcc-12-base': { version: '12.2.0-14', arch: 'any' },
  libc6: { version: '2.36-9+deb12u7', arch: 'any' },
  'libgcc-s1': { version: '12.2.0-14', arch: 'any' },
  tzdata: { version: '2024a-0+deb12u1', arch: 'all' },
};

/** The dependency edges a resolved build has (package → packages that satisfied its Depends). */
export const FIXTURE_DEPENDS: Readonly<Record<string, readonly string[]>> = {
  'base-files': [],
  'ca-certificates': [],
  'gcc-12-base': [],
  libc6: ['libgcc-s1'],
  'libgcc-s1': ['gcc-12-base'],
  tzdata: [],
};

/** The SPDX licence each package's copyright file declares (NOASSERTION: not DEP-5, or none). */
export const FIXTURE_LICENSES: Readonly<Record<string, string>> = {
  'base-files': 'NOASSERTION',
  'ca-certificates': 'GPL-2.0-or-later AND MPL-2.0',
  'gcc-12-base': 'NOASSERTION',
  libc6: 'NOASSERTION',
  'libgcc-s1': 'NOASSERTION',
  tzdata: 'GPL-2.0-only AND LicenseRef-public-domain',
};

/** Self-signed Ed25519 test CA certificates shipped by the fixture ca-certificates, by file name. */
export const FIXTURE_CERTS: Readonly<Record<string, string>> = {
  'Alba_Test_ECC_Root.crt': `-----BEGIN CERTIFICATE-----
MIIBrzCCAWGgAwIBAgIUChOHHV6ES9e05bsIKKlkn6tte8YwBQYDK2VwME0xCzAJ
BgNVBAYTAlhYMSEwHwYDVQQKDBhBbGJhIFRlc3QgVHJ1c3QgU2VydmljZXMxGzAZ
BgNVBAMMEkFsYmEgVGVzdCBFQ0MgUm9vdDAeFw0yNjExMjIxMTE3MDFaFw00NjEx
MTcxMTE3MDFaME0xCzAJBgNVBAYTAlhYMSEwHwYDVQQKDBhBbGJhIFRlc3QgVHJ1
c3QgU2VydmljZXMxGzAZBgNVBAMMEkFsYmEgVGVzdCBFQ0MgUm9vdDAqMAUGAytl
cAMhAAkt+jLyseqd0XhCk6DQrwCBkGHQ348QXXlXBXznD2Vio1MwUTAdBgNVHQ4E
FgQUxD5R3fJzKcoAy2dWv6O4BCgJtvcwHwYDVR0jBBgwFoAUxD5R3fJzKcoAy2dW
v6O4BCgJtvcwDwYDVR0TAQH/BAUwAwEB/zAFBgMrZXADQQBHcoMmasWK94NHGFjv
UjLzfpS0cez6Yen51DFKN2iZnXSfHVnGwVm+FLSNuUXubxvua5c6wjTclhwU4UIH
5fYN
-----END CERTIFICATE-----
`,
  'Alba_Test_Root_CA_1.crt': `-----BEGIN CERTIFICATE-----
MIIBsTCCAWOgAwIBAgIUbulYvP1D1uaeSCrNa6gU8LgphGgwBQYDK2VwME4xCzAJ
BgNVBAYTAlhYMSEwHwYDVQQKDBhBbGJhIFRlc3QgVHJ1c3QgU2VydmljZXMxHDAa
BgNVBAMME0FsYmEgVGVzdCBSb290IENBIDEwHhcNMjYxMTIyMTExNzAxWhcNNDYx
MTE3MTExNzAxWjBOMQswCQYDVQQGEwJYWDEhMB8GA1UECgwYQWxiYSBUZXN0IFRy
dXN0IFNlcnZpY2VzMRwwGgYDVQQDDBNBbGJhIFRlc3QgUm9vdCBDQSAxMCowBQYD
K2VwAyEAIsguntynAWecupoDRQIIg6JpK11C1g6r9U69cBUy9SSjUzBRMB0GA1Ud
DgQWBBQPovbjAH2Lrb65CqpEDfXQv2jMMjAfBgNVHSMEGDAWgBQPovbjAH2Lrb65
CqpEDfXQv2jMMjAPBgNVHRMBAf8EBTADAQH/MAUGAytlcANBAHGmJqu/zLbIKd5H
d4yNuSHu7s0wmP+kECNNIFBCJU9ngA6bf6D0kdYABeN4OM76NzbYIeJEBsy/GWoY
X/i0oAU=
-----END CERTIFICATE-----
`,
  'Alba_Test_Root_CA_2.crt': `-----BEGIN CERTIFICATE-----
MIIBsTCCAWOgAwIBAgIUHI4D8mt4KMTjzpOUe7ioH+nF2RUwBQYDK2VwME4xCzAJ
BgNVBAYTAlhYMSEwHwYDVQQKDBhBbGJhIFRlc3QgVHJ1c3QgU2VydmljZXMxHDAa
BgNVBAMME0FsYmEgVGVzdCBSb290IENBIDIwHhcNMjYxMTIyMTExNzAxWhcNNDYx
MTE3MTExNzAxWjBOMQswCQYDVQQGEwJYWDEhMB8GA1UECgwYQWxiYSBUZXN0IFRy
dXN0IFNlcnZpY2VzMRwwGgYDVQQDDBNBbGJhIFRlc3QgUm9vdCBDQSAyMCowBQYD
K2VwAyEASXFbAZJCKoEl512ik2Ev5GdNNhuF5S0Gbw1OM1UeZVyjUzBRMB0GA1Ud
DgQWBBQ2zTmoSsSfUVCxDmjdvWEOaJTN+DAfBgNVHSMEGDAWgBQ2zTmoSsSfUVCx
DmjdvWEOaJTN+DAPBgNVHRMBAf8EBTADAQH/MAUGAytlcANBAJxuvDmTXykKt8/r
QNQ66GyExZ3jKXDXXK0KFtDW+CWcjLoy708Ac34cMOjzCvWl1mVyJsEc/aArpWwy
R9x0uwc=
-----END CERTIFICATE-----
`,
};

/** The os-release text of the fixture base-files (at usr/lib/os-release). */
export const FIXTURE_OS_RELEASE = `PRETTY_NAME="Alba Fixture GNU/Linux 12 (bookworm)"
NAME="Alba Fixture GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`;

const TRIPLETS: Record<string, string> = { amd64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
const LOADERS: Record<string, string> = { amd64: 'usr/lib64/ld-linux-x86-64.so.2', arm64: 'usr/lib/ld-linux-aarch64.so.1' };

const NOT_DEP5 = (what: string): string =>
  `This is the Debian prepackaged version of ${what}, put together for the alba tests.\n\nCopyright (C) 2024 The alba authors.\n\nIt is free software; see /usr/share/common-licenses/GPL-2 for the terms.\n`;

const TZDATA_COPYRIGHT = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tz
Source: https://www.iana.org/time-zones

Files: *
Copyright: none
License: public-domain
 This database is in the public domain.

Files: debian/*
Copyright: 2024 The alba authors
License: GPL-2
 On Debian systems the full text of the GNU General Public License version 2
 can be found in the file /usr/share/common-licenses/GPL-2.
`;

const CA_COPYRIGHT = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Source: https://salsa.debian.org/debian/ca-certificates

Files: *
Copyright: 2003 Fumitoshi UKAI <ukai@debian.or.jp>
License: GPL-2+
 On Debian systems the full text of the GNU General Public License version 2
 can be found in the file /usr/share/common-licenses/GPL-2.

Files: mozilla/*
Copyright: Mozilla Foundation
License: MPL-2.0
 On Debian systems the full text of the Mozilla Public License version 2.0
 can be found in the file /usr/share/common-licenses/MPL-2.0.
`;

const dir = (path: string): DebEntry => ({ path, type: 'directory' });
const file = (path: string, content: string | Buffer, mode = 0o644): DebEntry => ({ path, content, mode });

function baseFiles(arch: string): RepoPackage {
  return {
    arch,
    deb: {
      control: {
        Package: 'base-files',
        Version: FIXTURE_INSTALLED['base-files']!.version,
        Architecture: arch,
        Essential: 'yes',
        Priority: 'required',
        Section: 'admin',
        Maintainer: 'Santiago Vila <sanvila@debian.org>',
        'Multi-Arch': 'foreign',
      },
      files: [
        dir('./'),
        dir('./etc/'),
        file('./etc/debian_version', '12.5\n'),
        { path: './etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
        dir('./usr/'),
        dir('./usr/lib/'),
        file('./usr/lib/os-release', FIXTURE_OS_RELEASE),
        dir('./usr/share/'),
        dir('./usr/share/doc/'),
        dir('./usr/share/doc/base-files/'),
        file('./usr/share/doc/base-files/copyright', NOT_DEP5('base-files')),
      ],
    },
  };
}

function gccBase(arch: string): RepoPackage {
  return {
    arch,
    deb: {
      control: {
        Package: 'gcc-12-base',
        Version: '12.2.0-14',
        Architecture: arch,
        Source: 'gcc-12',
        'Multi-Arch': 'same',
        Priority: 'required',
        Section: 'libs',
        Maintainer: 'Debian GCC Maintainers <debian-gcc@lists.debian.org>',
      },
      files: [
        dir('./'),
        dir('./usr/'),
        dir('./usr/share/'),
        dir('./usr/share/doc/'),
        dir('./usr/share/doc/gcc-12-base/'),
        file('./usr/share/doc/gcc-12-base/README.Debian', 'gcc-12 for the alba tests\n'),
      ],
    },
  };
}

function libgcc(arch: string): RepoPackage {
  const lib = `./usr/lib/${TRIPLETS[arch]}`;
  return {
    arch,
    deb: {
      control: {
        Package: 'libgcc-s1',
        Version: '12.2.0-14',
        Architecture: arch,
        Source: 'gcc-12 (12.2.0-14)',
        'Multi-Arch': 'same',
        Priority: 'optional',
        Section: 'libs',
        Maintainer: 'Debian GCC Maintainers <debian-gcc@lists.debian.org>',
        Depends: 'gcc-12-base (= 12.2.0-14)',
      },
      files: [dir('./'), dir('./usr/'), dir('./usr/lib/'), dir(`${lib}/`), file(`${lib}/libgcc_s.so.1`, fakeElf(arch, 'libgcc_s'))],
    },
  };
}

function libc(arch: string): RepoPackage {
  const lib = `./usr/lib/${TRIPLETS[arch]}`;
  const loader = LOADERS[arch]!;
  return {
    arch,
    deb: {
      control: {
        Package: 'libc6',
        Version: FIXTURE_INSTALLED['libc6']!.version,
        Architecture: arch,
        Source: 'glibc',
        'Multi-Arch': 'same',
        Priority: 'optional',
        Section: 'libs',
        Maintainer: 'GNU Libc Maintainers <debian-glibc@lists.debian.org>',
        Depends: 'libgcc-s1',
        Breaks: 'hurd (<< 1:0.9.git20220301-2)',
      },
      files: [
        dir('./'),
        dir('./usr/'),
        dir('./usr/lib/'),
        dir(`${lib}/`),
        file(`${lib}/libc.so.6`, fakeElf(arch, 'libc.so.6'), 0o755),
        ...(loader.startsWith('usr/lib64/') ? [dir('./usr/lib64/')] : []),
        { path: `./${loader}`, type: 'symlink', linkname: `/lib/${TRIPLETS[arch]}/ld.so.fixture` },
        dir('./usr/share/'),
        dir('./usr/share/doc/'),
        dir('./usr/share/doc/libc6/'),
        file('./usr/share/doc/libc6/copyright', NOT_DEP5('the GNU C Library')),
      ],
    },
  };
}

const tzdata: RepoPackage = {
  arch: 'all',
  deb: {
    control: {
      Package: 'tzdata',
      Version: FIXTURE_INSTALLED['tzdata']!.version,
      Architecture: 'all',
      Priority: 'required',
      Section: 'localization',
      Maintainer: 'GNU Libc Maintainers <debian-glibc@lists.debian.org>',
      Depends: 'debconf (>= 0.5) | debconf-2.0',
      Provides: 'tzdata-bookworm',
    },
    files: [
      dir('./'),
      dir('./usr/'),
      dir('./usr/share/'),
      dir('./usr/share/zoneinfo/'),
      file('./usr/share/zoneinfo/UTC', Buffer.concat([Buffer.from('TZif2'), Buffer.alloc(39), Buffer.from('\nUTC0\n')])),
      dir('./usr/share/zoneinfo/Etc/'),
      { path: './usr/share/zoneinfo/Etc/UTC', type: 'link', linkname: './usr/share/zoneinfo/UTC' },
      dir('./usr/share/doc/'),
      dir('./usr/share/doc/tzdata/'),
      file('./usr/share/doc/tzdata/copyright', TZDATA_COPYRIGHT),
    ],
  },
};

const caCertificates: RepoPackage = {
  arch: 'all',
  deb: {
    control: {
      Package: 'ca-certificates',
      Version: FIXTURE_INSTALLED['ca-certificates']!.version,
      Architecture: 'all',
      Priority: 'optional',
      Section: 'misc',
      Maintainer: 'Julien Cristau <jcristau@debian.org>',
      Depends: 'openssl (>= 1.1.1), debconf (>= 0.5) | debconf-2.0',
      'Multi-Arch': 'foreign',
    },
    files: [
      dir('./'),
      dir('./etc/'),
      dir('./etc/ssl/'),
      dir('./etc/ssl/certs/'),
      dir('./usr/'),
      dir('./usr/share/'),
      dir('./usr/share/ca-certificates/'),
      dir('./usr/share/ca-certificates/mozilla/'),
      ...Object.entries(FIXTURE_CERTS).map(([name, pem]) => file(`./usr/share/ca-certificates/mozilla/${name}`, pem)),
      dir('./usr/share/doc/'),
      dir('./usr/share/doc/ca-certificates/'),
      file('./usr/share/doc/ca-certificates/copyright', CA_COPYRIGHT),
    ],
  },
};

/** The makeRepo options of the fixture distro; `extra` packages are added to `main` (e.g. hostile ones). */
export function fixtureDistroOptions(key?: RepoKey, extra: RepoPackage[] = []): RepoOptions {
  const perArch = FIXTURE_ARCHS.flatMap((arch) => [baseFiles(arch), gccBase(arch), libgcc(arch), libc(arch)]);
  return {
    ...(key === undefined ? {} : { key }),
    suites: [
      {
        name: FIXTURE_SUITE,
        architectures: [...FIXTURE_ARCHS],
        date: new Date(Date.UTC(2024, 4, 20)),
        components: [{ name: 'main', packages: [...perArch, tzdata, caCertificates, ...extra] }],
      },
    ],
  };
}

/** Writes the fixture distro (signed with `key`, or a fresh key) under `dir`. */
export function makeFixtureDistro(dir: string, key?: RepoKey, extra: RepoPackage[] = []): Promise<Repo> {
  return makeRepo(dir, fixtureDistroOptions(key, extra));
}

/** What a fixture recipe says beyond its sources. */
export interface FixtureRecipeSpec {
  /** Repository URL (the served fixture distro). */
  url: string;
  /** Keyring trusting the fixture's key. */
  keyring: string;
  name?: string;
  tag?: string;
  archs?: readonly string[];
  packages?: readonly string[];
  exclude?: readonly string[];
  /** Further YAML lines, appended as written (files:, run-as:, env:...). */
  extra?: readonly string[];
}

/** The YAML of a recipe over the fixture distro, with `source-date-epoch` pinned (1716163200). */
export function fixtureRecipeYaml(spec: FixtureRecipeSpec): string {
  return [
    `name: ${spec.name ?? 'test/fixture'}`,
    `tag: "${spec.tag ?? 'latest'}"`,
    `archs: [${(spec.archs ?? FIXTURE_ARCHS).join(', ')}]`,
    'sources:',
    `  - url: ${spec.url}`,
    `    suites: [${FIXTURE_SUITE}]`,
    '    components: [main]',
    `keyring: [${spec.keyring}]`,
    'resolve: dependencies',
    `packages: [${(spec.packages ?? FIXTURE_PACKAGES).join(', ')}]`,
    `exclude: [${(spec.exclude ?? FIXTURE_EXCLUDES).join(', ')}]`,
    'source-date-epoch: 1716163200',
    ...(spec.extra ?? []),
    '',
  ].join('\n');
}

/**
 * Recipe lines of a distroless-style application image: a per-arch program from
 * `dist/{os}/{arch}/app` at /usr/bin/app (0755), run as nonroot, with entrypoint, cmd, env,
 * workdir, labels, annotations and stop signal.
 */
export const FIXTURE_APP_LINES: readonly string[] = [
  'files:',
  '  - src: dist/{os}/{arch}/app',
  '    dst: /usr/bin/app',
  '    mode: "0755"',
  'run-as: nonroot',
  'entrypoint: [/usr/bin/app]',
  'cmd: [--serve]',
  'env:',
  '  APP_MODE: production',
  'workdir: /home/nonroot',
  'labels:',
  '  org.opencontainers.image.source: https://example.org/fixture-app',
  'annotations:',
  '  org.opencontainers.image.description: alba fixture application',
  'stop-signal: SIGTERM',
];

/** A project directory written by writeFixtureProject. */
export interface FixtureProject {
  dir: string;
  recipe: string;
  lock: string;
  /** The fake program of each arch (`dist/linux/<arch>/app`), by arch name. */
  programs: Map<string, string>;
}

/**
 * Writes `<dir>/recipe.yaml` (fixtureRecipeYaml of `spec`, with FIXTURE_APP_LINES when `spec.extra`
 * is not given) and a fake ELF program per arch under `<dir>/dist/`.
 */
export async function writeFixtureProject(dir: string, spec: FixtureRecipeSpec): Promise<FixtureProject> {
  await mkdir(dir, { recursive: true });
  const recipe = join(dir, 'recipe.yaml');
  await writeFile(recipe, fixtureRecipeYaml({ ...spec, extra: spec.extra ?? FIXTURE_APP_LINES }));
  const programs = await writeFakePrograms(join(dir, 'dist'), spec.archs ?? FIXTURE_ARCHS);
  return { dir, recipe, lock: join(dir, 'recipe.lock.json'), programs };
}
