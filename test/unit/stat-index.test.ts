import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { statSync, type BigIntStats } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { damageInPlace } from '../helpers/damage.js';
import { after, describe, test } from 'node:test';
import { BlobStore } from '../../src/oci/blob-store.js';
import type { Digest } from '../../src/oci/digest.js';
import { FINE_RACY_MS, RACY_MS, StatIndex, unchangedSince, statRecord } from '../../src/util/stat-index.js';

const work = await mkdtemp(join(tmpdir(), 'alba-stat-index-'));
after(() => rm(work, { recursive: true, force: true }));

/** An mtime damageInPlace() can give back exactly (Date keeps milliseconds only). */
const WHOLE_SECOND = 1_700_000_000;
const big = (path: string) => statSync(path, { bigint: true });
/** A stat "taken" long after the file's last change: not racy. */
const later = (): number => Date.now() + RACY_MS + 10_000;

describe('StatIndex', () => {
  test('trusts an unchanged file, not a racy record, another digest or a file written again with its old mtime', async () => {
    const file = join(work, 'a');
    await writeFile(file, 'hello');
    await utimes(file, WHOLE_SECOND, WHOLE_SECOND); // so that damageInPlace() gives back the very same mtime
    const index = StatIndex.load();
    index.note(file, 'sha256:x', big(file), Date.now());
    assert.equal(index.trusts(file, 'sha256:x', big(file)), false, 'changed within RACY_MS of the stat: hashed again');
    index.note(file, 'sha256:x', big(file), later());
    assert.equal(index.trusts(file, 'sha256:x', big(file)), true);
    assert.equal(index.trusts(file, 'sha256:y', big(file)), false);
    await damageInPlace(file);
    assert.equal(index.trusts(file, 'sha256:x', big(file)), false, 'same size and mtime, but the ctime moved');
  });

  test('the racy window: 100 ms for times with a fraction of a second, 2 s for whole seconds', async () => {
    const file = join(work, 'racy');
    await writeFile(file, 'x');
    const real = big(file);
    const withCtime = (ctimeNs: bigint): BigIntStats => Object.assign(Object.create(real) as BigIntStats, { ctimeNs });
    const fine = 1_700_000_000_250_000_000n; // 1_700_000_000.25 s
    const whole = 1_700_000_001_000_000_000n;
    const ms = (ns: bigint): number => Number(ns / 1_000_000n);
    // [file's ctime, record taken this many ms after it, trusted]
    const rows: [bigint, number, boolean][] = [
      [fine, FINE_RACY_MS + 50, true],
      [fine, FINE_RACY_MS - 50, false],
      [fine, 0, false],
      [whole, FINE_RACY_MS + 50, false],
      [whole, RACY_MS - 100, false],
      [whole, RACY_MS + 100, true],
    ];
    for (const [ctime, after, trusted] of rows) {
      const s = withCtime(ctime);
      assert.equal(unchangedSince(statRecord(s, ms(ctime) + after), s), trusted, `ctime ${ctime} ns, recorded ${after} ms later`);
    }
  });

  test('is kept in its file', async () => {
    const file = join(work, 'b');
    await writeFile(file, 'bytes');
    const path = join(work, 'idx', 'verified.json');
    const index = StatIndex.load(path);
    index.note(file, 'sha256:b', big(file), later());
    await index.save();
    assert.equal(StatIndex.load(path).trusts(file, 'sha256:b', big(file)), true);
    await writeFile(path, '{garbage');
    assert.equal(StatIndex.load(path).trusts(file, 'sha256:b', big(file)), false);
    // a FIFO there is no index (opened without waiting for a writer), nor is /dev/zero (never read
    // without end): in a child, which a blocking read would hang until its timeout
    await rm(path);
    execFileSync('mkfifo', [path]);
    const module = new URL('../../src/util/stat-index.js', import.meta.url).href;
    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { StatIndex } from '${module}'; for (const f of process.argv.slice(1)) StatIndex.load(f); console.log('loaded');`,
        path,
        '/dev/zero',
      ],
      { timeout: 10_000, encoding: 'utf8' },
    );
    assert.equal(child.signal, null, 'killed at its timeout: the read blocked');
    assert.equal(child.stdout.trim(), 'loaded');
  });
});

describe('BlobStore.verify with a stat index', () => {
  test('a blob damaged after it was recorded is hashed and found corrupt', async () => {
    const root = join(work, 'store');
    await mkdir(join(root, 'sha256'), { recursive: true });
    const bytes = Buffer.from('a layer, say');
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
    const index = StatIndex.load();
    const store = new BlobStore(root, undefined, index);
    await writeFile(store.path(digest), bytes);
    await utimes(store.path(digest), WHOLE_SECOND, WHOLE_SECOND);
    assert.equal(await store.verify(digest), true);
    // as a later run would see it: recorded long after its last change
    index.note(store.path(digest), digest, big(store.path(digest)), later());
    assert.equal(await store.verify(digest), true);
    await damageInPlace(store.path(digest));
    assert.equal(await store.verify(digest), false);
    assert.equal(await store.verify(digest), false, 'and it stays corrupt');
  });
});

describe('BlobStore.verify, many at once', () => {
  test('hashes read with shared spare buffers never mix: each of 24 blobs of several reads, one missing and one damaged among them', async () => {
    const root = join(work, 'store-many');
    await mkdir(join(root, 'sha256'), { recursive: true });
    const store = new BlobStore(root);
    // larger than one 1 MiB read, each of another size, so reads of different files interleave
    const blobs = await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const bytes = Buffer.alloc(1024 * 1024 + 7919 * (i + 1), i + 1);
        const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
        if (i !== 5) await writeFile(store.path(digest), bytes);
        return digest;
      }),
    );
    await damageInPlace(store.path(blobs[9]!));
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all(blobs.map((d) => store.verify(d)));
      assert.deepEqual(
        results,
        blobs.map((_, i) => i !== 5 && i !== 9),
        `round ${round + 1}: only the missing and the damaged blob fail`,
      );
    }
  });
});

describe('StatIndex.noteWritten: a blob hashed as it was written is recorded without a read', () => {
  const cases: { name: string; change?: (path: string) => Promise<void>; at: (after: BigIntStats) => number; recorded: boolean }[] = [
    { name: 'unchanged since the write, written long ago', at: () => later(), recorded: true },
    { name: 'unchanged, but written within the racy window', at: (after) => Number(after.ctimeNs / 1_000_000n) + 10, recorded: false },
    { name: 'damaged in place after the write (same size, mtime given back)', change: damageInPlace, at: () => later(), recorded: false },
    { name: 'replaced after the write', change: (path) => writeFile(path, 'other bytes'), at: () => later(), recorded: false },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const path = join(work, `written-${cases.indexOf(c)}`);
      await writeFile(path, 'layer bytes');
      await utimes(path, WHOLE_SECOND, WHOLE_SECOND);
      const after = big(path);
      await c.change?.(path);
      const index = StatIndex.load();
      const digest = `sha256:${createHash('sha256').update('layer bytes').digest('hex')}`;
      assert.equal(index.noteWritten(path, digest, after, big(path), c.at(after)), c.recorded);
      // recorded or not, the index trusts the file only when it still holds the bytes written
      assert.equal(index.trusts(path, digest, big(path)), c.recorded);
    });
  }
});
