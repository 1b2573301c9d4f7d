import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { openArchiveSink } from '../../src/sink/archive/archive-sink.js';
import { writeOutputFile } from '../../src/util/output-file.js';

// An output file the user names (an archive's --out, --digest-file…) never replaces what is not a
// regular file: a symbolic link is followed (its target replaced, the link kept), a FIFO or a
// device is written through (a rename there put a regular file where /dev/null was).

const dir = mkdtempSync(join(tmpdir(), 'alba-output-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a new file, a regular file, a link to one and a link to nothing yet', async () => {
  await writeOutputFile(join(dir, 'new'), 'a\n');
  assert.equal(readFileSync(join(dir, 'new'), 'utf8'), 'a\n');
  await writeOutputFile(join(dir, 'new'), 'b\n');
  assert.equal(readFileSync(join(dir, 'new'), 'utf8'), 'b\n');
  mkdirSync(join(dir, 'shared'));
  writeFileSync(join(dir, 'shared', 'digest'), 'old\n');
  symlinkSync(join(dir, 'shared', 'digest'), join(dir, 'digest'));
  await writeOutputFile(join(dir, 'digest'), 'sha256:x\n');
  assert.ok(lstatSync(join(dir, 'digest')).isSymbolicLink(), 'the link was replaced');
  assert.equal(readFileSync(join(dir, 'shared', 'digest'), 'utf8'), 'sha256:x\n');
  symlinkSync(join(dir, 'shared', 'later'), join(dir, 'later'));
  await writeOutputFile(join(dir, 'later'), 'c\n');
  assert.equal(readlinkSync(join(dir, 'later')), join(dir, 'shared', 'later'));
  assert.equal(readFileSync(join(dir, 'shared', 'later'), 'utf8'), 'c\n');
  await assert.rejects(writeOutputFile(dir, 'x'), (err: unknown) => isAlbaError(err, 'IO') && err.message.includes(dir));
});

test('/dev/stdout redirected to a file (a link through /proc/self/fd) is appended to, never replaced', async () => {
  const log = join(dir, 'log');
  writeFileSync(log, 'what alba printed\n');
  const fd = openSync(log, 'a');
  try {
    const inode = statSync(log).ino;
    await writeOutputFile(`/proc/self/fd/${fd}`, 'sha256:z\n');
    assert.equal(readFileSync(log, 'utf8'), 'what alba printed\nsha256:z\n');
    assert.equal(statSync(log).ino, inode, 'the file behind the descriptor was replaced');
  } finally {
    closeSync(fd);
  }
});

/** A FIFO with a reader (cat, killed after 10 s at most): what the reader got. */
async function throughFifo(name: string, write: (path: string) => Promise<void>): Promise<Buffer> {
  const fifo = join(dir, name);
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const reader = spawn('cat', [fifo], { timeout: 10_000 });
  const got: Buffer[] = [];
  reader.stdout.on('data', (c: Buffer) => got.push(c));
  const ended = new Promise((resolve) => reader.on('close', resolve));
  await write(fifo);
  await ended;
  assert.ok(lstatSync(fifo).isFIFO(), 'the FIFO was replaced by a file');
  return Buffer.concat(got);
}

test('a FIFO is written through, by writeOutputFile and by an archive', { timeout: 30_000 }, async () => {
  assert.equal((await throughFifo('digest-fifo', (path) => writeOutputFile(path, 'sha256:y\n'))).toString(), 'sha256:y\n');
  const tar = await throughFifo('archive-fifo', async (path) => {
    const sink = await openArchiveSink({ file: path, format: 'oci-archive' });
    await sink.finish(true);
  });
  assert.match(tar.subarray(0, 100).toString('latin1'), /^oci-layout/);
});

test("an archive's temp files that killed runs left an hour ago are swept; a younger one (a run under way) is kept", async () => {
  const old = join(dir, '.img.tar.alba-123-deadbeef');
  const young = join(dir, '.img.tar.alba-456-cafebabe');
  writeFileSync(old, 'partial');
  writeFileSync(young, 'partial');
  const hourAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
  utimesSync(old, hourAgo, hourAgo);
  const sink = await openArchiveSink({ file: join(dir, 'img.tar'), format: 'oci-archive' });
  await sink.finish(true);
  assert.equal(existsSync(old), false, 'the old temp is still there');
  assert.equal(existsSync(young), true, 'a temp in use was removed');
  assert.ok(existsSync(join(dir, 'img.tar')));
});
