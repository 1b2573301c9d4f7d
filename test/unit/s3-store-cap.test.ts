import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { S3Store } from '../../src/sink/s3/s3-store.js';
import { parseS3Target } from '../../src/sink/s3/s3-target.js';

// A hostile S3 endpoint: every GET answers 200 with a chunked body (no Content-Length) that never ends.
let server: Server;
let sent = 0;
before(async () => {
  server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', etag: '"x"' });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const more = (): void => {
      while (!res.destroyed && sent < 1024 * 1024 * 1024) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    req.resume();
    more();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});
after(() => new Promise<void>((r) => server.close(() => r())));

test('an S3 object sent without a length is refused once it passes the cap (TOO_LARGE), not read whole', async () => {
  const port = (server.address() as AddressInfo).port;
  const env = { AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  try {
    const store = new S3Store(parseS3Target(`s3://bucket?endpoint=http://127.0.0.1:${port}&region=us-east-1&s3ForcePathStyle=true`));
    await assert.rejects(
      store.get('v2/x/tags/list', 1024 * 1024),
      (err: unknown) => isAlbaError(err, 'TOO_LARGE') && /gave no length/.test(err.message) && /127\.0\.0\.1/.test(err.message),
    );
    assert.ok(sent < 64 * 1024 * 1024, `the body was given up near the cap (${sent} bytes sent)`);
  } finally {
    for (const [k, v] of Object.entries(env))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
});
