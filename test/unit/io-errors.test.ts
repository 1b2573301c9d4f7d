import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AlbaError, asAlbaError, isAlbaError } from '../../src/errors.js';
import { idleMsFromEnvironment } from '../../src/http/limits.js';
import { makeDirs } from '../../src/util/make-dirs.js';

// A file system that refuses (permissions, a full or read-only disk, a file where a directory
// should be) is error[IO] naming the call, the path and what to check, not an internal error; and
// making directories never loops where the kernel answers ENOENT under an existing one (/proc),
// as Node's mkdir(…, { recursive: true }) does.

const dir = mkdtempSync(join(tmpdir(), 'alba-io-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const errno = (code: string, syscall: string, path: string, dest?: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: some reason, ${syscall} '${path}'`), { code, syscall, path, ...(dest === undefined ? {} : { dest }) });

test('file-system errors become IO naming call, path and a hint by code; anything else is left as it is', () => {
  const cases: [NodeJS.ErrnoException, RegExp, RegExp][] = [
    [errno('EACCES', 'mkdir', '/srv/out'), /^cannot mkdir \/srv\/out: EACCES: some reason$/, /permissions/],
    [errno('ENOSPC', 'write', '/srv/out/x'), /^cannot write \/srv\/out\/x: ENOSPC/, /full/],
    [errno('EROFS', 'open', '/ro/x'), /^cannot open \/ro\/x: EROFS/, /read-only/],
    [errno('ENOTDIR', 'mkdir', 'a/b'), /^cannot mkdir a\/b: ENOTDIR/, /broken symbolic link/],
    [errno('EMFILE', 'open', '/x'), /EMFILE/, /ulimit -n/],
    [errno('EXDEV', 'rename', '/a', '/b'), /^cannot rename \/a to \/b: EXDEV/, /check that path/],
    // a full disk fails a write, whose error names no path
    [
      Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' }),
      /^cannot write: ENOSPC/,
      /full/,
    ],
  ];
  for (const [err, message, hint] of cases) {
    const got = asAlbaError(err);
    assert.ok(isAlbaError(got, 'IO'), String(got));
    assert.match(got.message, message);
    assert.match(got.hint ?? '', hint);
    assert.equal(got.cause, err);
  }
  const alba = new AlbaError('USAGE', 'x');
  const network = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1' });
  const bug = new TypeError('x is undefined');
  for (const err of [alba, network, bug, 'text']) assert.equal(asAlbaError(err), err);
});

test('makeDirs makes missing parents, accepts directories (and links to them), and names what is in the way', () => {
  makeDirs(join(dir, 'a', 'b', 'c'));
  makeDirs(join(dir, 'a', 'b', 'c'));
  assert.ok(statSync(join(dir, 'a', 'b', 'c')).isDirectory());
  symlinkSync(join(dir, 'a'), join(dir, 'link'));
  makeDirs(join(dir, 'link', 'd'));
  assert.ok(statSync(join(dir, 'a', 'd')).isDirectory());
  writeFileSync(join(dir, 'file'), '');
  assert.throws(() => makeDirs(join(dir, 'file')), { code: 'EEXIST', path: join(dir, 'file') });
  assert.throws(() => makeDirs(join(dir, 'file', 'x')), { code: 'ENOTDIR' });
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
  assert.throws(() => makeDirs(join(dir, 'dangling', 'x')), { code: 'ENOENT' });
});

test("makeDirs under /proc ends with ENOENT (Node's recursive mkdir loops there forever)", { skip: process.platform !== 'linux' }, () => {
  // in a child: the loop it guards against would never return to the test's timeout
  const module = fileURLToPath(new URL('../../src/util/make-dirs.js', import.meta.url));
  const child = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { makeDirs } from ${JSON.stringify(module)}; try { makeDirs('/proc/alba-test/out'); } catch (e) { console.log(e.code); }`,
    ],
    { timeout: 10_000, encoding: 'utf8' },
  );
  assert.equal(child.signal, null, 'killed at its timeout: makeDirs looped');
  assert.equal(child.stdout.trim(), 'ENOENT');
});

test('ALBA_HTTP_IDLE_TIMEOUT: whole milliseconds, at most what a timer holds (a larger one fired at once)', () => {
  const saved = process.env.ALBA_HTTP_IDLE_TIMEOUT;
  try {
    for (const [value, ms] of [
      ['30', 30_000],
      ['0.0005', 1],
      ['1.0001', 1001],
      ['3000000', 2 ** 31 - 1],
      ['0', undefined],
      ['x', undefined],
    ] as const) {
      process.env.ALBA_HTTP_IDLE_TIMEOUT = value;
      assert.equal(idleMsFromEnvironment(), ms, value);
    }
  } finally {
    if (saved === undefined) delete process.env.ALBA_HTTP_IDLE_TIMEOUT;
    else process.env.ALBA_HTTP_IDLE_TIMEOUT = saved;
  }
});
