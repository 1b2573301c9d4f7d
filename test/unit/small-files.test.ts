import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AlbaError, isAlbaError, type ErrorCode } from '../../src/errors.js';
import { loadKeyring } from '../../src/debian/keyring.js';
import { tlsConnectOptions } from '../../src/http/request.js';
import { loadRecipe } from '../../src/recipe/load.js';
import { locateCredentials } from '../../src/sink/registry/credentials.js';
import { readSmallFile, readSmallFileSync } from '../../src/util/regular-file.js';

// Files a user names that alba reads whole (a recipe, a keyring, --ca-file, a docker config): a
// FIFO is never waited on, a directory or a device (/dev/zero) is refused before any read, and
// nothing past the cap is kept — each as the caller's error naming the file. Before, /dev/zero as
// --ca-file or keyring grew to gigabytes, and a FIFO hung the command.

const dir = mkdtempSync(join(tmpdir(), 'alba-small-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fifo = join(dir, 'fifo');
execFileSync('mkfifo', [fifo]);
mkdirSync(join(dir, 'folder'));
writeFileSync(join(dir, 'big'), Buffer.alloc(2000));
const refuse = (why: string): Error => new AlbaError('USAGE', `x ${why}`);

test('readSmallFile: regular files whole, a missing one as the system error, the rest refused', async () => {
  writeFileSync(join(dir, 'small'), 'hello');
  assert.equal((await readSmallFile(join(dir, 'small'), 10, refuse)).toString(), 'hello');
  assert.equal(readSmallFileSync(join(dir, 'small'), 10, refuse).toString(), 'hello');
  await assert.rejects(readSmallFile(join(dir, 'none'), 10, refuse), { code: 'ENOENT' });
  assert.throws(() => readSmallFileSync(join(dir, 'none'), 10, refuse), { code: 'ENOENT' });
  for (const [path, why] of [
    [fifo, /not a regular file/],
    [join(dir, 'folder'), /not a regular file/],
    ['/dev/zero', /not a regular file/],
    [join(dir, 'big'), /2000 bytes, more than the 1000/],
  ] as const) {
    await assert.rejects(readSmallFile(path, 1000, refuse), (err: unknown) => isAlbaError(err, 'USAGE') && why.test(err.message));
    assert.throws(
      () => readSmallFileSync(path, 1000, refuse),
      (err: unknown) => isAlbaError(err, 'USAGE') && why.test(err.message),
    );
  }
  // a /proc file says 0 bytes and has more: counted as read
  await assert.rejects(readSmallFile('/proc/self/status', 10, refuse), /more than 10 bytes/);
});

test('each reader refuses with its own code, naming the file', async () => {
  const cases: [ErrorCode, string, () => Promise<unknown>][] = [
    ['USAGE', '--ca-file /dev/zero', async () => tlsConnectOptions({ caFile: '/dev/zero' })],
    ['USAGE', `--ca-file ${fifo}`, async () => tlsConnectOptions({ caFile: fifo })],
    ['KEYRING_MISSING', `keyring /dev/zero`, () => loadKeyring(['/dev/zero'])],
    ['KEYRING_MISSING', `keyring ${fifo}`, () => loadKeyring([fifo])],
    ['RECIPE_NOT_FOUND', `recipe ${fifo}`, () => loadRecipe(fifo)],
    ['RECIPE_NOT_FOUND', `recipe ${join(dir, 'folder')}`, () => loadRecipe(join(dir, 'folder'))],
  ];
  for (const [code, named, read] of cases)
    await assert.rejects(read(), (err: unknown) => isAlbaError(err, code) && err.message.startsWith(named), named);
});

test('a docker config that is a directory or a device is USAGE; a helper answering other than strings too', async () => {
  const none = { HOME: join(dir, 'nohome') };
  mkdirSync(join(dir, 'docker-dir', 'config.json'), { recursive: true });
  mkdirSync(join(dir, 'docker-zero'));
  symlinkSync('/dev/zero', join(dir, 'docker-zero', 'config.json'));
  mkdirSync(join(dir, 'docker-fifo'));
  execFileSync('mkfifo', [join(dir, 'docker-fifo', 'config.json')]);
  for (const config of ['docker-dir', 'docker-zero', 'docker-fifo'])
    await assert.rejects(
      locateCredentials('r.example', { env: { ...none, DOCKER_CONFIG: join(dir, config) } }),
      (err: unknown) => isAlbaError(err, 'USAGE') && err.message.startsWith(join(dir, config, 'config.json')),
      config,
    );
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'docker-credential-odd'), '#!/bin/sh\necho \'{"Username":[1],"Secret":{"a":1}}\'\n', { mode: 0o755 });
  await assert.rejects(
    locateCredentials('r.example', {
      env: { ...none, PATH: `${bin}:${process.env.PATH ?? ''}`, DOCKER_AUTH_CONFIG: JSON.stringify({ credsStore: 'odd' }) },
    }),
    (err: unknown) => isAlbaError(err, 'USAGE') && /without a string Username and Secret/.test(err.message),
  );
});

test('a FIFO as --ca-file ends at once in a child process (a blocking read would hang it)', () => {
  const module = fileURLToPath(new URL('../../src/http/request.js', import.meta.url));
  const child = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { tlsConnectOptions } from ${JSON.stringify(module)}; try { tlsConnectOptions({ caFile: ${JSON.stringify(fifo)} }); } catch (e) { console.log(e.code); }`,
    ],
    { timeout: 10_000, encoding: 'utf8' },
  );
  assert.equal(child.signal, null, 'killed at its timeout: the read blocked');
  assert.equal(child.stdout.trim(), 'USAGE');
});
