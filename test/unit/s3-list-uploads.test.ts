import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { fakeS3 } from '../helpers/fake-s3.js';

// S3Store.listUploads against an endpoint whose ListMultipartUploads answers the test chooses:
// a listing that pages in a loop (the same next markers again) is error[S3] at once, not ten
// thousand requests and as many copies of one upload in memory.
let loop = false;
let requests = 0;
const { store } = fakeS3((req, res) => {
  req.resume();
  req.on('end', () => {
    requests++;
    const marker = new URL(req.url ?? '/', 'http://x').searchParams.get('key-marker') ?? '';
    const page = loop ? 1 : Number(marker.slice('k'.length) || '0') + 1;
    const last = !loop && page === 3;
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>bucket</Bucket><MaxUploads>1000</MaxUploads>` +
        `<IsTruncated>${!last}</IsTruncated><NextKeyMarker>k${page}</NextKeyMarker><NextUploadIdMarker>u${page}</NextUploadIdMarker>` +
        `<Upload><Key>v2/app/blobs/k${page}</Key><UploadId>u${page}</UploadId><Initiated>2026-01-01T00:00:00.000Z</Initiated></Upload></ListMultipartUploadsResult>`,
    );
  });
});

test('three pages of uploads are listed, one request each', async () => {
  loop = false;
  requests = 0;
  const uploads = await store().listUploads('v2/app/');
  assert.deepEqual(
    uploads.map((u) => u.uploadId),
    ['u1', 'u2', 'u3'],
  );
  assert.equal(requests, 3);
});

test('a listing whose next markers come back is error[S3] after the second page', async () => {
  loop = true;
  requests = 0;
  const err = await store()
    .listUploads('v2/app/')
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(isAlbaError(err, 'S3') && /already read/.test(err.message), String(err));
  assert.equal(requests, 2);
});
