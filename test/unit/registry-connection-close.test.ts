import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

// A registry (or a proxy in front of it) that answers a blob GET with `Connection: close` and
// closes its side once the body is sent, while alba's consumer of the body is slower than the
// network: undici 6 crashed the process there (an uncatchable `assert(!this.paused)`,
// nodejs/undici#5360); a registry's GETs go through node:http (http/node-get.ts) and the blob comes
// whole. In a process of its own, so that a crash fails this test rather than the test runner.
const moduleUrl = (path: string): string => JSON.stringify(new URL(path, import.meta.url).href);

test('a blob sent with Connection: close to a slow consumer arrives whole, without crashing the process', () => {
  const script = `
    const net = await import('node:net');
    const { createHash, randomBytes } = await import('node:crypto');
    const { Writable } = await import('node:stream');
    const { pipeline } = await import('node:stream/promises');
    const { RegistryClient } = await import(${moduleUrl('../../src/sink/registry/client.js')});
    const body = randomBytes(8 * 1024 * 1024);
    const digest = 'sha256:' + createHash('sha256').update(body).digest('hex');
    const server = net.createServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\\r\\nContent-Length: ' + body.length + '\\r\\nConnection: close\\r\\n\\r\\n');
        socket.end(body);
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new RegistryClient({ registry: '127.0.0.1:' + server.address().port, repository: 'app' }, { plainHttp: true });
    const hash = createHash('sha256');
    // slower than the network: each chunk waits a little before the next is taken
    const slow = new Writable({ highWaterMark: 1024, write(chunk, _enc, done) { hash.update(chunk); setTimeout(done, 1); } });
    await pipeline(await client.openBlob(digest, body.length), slow);
    console.log(JSON.stringify('sha256:' + hash.digest('hex') === digest));
    server.close();
    process.exit(0);`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(res.status, 0, `it ended (signal ${res.signal}): ${res.stderr}`);
  assert.equal(JSON.parse(res.stdout), true, 'the blob came whole');
});
