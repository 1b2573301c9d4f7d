import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeS3 } from '../helpers/fake-s3.js';

// S3Store.put of a conditional write against an endpoint answering as AWS S3 does: 409
// ConditionalRequestConflict while another conditional write of the key is under way (AWS's advice:
// send it again), 412 PreconditionFailed when the condition does not hold. A 409 taken for a
// refusal would let a writer that then finds the ETag unchanged take the lock path meant for servers
// that refuse every If-Match (json-document.ts) and write over the other writer's change.
let answers: number[] = [];
const seen: string[] = [];

/** Every byte the endpoint received, as sent (framing included). */
const received: Buffer[] = [];

const { store } = fakeS3((req, res) => {
  req.on('data', (chunk: Buffer) => received.push(chunk));
  req.on('end', () => {
    seen.push(`${req.method} ${req.headers['if-match'] ?? ''}`);
    const status = answers.shift() ?? 200;
    if (status === 200) return void res.writeHead(200, { etag: '"new"' }).end();
    const code = status === 409 ? 'ConditionalRequestConflict' : 'PreconditionFailed';
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>no</Message></Error>`);
  });
});

const put = (): Promise<boolean> =>
  store().put('v2/app/tags/list', Buffer.from('{}\n'), { contentType: 'application/json', cacheControl: 'no-cache', ifMatch: '"old"' });

for (const { name, given, written, sent } of [
  { name: '409 twice, then written: sent again until decided', given: [409, 409, 200], written: true, sent: 3 },
  { name: '409, then 412: refused once decided', given: [409, 412], written: false, sent: 2 },
  { name: '412: refused at once', given: [412], written: false, sent: 1 },
  { name: '409 every time: refused after 6 tries', given: [409, 409, 409, 409, 409, 409, 409], written: false, sent: 6 },
]) {
  test(`a conditional PUT answered ${name}`, async () => {
    answers = [...given];
    seen.length = 0;
    assert.equal(await put(), written);
    assert.deepEqual(seen, Array<string>(sent).fill('PUT "old"'));
  });
}

// A local blob whose bytes are not its descriptor's (a damaged layout): the PUT must fail with that
// error and store nothing. The last bytes were sent before the digest was checked, so S3 stored
// the wrong bytes under the digest's name (and a short file hung the PUT, waiting for the rest).
for (const { name, bytes, code } of [
  { name: 'other bytes of the same size', bytes: Buffer.from('a layer as it was built, no!\n'), code: 'DIGEST_MISMATCH' },
  { name: 'fewer bytes', bytes: Buffer.from('a layer'), code: 'SIZE_MISMATCH' },
  { name: 'more bytes', bytes: Buffer.from('a layer as it was built, and then some more\n'), code: 'SIZE_MISMATCH' },
]) {
  test(`a blob PUT from a file holding ${name} is ${code}, and no PUT completes`, { timeout: 20_000 }, async () => {
    const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { fileBlob } = await import('../../src/oci/graph.js');
    const { digestOf } = await import('../../src/oci/digest.js');
    const { isAlbaError } = await import('../../src/errors.js');
    const good = Buffer.from('a layer as it was built, yes\n');
    const dir = await mkdtemp(join(tmpdir(), 'alba-s3-put-blob-'));
    try {
      const file = join(dir, 'blob');
      await writeFile(file, bytes);
      const blob = fileBlob({ mediaType: 'application/octet-stream', digest: digestOf(good), size: good.length }, file);
      answers = [];
      seen.length = 0;
      received.length = 0;
      await assert.rejects(
        store().put(
          'v2/app/blobs/x',
          { open: () => blob.open(), size: good.length },
          { contentType: 'application/octet-stream', cacheControl: 'x' },
        ),
        (err: unknown) => isAlbaError(err, code as 'SIZE_MISMATCH'),
      );
      assert.deepEqual(seen, []);
      // not even sent: an endpoint that stores what it got once it has the length it was told
      // (Ceph RGW) stored the wrong bytes under the digest's name
      if (code === 'DIGEST_MISMATCH') assert.equal(Buffer.concat(received).includes(bytes), false, 'the bytes were sent');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
