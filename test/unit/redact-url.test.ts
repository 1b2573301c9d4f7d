import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAlbaError, redactUrl } from '../../src/errors.js';
import { parseProxy } from '../../src/http/proxy.js';
import { splitCredentials } from '../../src/http/request.js';

// What a message may show of a URL: never a password (whatever it holds), never a presigned URL's signature.

test('redactUrl drops the user part, up to the last @ of the authority (a password may hold @)', () => {
  assert.equal(redactUrl('https://u:p@ss@host/x'), 'https://host/x');
  assert.equal(redactUrl('http://user:pass@127.0.0.1:5000/v2/'), 'http://127.0.0.1:5000/v2/');
  assert.equal(redactUrl('https://host/v2/x'), 'https://host/v2/x');
  assert.equal(redactUrl('docker://host/repo@sha256:abc'), 'docker://host/repo@sha256:abc', 'an @ after the authority is no user part');
});

test('redactUrl drops the user part of every form a URL parser accepts and fetches with', () => {
  for (const [text, shown] of [
    ['https:/u:SECRET@host/x', 'https:/host/x'],
    ['https:\\\\u:SECRET@host/x', 'https:\\\\host/x'],
    ['https:u:SECRET@host/x', 'https:host/x'],
    [' https://u:SECRET@host/x', ' https://host/x'],
    ['\thttp://u:SEC\tRET@host/x', '\thttp://host/x'],
  ] as const) {
    assert.ok(URL.canParse(text) && new URL(text).password !== '', `${text} is a URL with a password`);
    assert.equal(redactUrl(text), shown);
  }
});

test('redactUrl of text that is no URL because its password holds # or ? drops it too, keeping a digest', () => {
  assert.equal(redactUrl('https://u:pa#SECRET@host/x'), 'https://host/x');
  assert.equal(redactUrl('https://u:pa?SECRET@host/x'), 'https://host/x');
  assert.equal(redactUrl('docker://u:pa#SECRET@host/repo@sha256:abc'), 'docker://host/repo@sha256:abc');
});

test('redactUrl of text that is no URL (a password holding /) drops everything up to its last @', () => {
  const shown = redactUrl('https://u:ab/cd@host/x');
  assert.equal(shown, 'https://host/x');
});

test("redactUrl masks the values of a presigned URL's credentials, keeping the rest", () => {
  const shown = redactUrl(
    'https://storage/b/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F20261204&X-Amz-Signature=deadbeef&X-Amz-Security-Token=tok&sig=s1&_state=st',
  );
  assert.equal(
    shown,
    'https://storage/b/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED&sig=REDACTED&_state=st',
  );
});

test('a proxy URL whose password holds / or a bad % escape is USAGE, never printing the password', () => {
  for (const [text, secret] of [
    ['http://u:ab/cd@proxy:3128', 'ab/cd'],
    ['http://u:s3cr%ZZ@proxy:3128', 's3cr'],
  ] as const) {
    assert.throws(
      () => parseProxy(text),
      (err: unknown) =>
        isAlbaError(err, 'USAGE') && !err.message.includes(secret) && !err.message.includes('cd@') && err.message.includes('proxy:3128'),
      text,
    );
  }
});

test('credentials in a URL with a bad % escape are USAGE, not a URIError', () => {
  assert.throws(
    () => splitCredentials('http://u:s3cr%ZZ@host/x'),
    (err: unknown) => isAlbaError(err, 'USAGE') && !err.message.includes('s3cr'),
  );
});

test('an image reference whose user part is percent-encoded (u%3APASS%40host) is shown without it: a bad registry host never prints the password', async () => {
  const { parseReference } = await import('../../src/sink/registry/reference.js');
  const { parseTarget } = await import('../../src/sink/target.js');
  for (const parse of [
    () => parseReference('u%3AS3CRET%40127.0.0.1:5000/app:1'),
    () => parseTarget('docker://u%3AS3CRET%40127.0.0.1:5000/app'),
  ])
    assert.throws(
      parse,
      (err: unknown) => isAlbaError(err, 'USAGE') && !err.message.includes('S3CRET') && /127\.0\.0\.1:5000/.test(err.message),
    );
});
