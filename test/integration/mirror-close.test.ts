import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline as pipe, Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { downloadDebs } from '../../src/debian/download.js';
import { fetchBytes, fetchStream } from '../../src/debian/http.js';
import { isAlbaError } from '../../src/errors.js';
import { BlobStore } from '../../src/oci/blob-store.js';
import { makeDeb } from '../helpers/make-deb.js';

// A mirror that answers HTTP/1.0 with a Content-Length and closes the connection (as HTTP/1.0
// servers, some proxies and local mirrors do), serving a real-size .deb to a slow consumer.
// undici 6 crashed the process here: its parser, paused by the consumer's backpressure, met the
// FIN and asserted (`AssertionError: assert(!this.paused)`, nodejs/undici#5360).

const work = await mkdtemp(join(tmpdir(), 'alba-mirror-close-'));
let deb: Buffer;
let sha256: string;
let server: Server;
let base: string;
/** Paths requested, in order. */
const requests: string[] = [];
/** Paths whose next answer is cut after half of the body (then the connection is closed). */
const cutOnce = new Set<string>();

before(async () => {
  // several MB that no compression shrinks: the body is far larger than any socket or stream buffer
  deb = await makeDeb({
    control: { Package: 'big', Version: '1.0', Architecture: 'amd64' },
    files: [{ path: './usr/lib/big/blob', content: randomBytes(6 * 1024 * 1024) }],
    compression: 'gz',
  });
  sha256 = createHash('sha256').update(deb).digest('hex');
  server = createServer((socket: Socket) => {
    socket.on('error', () => undefined);
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      if (head.includes('\r\n\r\n')) return;
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const path = head.split(' ')[1] ?? '/';
      requests.push(path);
      const cut = cutOnce.delete(path);
      socket.write(
        `HTTP/1.0 200 OK\r\nContent-Type: application/vnd.debian.binary-package\r\nContent-Length: ${deb.length}\r\nConnection: close\r\n\r\n`,
      );
      socket.end(cut ? deb.subarray(0, deb.length >> 1) : deb);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(work, { recursive: true, force: true });
});

/** A pass-through that lets each chunk go after a pause: a consumer slower than the network. */
function throttle(): Transform {
  return new Transform({
    highWaterMark: 16 * 1024,
    transform(chunk: Buffer, _enc, done) {
      setTimeout(() => done(null, chunk), 1);
    },
  });
}

/** The store, its writes through throttle() (errors of the source passed on). */
function slowly(store: BlobStore): BlobStore {
  return Object.assign(Object.create(store) as BlobStore, {
    write: (source: Readable, expected?: Parameters<BlobStore['write']>[1]) =>
      store.write(
        pipe(source, throttle(), () => undefined),
        expected,
      ),
  });
}

function sha256Sink(): { sink: Writable; digest(): string } {
  const hash = createHash('sha256');
  return {
    sink: new Writable({ highWaterMark: 16 * 1024, write: (c: Buffer, _e, done) => (hash.update(c), setTimeout(done, 1)) }),
    digest: () => hash.digest('hex'),
  };
}

describe('a mirror that closes its connections (HTTP/1.0, Content-Length, Connection: close)', () => {
  test('a several-MB .deb streamed into a slow consumer arrives whole, and nothing crashes', async () => {
    const { body, size } = await fetchStream(`${base}/pool/main/b/big/big_1.0_amd64.deb`);
    assert.equal(size, deb.length);
    const { sink, digest } = sha256Sink();
    await pipeline(body, sink);
    assert.equal(digest(), sha256);
  });

  test('downloadDebs into a store written slowly: the .deb is stored whole', async () => {
    const store = new BlobStore(join(work, 'store'));
    const slowStore = slowly(store);
    const [got] = await downloadDebs([{ url: `${base}/pool/slow.deb`, sha256, size: deb.length, what: 'big 1.0 (amd64)' }], {
      store: slowStore,
    });
    assert.ok(got !== undefined && !got.cached);
    assert.deepEqual(await readFile(got.path), deb);
  });

  test('an answer cut short (Content-Length not reached) under backpressure is a NETWORK error, retried: the .deb is downloaded on the second try', async () => {
    const path = '/pool/cut.deb';
    cutOnce.add(path);
    const store = new BlobStore(join(work, 'store-cut'));
    const slowStore = slowly(store);
    const [got] = await downloadDebs([{ url: `${base}${path}`, sha256, size: deb.length, what: 'big 1.0 (amd64)' }], { store: slowStore });
    assert.equal(cutOnce.has(path), false, 'the cut answer was sent');
    assert.equal(requests.filter((r) => r === path).length, 2);
    assert.deepEqual(await readFile(got!.path), deb);
  });

  test('a body cut short is NETWORK naming the URL and the bytes received', async () => {
    const path = '/dists/stable/InRelease';
    cutOnce.add(path);
    const { body } = await fetchStream(`${base}${path}`);
    await assert.rejects(pipeline(body, throttle(), new Writable({ write: (_c, _e, done) => done() })), (err: unknown) => {
      assert.ok(isAlbaError(err, 'NETWORK'), String(err));
      assert.match(err.message, new RegExp(`${path}.*closed after \\d+ (of ${deb.length} )?bytes`));
      return true;
    });
  });
});

describe('redirects of a Debian GET', () => {
  test('followed; the credentials of the URL go to its origin only, never to the origin a redirect names', async () => {
    const seen: { port: number; headers: IncomingHttpHeaders }[] = [];
    const other = createHttpServer((req, res) => {
      seen.push({ port: (other.address() as AddressInfo).port, headers: req.headers });
      res.writeHead(200, { 'content-length': '5' }).end('hello');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherPort = (other.address() as AddressInfo).port;
    const first = createHttpServer((req, res) => {
      seen.push({ port: (first.address() as AddressInfo).port, headers: req.headers });
      if (req.url === '/a') res.writeHead(302, { location: '/b' }).end();
      else res.writeHead(301, { location: `http://127.0.0.1:${otherPort}/c` }).end();
    });
    await new Promise<void>((resolve) => first.listen(0, '127.0.0.1', resolve));
    try {
      const bytes = await fetchBytes(`http://user:s3cret@127.0.0.1:${(first.address() as AddressInfo).port}/a`);
      assert.equal(bytes.toString(), 'hello');
      assert.equal(seen.length, 3);
      const basic = `Basic ${Buffer.from('user:s3cret').toString('base64')}`;
      assert.deepEqual(
        seen.map((s) => s.headers.authorization),
        [basic, basic, undefined],
      );
      assert.equal(seen[2]?.port, otherPort);
    } finally {
      for (const s of [other, first]) {
        s.closeAllConnections();
        s.close();
      }
    }
  });
});
