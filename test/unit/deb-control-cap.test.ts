import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readControl } from '../../src/debian/deb-reader.js';
import { isAlbaError } from '../../src/errors.js';
import { makeDeb } from '../helpers/make-deb.js';

// A package's control.tar is read into memory: only the files alba reads are kept, each capped
// (64 MiB); anything else in it (a 70 MiB "junk" entry of zeros: a few kB of xz) is read past,
// never kept nor refused.

const dir = await mkdtemp(join(tmpdir(), 'alba-deb-control-'));
after(() => rm(dir, { recursive: true, force: true }));
const control = { Package: 'bomb', Version: '1', Architecture: 'amd64', Maintainer: 'x <x@example.org>', Description: 'x' };
const huge = Buffer.alloc(70 * 1024 * 1024, 0x30);

test('an entry alba does not read is read past, however large', async () => {
  const deb = join(dir, 'junk.deb');
  await writeFile(deb, await makeDeb({ control, extraControl: { junk: huge.toString('latin1') } }));
  const read = await readControl(deb);
  assert.match(read.control, /^Package: bomb$/m, 'the cap is on what alba keeps, not on what it reads past');
});

test('a file alba reads (md5sums) larger than 64 MiB is DEB_INVALID, not read into memory', async () => {
  const deb = join(dir, 'md5sums.deb');
  await writeFile(deb, await makeDeb({ control, extraControl: { md5sums: huge.toString('latin1') } }));
  await assert.rejects(
    readControl(deb),
    (err: unknown) => isAlbaError(err, 'DEB_INVALID') && /md5sums is \d+ bytes, more than/.test(err.message),
  );
});
