import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { fakeS3 } from '../helpers/fake-s3.js';

// S3Store.removeAll against an S3 endpoint whose answer to DeleteObjects the test chooses: batches
// of 1000, per-key DELETE where DeleteObjects is not implemented, a key the answer says was not
// deleted, and the fence called before every request.
let answer: 'ok' | 'not-implemented' | 'denied' | 'no-such-key' = 'ok';
const seen: { method: string; keys: number; path: string }[] = [];

const { store } = fakeS3((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'http://x');
    const keys = [...body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1] ?? '');
    seen.push({ method: req.method ?? '', keys: keys.length, path: url.pathname });
    if (req.method === 'DELETE') return void res.writeHead(204).end();
    if (answer === 'not-implemented') {
      res.writeHead(501, { 'content-type': 'application/xml' });
      return void res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code><Message>no</Message></Error>');
    }
    const errors =
      answer === 'ok'
        ? ''
        : `<Error><Key>${keys[1] ?? ''}</Key><Code>${answer === 'denied' ? 'AccessDenied' : 'NoSuchKey'}</Code><Message>nope</Message></Error>`;
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?><DeleteResult>${errors}</DeleteResult>`);
  });
});
const keys = (n: number): string[] => Array.from({ length: n }, (_, i) => `v2/app/blobs/sha256:${String(i).padStart(64, '0')}`);

test('2500 keys are three DeleteObjects requests of at most 1000 keys, the fence called before each', async () => {
  answer = 'ok';
  seen.length = 0;
  let fenced = 0;
  await store().removeAll(keys(2500), () => void fenced++);
  assert.deepEqual(
    seen.map((s) => [s.method, s.keys]),
    [
      ['POST', 1000],
      ['POST', 1000],
      ['POST', 500],
    ],
  );
  assert.equal(fenced, 3);
});

test('a fence that throws stops the deletes before the next request is sent', async () => {
  answer = 'ok';
  seen.length = 0;
  let calls = 0;
  const fence = (): void => {
    if (++calls === 2) throw new Error('fenced');
  };
  await assert.rejects(store().removeAll(keys(2500), fence), /fenced/);
  assert.equal(seen.length, 1, 'only the first batch went');
});

test('a store without DeleteObjects (501) gets one DELETE per key, each fenced, without retrying the 501', async () => {
  answer = 'not-implemented';
  seen.length = 0;
  let fenced = 0;
  await store().removeAll(keys(20), () => void fenced++);
  assert.equal(seen.filter((s) => s.method === 'POST').length, 1, 'the 501 is not tried again');
  assert.equal(seen.filter((s) => s.method === 'DELETE').length, 20);
  assert.equal(fenced, 21);
});

test('a key the answer says was not deleted is S3 naming it; NoSuchKey is not an error', async () => {
  answer = 'denied';
  await assert.rejects(
    store().removeAll(keys(3)),
    (err: unknown) => isAlbaError(err, 'S3') && err.message.includes(keys(3)[1] as string) && /AccessDenied/.test(err.message),
  );
  answer = 'no-such-key';
  await store().removeAll(keys(3));
});
