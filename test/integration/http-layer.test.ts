import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fetchBytes } from '../../src/debian/http.js';
import { AlbaError, isAlbaError } from '../../src/errors.js';
import { HTTP_DEFAULTS } from '../../src/http/limits.js';
import { send } from '../../src/http/request.js';
import { DEFAULT_RETRY, parseRetryAfter, retryDelay } from '../../src/http/retry.js';

// The one HTTP layer against a hostile 127.0.0.1 server: huge bodies, dripping bodies.

let server: Server;
let base: string;
before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/huge-declared') {
      res.writeHead(200, { 'content-length': String(1024 ** 3) });
      const chunk = Buffer.alloc(1024 * 1024, 0x41);
      const pump = (): void => {
        while (res.write(chunk));
        res.once('drain', pump);
      };
      pump();
      res.on('close', () => res.removeAllListeners('drain'));
      return;
    }
    if (req.url === '/huge-chunked') {
      res.writeHead(200);
      const chunk = Buffer.alloc(1024 * 1024, 0x42);
      let sent = 0;
      const pump = (): void => {
        while (sent < 1024 && res.write(chunk)) sent++;
        if (sent < 1024) res.once('drain', pump);
        else res.end();
      };
      pump();
      return;
    }
    if (req.url === '/upload') {
      let received = 0;
      req.on('data', (chunk: Buffer) => (received += chunk.length));
      req.on('end', () => res.writeHead(201).end(String(received)));
      return;
    }
    if (req.url === '/drip') {
      res.writeHead(200);
      const timer = setInterval(() => res.write('x'), 200);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (req.url === '/headers-only') {
      res.writeHead(404, { 'content-length': '100' });
      res.flushHeaders(); // the 100 bytes never come
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

describe('the HTTP layer', () => {
  test('a 1 GB InRelease (declared) is refused at once as TOO_LARGE', async () => {
    await assert.rejects(
      fetchBytes(`${base}/huge-declared`),
      (err: unknown) => isAlbaError(err, 'TOO_LARGE') && /larger than/.test(err.message),
    );
  });

  test('a 1 GB InRelease without a length is refused after the cap, with flat memory', async () => {
    const before = process.memoryUsage().rss;
    await assert.rejects(fetchBytes(`${base}/huge-chunked`), (err: unknown) => isAlbaError(err, 'TOO_LARGE'));
    const grown = (process.memoryUsage().rss - before) / 1024 / 1024;
    assert.ok(grown < 200, `RSS grew by ${grown.toFixed(0)} MB`);
  });

  // the body drips for ever: a rate check that never gives up fails by the timeout
  test('a body that drips below the minimum rate is given up with NETWORK, over the window given', { timeout: 10_000 }, async () => {
    const res = await send({ method: 'GET', url: `${base}/drip`, minBytesPerSecond: 100, rateWindowMs: 600 });
    await assert.rejects(
      res.bytes(1024, 'drip'),
      (err: unknown) => isAlbaError(err, 'NETWORK') && /slower than 100 bytes\/s over 0\.6 s/.test(err.message),
    );
  });

  test('a request body that takes longer than the idle timeout to send is not "no answer": the timeout runs from its last chunk', async () => {
    // 8 chunks 150 ms apart (1.2 s) with a 500 ms idle timeout
    const chunks = Array.from({ length: 8 }, () => Buffer.alloc(1024, 0x43));
    const body = Readable.from(
      (async function* () {
        for (const chunk of chunks) {
          await new Promise((resolve) => setTimeout(resolve, 150));
          yield chunk;
        }
      })(),
    );
    const res = await send({ method: 'PUT', url: `${base}/upload`, idleMs: 500, body: async () => ({ stream: body, length: 8 * 1024 }) });
    assert.equal(res.status, 201);
    assert.equal((await res.bytes(100, 'answer')).toString(), String(8 * 1024));
  });

  test("a request body that fails with alba's own error (a local blob that is not its digest) is that error, not NETWORK to retry", async () => {
    const body = Readable.from(
      (async function* () {
        yield Buffer.alloc(1024, 0x44);
        throw new AlbaError('SIZE_MISMATCH', 'blob sha256:… (/a/layout/blobs/sha256/…) should hold sha256:…: 1024 bytes, not 2048');
      })(),
    );
    await assert.rejects(
      send({ method: 'PUT', url: `${base}/upload`, body: async () => ({ stream: body, length: 2048 }) }),
      (err: unknown) => isAlbaError(err, 'SIZE_MISMATCH'),
    );
  });

  test(
    'a body alba drops unread (a 404, a 401) that never comes is given up after the idle timeout, not waited for for ever',
    { timeout: 10_000 },
    async () => {
      // the 100 bytes never come: a discard that waits for them fails by the timeout
      const res = await send({ method: 'GET', url: `${base}/headers-only`, idleMs: 500 });
      assert.equal(res.status, 404);
      await res.discard();
    },
  );

  test('by default, a byte every 20 s is given up within two minutes', () => {
    assert.ok(HTTP_DEFAULTS.rateWindowMs <= 120_000);
    assert.ok((HTTP_DEFAULTS.minBytesPerSecond * HTTP_DEFAULTS.rateWindowMs) / 1000 > HTTP_DEFAULTS.rateWindowMs / 20_000);
  });

  test('Retry-After in seconds or as a date; pauses grow, are jittered and capped', () => {
    assert.equal(parseRetryAfter('2'), 2000);
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now), 0, 'a date gone by: at once');
    assert.equal(parseRetryAfter('next tuesday', now), undefined);
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(retryDelay(DEFAULT_RETRY, 0, 2000), 2000);
    assert.equal(retryDelay(DEFAULT_RETRY, 0, 10 * 60_000), DEFAULT_RETRY.maxMs);
    for (let i = 0; i < 20; i++) {
      const d = retryDelay(DEFAULT_RETRY, 2);
      assert.ok(d >= DEFAULT_RETRY.baseMs * 4 * 0.75 && d <= DEFAULT_RETRY.baseMs * 4 * 1.25, String(d));
    }
  });
});
