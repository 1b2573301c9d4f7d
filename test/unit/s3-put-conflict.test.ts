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

const { store } = fakeS3((req, res) => {
  req.resume();
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
