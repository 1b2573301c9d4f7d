import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDigest } from '../../src/oci/digest.js';
import { debPurl, ociPurl, type DebPurlInput, type OciPurlInput } from '../../src/sbom/purl.js';

const HEX = '244fd47e07d1004f0aed9c156aa09083c82bf8944eceb67c946ff7430510a77b';
const DIGEST = parseDigest(`sha256:${HEX}`);

describe('debPurl', () => {
  const cases: [DebPurlInput, string][] = [
    [{ name: 'netbase', version: '6.4', arch: 'all', distro: 'debian-12' }, 'pkg:deb/debian/netbase@6.4?arch=all&distro=debian-12'],
    [
      { name: 'base-files', version: '12.4+deb12u5', arch: 'arm64', distro: 'debian-12' },
      'pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=arm64&distro=debian-12',
    ],
    [
      { name: 'libc6', version: '2.36-9+deb12u4', arch: 'amd64', distro: 'debian-12', source: 'glibc', sourceVersion: '2.36-9+deb12u4' },
      'pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc',
    ],
    [
      { name: 'attr', version: '1:2.4.47-2+b1', arch: 'amd64', source: 'attr', sourceVersion: '1:2.4.47-2' },
      'pkg:deb/debian/attr@1%3A2.4.47-2%2Bb1?arch=amd64&upstream=attr%401%3A2.4.47-2',
    ],
    [
      { name: 'libstdc++6', version: '12.2.0-14', arch: 'armhf', distro: 'debian-12', source: 'gcc-12', sourceVersion: '12.2.0-14' },
      'pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=armhf&distro=debian-12&upstream=gcc-12',
    ],
    [{ name: 'tzdata', version: '2024a-0+deb12u1', arch: 'all', source: 'tzdata' }, 'pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all'],
  ];
  for (const [input, expected] of cases) it(expected, () => assert.equal(debPurl(input), expected));
});

describe('ociPurl', () => {
  const cases: [OciPurlInput, string][] = [
    [{ name: 'debian', digest: DIGEST }, `pkg:oci/debian@sha256%3A${HEX}`],
    [
      { name: 'docker.io/library/debian', digest: DIGEST, arch: 'amd64', tag: 'latest', repositoryUrl: 'docker.io/library/debian' },
      `pkg:oci/debian@sha256%3A${HEX}?arch=amd64&repository_url=docker.io/library/debian&tag=latest`,
    ],
    [{ name: 'ghcr.io/Acme/MyApp', digest: DIGEST, tag: 'v1.2.3+build.4' }, `pkg:oci/myapp@sha256%3A${HEX}?tag=v1.2.3%2Bbuild.4`],
    [
      { name: 'localhost:5000/app', digest: DIGEST, repositoryUrl: 'localhost:5000/app', tag: '' },
      `pkg:oci/app@sha256%3A${HEX}?repository_url=localhost%3A5000/app`,
    ],
  ];
  for (const [input, expected] of cases) it(expected, () => assert.equal(ociPurl(input), expected));
});
