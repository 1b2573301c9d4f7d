import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { acquireLease } from '../../src/lifecycle/lease.js';
import { withLock } from '../../src/sink/s3/json-document.js';
import { fakeS3 } from '../helpers/fake-s3.js';
import { memoryMedium } from '../helpers/memory-lease.js';

// Waiting for a lease or a lock ends, whatever the store answers: a create that is always refused
// while the lease reads as gone, a lock object that is always refused and always "stale". Each
// run's clock (Date.now) is made to move on 20 s per look, so the waits' limits (15 min for a
// removal lease, 60 s for a document lock) come after a few dozen looks, not after real minutes.
// And a lock that another writer broke into while its holder was stopped stays that writer's.
const realNow = Date.now;
afterEach(() => {
  Date.now = realNow;
});
const fastClock = (): void => {
  let now = realNow();
  Date.now = () => (now += 20_000);
};

test(
  'a removal lease that cannot be created and reads as gone: error[S3] once the wait is over, not a loop',
  { timeout: 20_000 },
  async () => {
    const medium = memoryMedium();
    let creates = 0;
    // each answer after a turn of the event loop, as a store's would come (a loop that never waits
    // for a timer then still lets the test's timeout fire)
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    medium.create = async () => {
      await turn();
      creates++;
      return false;
    };
    medium.read = async () => {
      await turn();
      return undefined;
    };
    fastClock();
    const err = await acquireLease(medium).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isAlbaError(err, 'S3'), String(err));
    assert.ok(creates < 100, `${creates} creates`);
  },
);

const seen: string[] = [];
const { store } = fakeS3((req, res) => {
  req.resume();
  req.on('end', () => {
    seen.push(req.method ?? '');
    if (req.method === 'PUT') {
      res.writeHead(412, { 'content-type': 'application/xml' });
      return void res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>no</Message></Error>');
    }
    res.writeHead(req.method === 'DELETE' ? 204 : 200, { etag: '"always-the-same"', 'content-length': '0' }).end();
  });
});

test(
  'a lock object that is always refused and always stale: error[S3] once the wait is over, not a loop',
  { timeout: 20_000 },
  async () => {
    seen.length = 0;
    fastClock();
    const err = await withLock(store(), 'v2/app/tags/list', async () => 'held').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isAlbaError(err, 'S3') && /held this lock for over 60 s/.test(err.message), String(err));
    assert.ok(seen.length < 100, `${seen.length} requests`);
  },
);

// A bucket of objects kept in memory: PUT (with If-None-Match: *), GET (with If-None-Match), HEAD, DELETE.
const objects = new Map<string, Buffer>();
const etagOf = (bytes: Buffer): string => `"${createHash('md5').update(bytes).digest('hex')}"`;
const { store: bucket } = fakeS3((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const key = decodeURIComponent(new URL(req.url ?? '', 'http://x').pathname.replace(/^\/bucket\//, ''));
    const have = objects.get(key);
    if (req.method === 'PUT') {
      if (req.headers['if-none-match'] === '*' && have !== undefined) return void res.writeHead(412).end();
      objects.set(key, Buffer.concat(chunks));
      return void res.writeHead(200, { etag: etagOf(Buffer.concat(chunks)) }).end();
    }
    if (req.method === 'DELETE') {
      objects.delete(key);
      return void res.writeHead(204).end();
    }
    if (have === undefined) return void res.writeHead(404).end();
    if (req.method === 'GET' && req.headers['if-none-match'] === etagOf(have)) return void res.writeHead(304, { etag: etagOf(have) }).end();
    res.writeHead(200, { etag: etagOf(have), 'content-length': String(have.length) });
    res.end(req.method === 'HEAD' ? undefined : have);
  });
});

test(
  'a holder whose lock was broken into (it had stopped) neither writes under it, renews it nor removes it',
  { timeout: 20_000 },
  async () => {
    const lock = 'v2/app/tags/list.alba-lock';
    const other = Buffer.from('another writer\n');
    for (const pause of [0, 2_500]) {
      objects.clear();
      await withLock(bucket(), 'v2/app/tags/list', async (held) => {
        await held(); // its own: a write may go
        // a waiter saw the lock unchanged for the stale time, broke it and took it
        objects.set(lock, other);
        await new Promise((resolve) => setTimeout(resolve, pause)); // a renewal comes at 2 s
        assert.deepEqual(objects.get(lock), other, `renewed over after ${pause} ms`);
        // no write goes under a lock that is not its own any more
        await assert.rejects(held(), (err: unknown) => isAlbaError(err, 'S3') && /another push broke this lock/.test(err.message));
      });
      assert.deepEqual(objects.get(lock), other, `removed after ${pause} ms`);
    }
    // its own lock it removes
    objects.clear();
    await withLock(bucket(), 'v2/app/tags/list', async () => assert.ok(objects.has(lock)));
    assert.equal(objects.has(lock), false);
  },
);
