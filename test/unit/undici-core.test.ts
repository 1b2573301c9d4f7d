import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { send } from '../../src/http/request.js';
import { loadUndici } from '../../src/http/undici-core.js';

// alba loads undici's dispatchers from undici's own modules (src/http/undici-core.ts): this fails
// when those paths move (an undici upgrade) or the request API is missing from them.

test('the dispatchers load with the request API on them, and a redirected GET is followed with its query', async () => {
  const { Agent, ProxyAgent, Pool } = await loadUndici();
  const agent = new Agent();
  assert.equal(typeof agent.request, 'function');
  assert.equal(typeof ProxyAgent.prototype.request, 'function');
  assert.equal(typeof Pool.prototype.connect, 'function');
  await agent.close();
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url === '/from?x=1') return void res.writeHead(302, { location: '/to?y=2' }).end();
    res.writeHead(200).end('here');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const res = await send({ method: 'GET', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/from?x=1` });
    assert.equal(res.status, 200);
    assert.equal((await res.bytes(1024, 'answer')).toString(), 'here');
    assert.deepEqual(seen, ['GET /from?x=1', 'GET /to?y=2']);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
