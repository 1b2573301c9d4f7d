import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { acquirePathLock } from '../../src/util/path-lock.js';

// The one-writer lock of an output path: waits for a live holder, takes over a dead one's, and
// never mistakes a lock file its holder has not written its pid into yet for an abandoned one; a
// lock it cannot write is that error, not "held for too long".

const dir = await mkdtemp(join(tmpdir(), 'alba-path-lock-'));
after(() => rm(dir, { recursive: true, force: true }));
const tooLong = (pid: number): Error => new Error(`held by ${pid} for too long`);

test('a live holder is waited for (and named once); the lock is taken when it is released', async () => {
  const path = join(dir, 'live.lock');
  const release = await acquirePathLock(path, () => assert.fail('nobody to wait for'), tooLong);
  assert.match(await readFile(path, 'utf8'), new RegExp(`^${process.pid}( \\d+)?\n$`));
  const waited: number[] = [];
  let taken = false;
  const second = acquirePathLock(path, (pid) => waited.push(pid), tooLong).then((r) => ((taken = true), r));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(taken, false, 'the second writer waits');
  assert.deepEqual(waited, [process.pid]);
  await release();
  await (
    await second
  )();
  assert.equal(taken, true);
});

test('a lock whose process is gone is taken over; an empty one only once it is old', async () => {
  const dead = join(dir, 'dead.lock');
  await writeFile(dead, '2147483646\n');
  await (
    await acquirePathLock(dead, () => assert.fail('a dead holder is not waited for'), tooLong)
  )();
  const empty = join(dir, 'empty.lock');
  await writeFile(empty, '');
  let taken = false;
  const pending = acquirePathLock(empty, () => undefined, tooLong).then((r) => ((taken = true), r));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(taken, false, 'a fresh lock without a pid is being written: wait');
  const old = new Date(Date.now() - 60_000);
  await utimes(empty, old, old);
  await (
    await pending
  )();
  assert.equal(taken, true, 'an old one is abandoned');
});

test("the wait ends with the caller's error; a lock that cannot be written is its own error, at once", async () => {
  const path = join(dir, 'held.lock');
  const release = await acquirePathLock(path, () => undefined, tooLong);
  await assert.rejects(
    acquirePathLock(path, () => undefined, tooLong, 300),
    new RegExp(`held by ${process.pid} for too long`),
  );
  await release();
  const file = join(dir, 'a-file');
  await writeFile(file, '');
  await assert.rejects(
    acquirePathLock(join(file, 'x.lock'), () => undefined, tooLong),
    { code: 'ENOTDIR' },
  );
});

test('a lock whose pid now names another process (started at another time) is taken over', async () => {
  const reused = join(dir, 'reused.lock');
  // this process's pid, but a start time it does not have: the holder was killed and its pid given again
  await writeFile(reused, `${process.pid} 1\n`);
  await (
    await acquirePathLock(reused, () => assert.fail('a reused pid is not waited for'), tooLong, 2000)
  )();
});

test('a directory, a FIFO or a link to nothing where the lock file goes is error[IO] naming it, at once', { timeout: 10_000 }, async () => {
  const folder = join(dir, 'folder.lock');
  await mkdir(folder);
  const fifo = join(dir, 'fifo.lock');
  execFileSync('mkfifo', [fifo]);
  const dangling = join(dir, 'dangling.lock');
  await symlink(join(dir, 'nowhere'), dangling);
  for (const path of [folder, fifo, dangling])
    await assert.rejects(
      acquirePathLock(path, () => undefined, tooLong, 2000),
      (err: unknown) => isAlbaError(err, 'IO') && err.message.startsWith(path),
    );
});

test('waiters that all find the lock abandoned take it one at a time (never two holders)', { timeout: 60_000 }, async () => {
  const module = new URL('../../src/util/path-lock.js', import.meta.url).href;
  const lock = join(dir, 'race.lock');
  const log = join(dir, 'race.log');
  // each child takes the lock, notes when it held it, holds it 100 ms and lets go
  const child = `const { acquirePathLock } = await import(${JSON.stringify(module)});
    const { appendFileSync } = await import('node:fs');
    const release = await acquirePathLock(${JSON.stringify(lock)}, () => undefined, () => new Error('too long'));
    const start = performance.timeOrigin + performance.now();
    await new Promise((r) => setTimeout(r, 100));
    appendFileSync(${JSON.stringify(log)}, start + ' ' + (performance.timeOrigin + performance.now()) + '\\n');
    await release();`;
  for (let round = 0; round < 6; round++) {
    await writeFile(lock, '2147483646\n'); // a killed holder's
    await writeFile(log, '');
    await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<void>((resolve, reject) => {
            const p = spawn(process.execPath, ['--input-type=module', '-e', child], { stdio: 'inherit' });
            p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`child exited ${code}`))));
          }),
      ),
    );
    const held = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split(' ').map(Number) as [number, number])
      .sort((a, b) => a[0] - b[0]);
    assert.equal(held.length, 4);
    for (let i = 1; i < held.length; i++)
      assert.ok(held[i]![0] >= held[i - 1]![1], `round ${round}: two holders at once (${JSON.stringify(held)})`);
  }
});
