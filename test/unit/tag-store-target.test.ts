import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { openTagStore } from '../../src/sink/target.js';

// ls, rm, gc and repair act on the repository -t names; a target URL naming another one is USAGE
// before any request (port 1: nothing listens, so a request would be NETWORK, not USAGE).

test('docker://HOST/REPO with -t naming another repository, or with a tag, is refused before any request', async () => {
  for (const [target, name] of [
    ['docker://127.0.0.1:1/other', 'app'],
    ['docker://127.0.0.1:1/team/app', 'app'],
    ['docker://127.0.0.1:1/app:1.0', 'app'],
  ] as const) {
    await assert.rejects(
      openTagStore(target, { kind: 'container', name }),
      (err: unknown) => isAlbaError(err, 'USAGE') && err.message.includes(`-t names ${name}`),
      `${target} -t ${name}`,
    );
  }
});

test('docker://HOST/REPO with -t naming the same repository, and docker://HOST with -t NAME, go on to the registry', async () => {
  for (const [target, name] of [
    ['docker://127.0.0.1:1/team/app', 'team/app'],
    ['docker://127.0.0.1:1', 'team/app'],
  ] as const) {
    await assert.rejects(
      openTagStore(target, { kind: 'container', name }, { registry: async () => ({ retry: { retries: 0, baseMs: 1, maxMs: 1 } }) }),
      (err: unknown) => isAlbaError(err, 'NETWORK'),
      `${target} -t ${name}`,
    );
  }
});

test('static binaries never go under v2/, where the static registry keeps its images (a tag "blobs" would sweep them)', async () => {
  const { checkStaticPrefix } = await import('../../src/sink/s3/static-binaries.js');
  for (const [prefix, name] of [
    ['v2', 'app'],
    ['', 'v2'],
    ['/v2/', 'app'],
  ] as const)
    assert.throws(
      () => checkStaticPrefix(prefix, name),
      (err: unknown) => isAlbaError(err, 'USAGE') && /under v2\//.test(err.message),
      `${prefix} ${name}`,
    );
  for (const [prefix, name] of [
    ['df-dist-v1', 'app'],
    ['', 'app'],
    ['dist/v2', 'app'],
  ] as const)
    checkStaticPrefix(prefix, name);
});
