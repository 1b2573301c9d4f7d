import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import type { HttpLimits } from '../../src/http/limits.js';
import { S3Store } from '../../src/sink/s3/s3-store.js';
import { parseS3Target } from '../../src/sink/s3/s3-target.js';

/**
 * An S3 endpoint the test writes (`handler`), on 127.0.0.1 for the test file's duration, with test
 * credentials in the environment meanwhile; `store` is an S3Store of its bucket `bucket`.
 */
export function fakeS3(handler: RequestListener): { store: (limits?: HttpLimits) => S3Store } {
  let server: Server | undefined;
  const saved = { AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY };
  before(async () => {
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    const started = createServer(handler);
    server = started;
    await new Promise<void>((r) => started.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    server?.closeAllConnections();
    await new Promise<void>((r) => (server === undefined ? r() : server.close(() => r())));
  });
  return {
    store: (limits = {}) =>
      new S3Store(
        parseS3Target(
          `s3://bucket?endpoint=http://127.0.0.1:${(server?.address() as AddressInfo).port}&region=us-east-1&s3ForcePathStyle=true`,
        ),
        limits,
      ),
  };
}
