import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { parseDigest } from '../../src/oci/digest.js';
import { parseChallenges, parseCredentials, basicAuthorization } from '../../src/sink/registry/auth.js';
import {
  formatReference,
  manifestReference,
  parseReference,
  registryBaseUrl,
  type ImageReference,
} from '../../src/sink/registry/reference.js';
import { parseErrorBody, RegistryError } from '../../src/sink/registry/registry-error.js';

const D = parseDigest(`sha256:${'ab'.repeat(32)}`);

describe('parseReference', () => {
  const cases: [string, ImageReference][] = [
    ['127.0.0.1:5000/team/app:1.0', { registry: '127.0.0.1:5000', repository: 'team/app', tag: '1.0' }],
    ['127.0.0.1:5000/team/app', { registry: '127.0.0.1:5000', repository: 'team/app', tag: 'latest' }],
    [`ghcr.io/o/app@${D}`, { registry: 'ghcr.io', repository: 'o/app', digest: D }],
    [`localhost/app:v1@${D}`, { registry: 'localhost', repository: 'app', tag: 'v1', digest: D }],
    ['[::1]:5000/a/b/c:x_Y.1-2', { registry: '[::1]:5000', repository: 'a/b/c', tag: 'x_Y.1-2' }],
    ['debian:bookworm', { registry: 'docker.io', repository: 'library/debian', tag: 'bookworm' }],
    ['team/app', { registry: 'docker.io', repository: 'team/app', tag: 'latest' }],
    ['reg.example:443/a__b/c-d.e:1', { registry: 'reg.example:443', repository: 'a__b/c-d.e', tag: '1' }],
  ];
  for (const [input, expected] of cases) {
    test(input, () => assert.deepEqual(parseReference(input), expected));
  }

  const invalid: [string, RegExp][] = [
    ['', /bad repository name/],
    ['host.io/App:1', /bad repository name "App"/],
    ['host.io/app:', /bad tag ""/],
    [`host.io/app:${'t'.repeat(129)}`, /bad tag/],
    ['host.io/app@sha256:abc', /sha256:<64 lowercase hex>/],
    [`host.io/app@sha512:${'a'.repeat(128)}`, /sha256:<64 lowercase hex>/],
    ['host.io//app', /bad repository name/],
    ['ho_st.io/app', /bad registry host/],
    ['host.io/app/', /bad repository name/],
  ];
  for (const [input, why] of invalid) {
    test(`refuses ${JSON.stringify(input.slice(0, 40))}`, () => {
      assert.throws(
        () => parseReference(input),
        (err: unknown) => isAlbaError(err, 'USAGE') && why.test(err.message),
      );
    });
  }

  test('a reference holding user:password@ is refused without printing them', () => {
    for (const input of ['reader:S3CRET@ghcr.io/acme/app:1.0', 'reader:S3C@RET@ghcr.io/acme/app@sha256:abc']) {
      assert.throws(
        () => parseReference(input),
        (err: unknown) => isAlbaError(err, 'USAGE') && !/S3C|reader/.test(err.message) && err.message.includes('ghcr.io/acme/app'),
        input,
      );
    }
  });

  test('formatReference and manifestReference', () => {
    const cases: [string, string, string][] = [
      ['127.0.0.1:5000/team/app:1.0', '127.0.0.1:5000/team/app:1.0', '1.0'],
      [`h.io/a:t@${D}`, `h.io/a:t@${D}`, D],
      ['busybox', 'docker.io/library/busybox:latest', 'latest'],
    ];
    for (const [input, formatted, reference] of cases) {
      const ref = parseReference(input);
      assert.equal(formatReference(ref), formatted);
      assert.equal(manifestReference(ref), reference);
    }
  });
});

describe('registryBaseUrl', () => {
  const cases: [string, boolean, string][] = [
    ['127.0.0.1:5000', false, 'http://127.0.0.1:5000'],
    ['127.1.2.3', false, 'http://127.1.2.3'],
    ['localhost:5000', false, 'http://localhost:5000'],
    ['[::1]:5000', false, 'http://[::1]:5000'],
    ['ghcr.io', false, 'https://ghcr.io'],
    ['reg.internal:5000', true, 'http://reg.internal:5000'],
    ['docker.io', false, 'https://registry-1.docker.io'],
    ['127.0.0.1.example.com', false, 'https://127.0.0.1.example.com'],
  ];
  for (const [registry, plain, expected] of cases) {
    test(`${registry}${plain ? ' --plain-http' : ''}`, () => assert.equal(registryBaseUrl(registry, plain), expected));
  }
});

