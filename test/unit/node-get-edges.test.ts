import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { get } from '../../src/http/node-get.js';
import { send } from '../../src/http/request.js';

// node-get.ts (every GET of alba) when its answer is left alone: a body the idle timer cut while
// the caller did something else (a registry's 401 waiting on a slow token service) is dropped or
// read at once, never waited on forever; a setting alba cannot use (an unreadable --ca-file) is
// USAGE before any request, not a NETWORK error to retry; and a proxy that never answers CONNECT
// is given up after the idle timeout, by node-get (proxy.ts openTunnel) and by the other requests
// (request.ts: undici's ProxyAgent, whose CONNECT waited 300 s).
let server: Server;
let url: string;
before(async () => {
  // headers, a first chunk, then nothing more: the body never ends
  server = createServer((_req, res) => {
    res.writeHead(401, { 'content-length': '100' });
    res.write('partial');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('a body cut by the idle timer before the caller came back: discard() returns, bytes() is NETWORK', { timeout: 10_000 }, async () => {
  for (const use of ['discard', 'bytes'] as const) {
    const res = await get({ url, idleMs: 200 });
    await pause(500);
    if (use === 'discard') await res.discard();
    else await assert.rejects(res.bytes(1000, 'the body'), (err: unknown) => isAlbaError(err, 'NETWORK'));
  }
});

test('an unreadable --ca-file is USAGE at once', async () => {
  await assert.rejects(
    get({ url: url.replace('http:', 'https:'), tls: { caFile: '/nonexistent/ca.pem' } }),
    (err: unknown) => isAlbaError(err, 'USAGE') && /--ca-file/.test(err.message),
  );
});

test(
  'a proxy that never answers CONNECT, or closes before answering, is NETWORK within the idle timeout',
  { timeout: 20_000 },
  async () => {
    const silent = createNetServer(() => undefined);
    const closing = createNetServer((socket) => socket.destroy());
    const saved = { HTTPS_PROXY: process.env.HTTPS_PROXY, ALBA_HTTP_IDLE_TIMEOUT: process.env.ALBA_HTTP_IDLE_TIMEOUT };
    try {
      for (const proxy of [silent, closing]) {
        await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
        process.env.HTTPS_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
        process.env.ALBA_HTTP_IDLE_TIMEOUT = '1';
        const url = 'https://registry.invalid/v2/';
        for (const request of [get({ url, idleMs: 1000 }), send({ method: 'HEAD', url, idleMs: 1000 })])
          await assert.rejects(request, (err: unknown) => isAlbaError(err, 'NETWORK'));
      }
    } finally {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      for (const proxy of [silent, closing]) proxy.close();
    }
  },
);

test(
  'ALBA_HTTP_IDLE_TIMEOUT is the idle timeout of every request that names none (mirror GETs, registry reads)',
  { timeout: 10_000 },
  async () => {
    const silent = createNetServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const saved = process.env.ALBA_HTTP_IDLE_TIMEOUT;
    process.env.ALBA_HTTP_IDLE_TIMEOUT = '0.5';
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/dists/bookworm/InRelease`;
      for (const request of [get({ url }), send({ method: 'HEAD', url })])
        await assert.rejects(request, (err: unknown) => isAlbaError(err, 'NETWORK') && /no answer for 0\.5 s/.test(err.message));
    } finally {
      if (saved === undefined) delete process.env.ALBA_HTTP_IDLE_TIMEOUT;
      else process.env.ALBA_HTTP_IDLE_TIMEOUT = saved;
      silent.close();
    }
  },
);
