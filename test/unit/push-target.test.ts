import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { parseTags, parseTarget } from '../../src/sink/target.js';

describe('parseTarget', () => {
  const cases: [string, unknown][] = [
    [
      'docker://127.0.0.1:5000/team/app:1.0',
      { kind: 'registry', ref: { registry: '127.0.0.1:5000', repository: 'team/app' }, tag: '1.0', bare: false },
    ],
    ['docker://127.0.0.1:5000/team/app', { kind: 'registry', ref: { registry: '127.0.0.1:5000', repository: 'team/app' }, bare: false }],
    ['docker://docker.io/x', { kind: 'registry', ref: { registry: 'docker.io', repository: 'library/x' }, bare: false }],
    [
      'docker://docker.io/dxflrs/albatros:0.9',
      { kind: 'registry', ref: { registry: 'docker.io', repository: 'dxflrs/albatros' }, tag: '0.9', bare: false },
    ],
    ['docker://ghcr.io', { kind: 'registry', ref: { registry: 'ghcr.io', repository: '' }, bare: true }],
    ['docker://localhost:5000/', { kind: 'registry', ref: { registry: 'localhost:5000', repository: '' }, bare: true }],
    ['oci:out/app', { kind: 'layout', dir: 'out/app' }],
    ['s3://bucket/prefix?endpoint=x', { kind: 's3', url: 's3://bucket/prefix?endpoint=x' }],
  ];
  for (const [text, expected] of cases) test(text, () => assert.deepEqual(parseTarget(text), expected));

  for (const bad of ['127.0.0.1:5000/app', 'oci:', 'docker://h/App', 'docker://h/app@sha256:' + 'a'.repeat(64), 'ftp://x']) {
    test(`refuses ${bad}`, () =>
      assert.throws(
        () => parseTarget(bad),
        (err: unknown) => isAlbaError(err, 'USAGE'),
      ));
  }
});

describe('a target alba does not know', () => {
  // a mistyped scheme (URL parsers take `docker:/`, any case, leading blanks): refused, and the message holds no password
  for (const bad of [
    'docker:/u:S3CRET@reg.example/app',
    'DOCKER://u:S3CRET@reg.example/app',
    ' docker://u:S3CRET@reg.example/app',
    'https://u:S3CRET@reg.example/app',
  ])
    test(`${bad.replace('S3CRET', 'PASSWORD')} is USAGE without the password`, () =>
      assert.throws(
        () => parseTarget(bad),
        (err: unknown) =>
          isAlbaError(err, 'USAGE') && /^not a push target: .*reg\.example\/app/.test(err.message) && !err.message.includes('S3CRET'),
      ));
});

describe('parseTags', () => {
  test('NAME:TAG and TAG', () => {
    assert.deepEqual(parseTags(['team/app:1.0', 'latest', 'h:5000/x:y']), [
      { name: 'team/app', tag: '1.0' },
      { tag: 'latest' },
      { name: 'h:5000/x', tag: 'y' },
    ]);
  });
  test('a + is refused with a hint about the OCI tag grammar', () => {
    assert.throws(
      () => parseTags(['app:1.2.3+feat']),
      (err: unknown) => isAlbaError(err, 'USAGE') && /\+/.test(err.hint ?? ''),
    );
  });
  test('a tag starting with . or over 128 characters is refused', () => {
    assert.throws(
      () => parseTags(['app:.x']),
      (err: unknown) => isAlbaError(err, 'USAGE'),
    );
    assert.throws(
      () => parseTags([`app:${'a'.repeat(129)}`]),
      (err: unknown) => isAlbaError(err, 'USAGE'),
    );
  });
});