describe('auth', () => {
  test('parseChallenges', () => {
    const cases: [string, ReturnType<typeof parseChallenges>][] = [
      ['Basic realm="test-registry"', [{ scheme: 'basic', params: { realm: 'test-registry' } }]],
      [
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/x:pull,push"',
        [
          {
            scheme: 'bearer',
            params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/x:pull,push' },
          },
        ],
      ],
      ['bearer realm=http://h/t, service=s', [{ scheme: 'bearer', params: { realm: 'http://h/t', service: 's' } }]],
      [
        'Basic realm="a \\"b\\"", Bearer realm="r"',
        [
          { scheme: 'basic', params: { realm: 'a "b"' } },
          { scheme: 'bearer', params: { realm: 'r' } },
        ],
      ],
      ['', []],
    ];
    for (const [header, expected] of cases) assert.deepEqual(parseChallenges(header), expected, header);
  });

  test('parseCredentials keeps colons in the password; refuses a missing user or colon', () => {
    assert.deepEqual(parseCredentials('alice:pa:ss', '--creds'), { username: 'alice', password: 'pa:ss' });
    assert.deepEqual(parseCredentials('bob:', '--creds'), { username: 'bob', password: '' });
    for (const bad of ['alice', ':pw', '']) {
      assert.throws(
        () => parseCredentials(bad, 'ALBA_REGISTRY_AUTH'),
        (err: unknown) => isAlbaError(err, 'USAGE') && /^ALBA_REGISTRY_AUTH must be/.test(err.message),
      );
    }
    assert.equal(basicAuthorization({ username: 'alice', password: 'pa:ss' }), `Basic ${Buffer.from('alice:pa:ss').toString('base64')}`);
  });
});

describe('registry errors', () => {
  test('parseErrorBody', () => {
    const cases: [string, ReturnType<typeof parseErrorBody>][] = [
      [
        '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{"name":"x"}}]}',
        [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry', detail: { name: 'x' } }],
      ],
      ['{"errors":[{"message":"m"},7]}', [{ code: 'UNKNOWN', message: 'm' }]],
      ['404 page not found\n', []],
      ['{"errors":null}', []],
      ['null', []],
    ];
    for (const [body, expected] of cases) assert.deepEqual(parseErrorBody(body), expected, body);
  });

  test('message and hint', () => {
    const cases: [ConstructorParameters<typeof RegistryError>[0], RegExp, RegExp][] = [
      [
        {
          method: 'GET',
          url: 'http://u:p@h/v2/a/manifests/1',
          status: 404,
          errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }],
        },
        /^GET http:\/\/h\/v2\/a\/manifests\/1: 404 MANIFEST_UNKNOWN: manifest unknown$/,
        /no such repository, tag or digest/,
      ],
      [{ method: 'GET', url: 'http://h/v2/', status: 401, errors: [], anonymous: true }, /: 401 unauthorized$/, /--creds USER:PASSWORD/],
      [
        { method: 'GET', url: 'http://h/v2/', status: 401, errors: [], anonymous: false },
        /: 401 unauthorized$/,
        /refused these credentials/,
      ],
      [{ method: 'GET', url: 'http://h/v2/x', status: 503, errors: [] }, /: 503 no error details$/, /retry later/],
      [
        { method: 'GET', url: 'http://h/v2/x', status: 429, errors: [{ code: 'TOOMANYREQUESTS', message: '' }] },
        /: 429 TOOMANYREQUESTS$/,
        /retry later/,
      ],
      [
        { method: 'GET', url: 'http://h/v2/x', status: 404, errors: [{ code: 'NAME_UNKNOWN', message: 'n' }] },
        /NAME_UNKNOWN: n/,
        /repository does not exist/,
      ],
    ];
    for (const [failure, message, hint] of cases) {
      const err = new RegistryError(failure);
      assert.ok(isAlbaError(err, 'REGISTRY'));
      assert.match(err.message, message);
      assert.match(err.hint ?? '', hint);
      assert.equal(err.status, failure.status);
      assert.doesNotMatch(err.url, /u:p@/);
    }
  });
});
