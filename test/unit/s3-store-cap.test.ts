import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { MAX_TAG_LIST_TAGS } from '../../src/sink/s3/json-document.js';
import { MAX_ANSWER_BYTES, MAX_LIST_PAGES } from '../../src/sink/s3/s3-store.js';
import { StaticNameStore } from '../../src/sink/s3/static-store.js';
import { fakeS3 } from '../helpers/fake-s3.js';

// A hostile S3 endpoint, by key: a body without a length that never ends, a listing that pages in a
// loop or forever, an answer that never comes, a body that drips.
let sent = 0;
let listed = 0;
/** Requests for the objects of the static NAME `many` (its name document excepted). */
let manyReads = 0;
const silent = new Set<ServerResponse>();

/** A ListObjectsV2 page of one key, truncated, whose next page is `token` (none: a page that says more follow and names no token). */
function listPage(res: ServerResponse, token: string | undefined): void {
  res.writeHead(200, { 'content-type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bucket</Name><KeyCount>1</KeyCount><IsTruncated>true</IsTruncated>` +
      `<Contents><Key>k${token}</Key><Size>1</Size></Contents>${token === undefined ? '' : `<NextContinuationToken>${token}</NextContinuationToken>`}</ListBucketResult>`,
  );
}

/** A ListObjectsV2 page that never ends: keys after keys, without a length, until alba hangs up. */
let pageBytes = 0;
function endlessPage(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/xml' });
  res.write('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bucket</Name><IsTruncated>false</IsTruncated>');
  const chunk = Buffer.from('<Contents><Key>k</Key><Size>1</Size></Contents>'.repeat(1000));
  const more = (): void => {
    while (!res.destroyed && pageBytes < 1024 * 1024 * 1024) {
      pageBytes += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', more);
    }
    res.end('</ListBucketResult>');
  };
  more();
}

const { store } = fakeS3((req, res) => {
  req.resume();
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.searchParams.get('list-type') === '2') {
    listed++;
    const prefix = url.searchParams.get('prefix');
    if (prefix === 'huge/') return endlessPage(res);
    if (prefix === 'twice/') {
      res.writeHead(200, { 'content-type': 'application/xml' });
      const key = '<Contents><Key>twice/k</Key><Size>1</Size></Contents>';
      return void res.end(`<ListBucketResult><Name>bucket</Name><IsTruncated>false</IsTruncated>${key}${key}</ListBucketResult>`);
    }
    if (prefix === 'outside/') {
      res.writeHead(200, { 'content-type': 'application/xml' });
      const keys = ['outside/k', 'v2/victim', 'important/outside/k', 'outsid'].map(
        (k) => `<Contents><Key>${k}</Key><Size>1</Size></Contents>`,
      );
      const folders = ['outside/d/', 'v2/'].map((p) => `<CommonPrefixes><Prefix>${p}</Prefix></CommonPrefixes>`);
      return void res.end(
        `<ListBucketResult><Name>bucket</Name><IsTruncated>false</IsTruncated>${keys.join('')}${folders.join('')}</ListBucketResult>`,
      );
    }
    return listPage(res, prefix === 'loop/' ? 'same' : prefix === 'cut/' ? undefined : `t${listed}`);
  }
  if (url.pathname === '/bucket/df-dist-v1/many') {
    // a name document of a million tags (8 MB): each listed tag would be read (a HEAD and a GET)
    const tags = Array.from({ length: 1_000_000 }, (_, i) => `t${i}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end(JSON.stringify({ name: 'many', tags }));
  }
  if (url.pathname === '/bucket/df-dist-v1/twice') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end(JSON.stringify({ name: 'twice', tags: ['a', 'a'] }));
  }
  if (url.pathname === '/bucket/df-dist-v1/twice/a') {
    const doc = JSON.stringify({ flavors: [{ resources: [], platform: { os: 'linux', architecture: 'amd64' } }] });
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': String(doc.length),
      'last-modified': new Date(0).toUTCString(),
    });
    return void res.end(req.method === 'HEAD' ? undefined : doc);
  }
  if (url.pathname.startsWith('/bucket/df-dist-v1/many/')) {
    manyReads++;
    res.writeHead(404);
    return void res.end();
  }
  if (url.pathname === '/bucket/silent') return void silent.add(res);
  if (url.pathname === '/bucket/drip') {
    res.writeHead(200, { 'content-type': 'application/json' });
    const timer = setInterval(() => res.write('x'), 200);
    return void res.on('close', () => clearInterval(timer));
  }
  res.writeHead(200, { 'content-type': 'application/json', etag: '"x"' });
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const more = (): void => {
    while (!res.destroyed && sent < 1024 * 1024 * 1024) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', more);
    }
    res.end();
  };
  more();
});
test('an S3 object sent without a length is refused once it passes the cap (TOO_LARGE), not read whole', async () => {
  await assert.rejects(
    store().get('v2/x/tags/list', 1024 * 1024),
    (err: unknown) => isAlbaError(err, 'TOO_LARGE') && /gave no length/.test(err.message) && /127\.0\.0\.1/.test(err.message),
  );
  assert.ok(sent < 64 * 1024 * 1024, `the body was given up near the cap (${sent} bytes sent)`);
});

test('a listing whose next page is one already read is S3, not an endless loop', { timeout: 30_000 }, async () => {
  const before = listed;
  await assert.rejects(store().list('loop/'), (err: unknown) => isAlbaError(err, 'S3') && /one already read/.test(err.message));
  assert.equal(listed - before, 2, 'the page was asked for twice, not more');
});

test('a listing page that says more follow (IsTruncated) but names no next page is S3, never a listing cut short', async () => {
  // a removal deciding from part of the keys would miss tag objects it keeps as roots, and sweep what they reach
  for (const list of [() => store().list('cut/'), () => store().listFolder('cut/')])
    await assert.rejects(list(), (err: unknown) => isAlbaError(err, 'S3') && /no next page/.test(err.message) && /cut\//.test(err.message));
});

test('a key listed twice is one object (a removal plans, prints and deletes it once)', async () => {
  assert.deepEqual(
    (await store().list('twice/')).map((o) => o.key),
    ['twice/k'],
  );
  assert.deepEqual(
    (await store().listFolder('twice/')).objects.map((o) => o.key),
    ['twice/k'],
  );
});

test('a key listed outside the prefix asked for is passed over (a push sweeping its tag, a removal, never deletes it)', async () => {
  // a static push deletes what the listing of its tag's folder names beyond its files: v2/victim went
  assert.deepEqual(
    (await store().list('outside/')).map((o) => o.key),
    ['outside/k'],
  );
  const folder = await store().listFolder('outside/');
  assert.deepEqual(
    folder.objects.map((o) => o.key),
    ['outside/k'],
  );
  assert.deepEqual(folder.folders, ['outside/d/']);
});

test(`a name document (or tags/list) of more than ${MAX_TAG_LIST_TAGS} tags is TOO_LARGE, not a read of each tag`, async () => {
  // 2 million requests: alba static ls ran on for hours
  await assert.rejects(
    new StaticNameStore(store(), 'df-dist-v1/many').list(),
    (err: unknown) => isAlbaError(err, 'TOO_LARGE') && /df-dist-v1\/many /.test(err.message) && /1000000 tags/.test(err.message),
  );
  assert.equal(manyReads, 0);
});

test('a tag a name document (or tags/list) lists twice is one tag: ls shows it once', async () => {
  assert.deepEqual(
    (await new StaticNameStore(store(), 'df-dist-v1/twice').list()).map((t) => t.tag),
    ['a'],
  );
});

test(`a listing that pages on and on is TOO_LARGE after ${MAX_LIST_PAGES} pages`, { timeout: 30_000 }, async () => {
  const before = listed;
  await assert.rejects(
    store().listFolder('endless/'),
    (err: unknown) => isAlbaError(err, 'TOO_LARGE') && new RegExp(`more than ${MAX_LIST_PAGES} pages`).test(err.message),
  );
  assert.equal(listed - before, MAX_LIST_PAGES);
});

test('a listing page that never ends is TOO_LARGE once past the cap of an answer, not read whole', { timeout: 30_000 }, async () => {
  await assert.rejects(store().list('huge/'), (err: unknown) => isAlbaError(err, 'TOO_LARGE') && /larger than \d+ bytes/.test(err.message));
  assert.ok(pageBytes < MAX_ANSWER_BYTES * 8, `the page was given up near the cap (${pageBytes} bytes sent)`);
});

test('an answer that never comes is given up after the idle timeout (and its retries), as S3', { timeout: 60_000 }, async () => {
  await assert.rejects(store({ idleMs: 300 }).head('silent'), (err: unknown) => isAlbaError(err, 'S3') && /timed out/.test(err.message));
  assert.ok(silent.size >= 2, `asked again after the first silence (${silent.size} requests)`);
});

test('a body that drips below the minimum rate is given up with NETWORK', { timeout: 30_000 }, async () => {
  const body = await store({ minBytesPerSecond: 100, rateWindowMs: 500 }).open('drip', 1024 * 1024);
  assert.ok(body !== undefined);
  await assert.rejects(
    (async () => {
      for await (const _ of body);
    })(),
    (err: unknown) => isAlbaError(err, 'NETWORK') && /slower than 100 bytes\/s/.test(err.message) && /drip/.test(err.message),
  );
});
