import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import type { Digest } from '../../src/oci/digest.js';
import { MAX_GRAPH_MANIFESTS } from '../../src/oci/reachability.js';
import { RegistryClient } from '../../src/sink/registry/client.js';

// A hostile registry on 127.0.0.1 answering JSON that parses to null, or descriptors whose fields
// are null: each is error[REGISTRY] (or an entry skipped), never a TypeError ("internal error").

const subject = `sha256:${'a'.repeat(64)}`;
const INDEX = 'application/vnd.oci.image.index.v1+json';
const entry = (hex: string) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${hex.repeat(64)}`, size: 10 });
let server: Server;
let host: string;
let answer = 'null';
let endlessPages = 0;
before(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '';
    if (url.startsWith('/token')) return void res.writeHead(200, { 'content-type': 'application/json' }).end('null');
    if (url.startsWith('/v2/locked/') && req.headers.authorization === undefined)
      return void res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="x"` }).end();
    if (url.startsWith('/v2/paged/referrers/')) {
      const second = url.includes('page=2');
      const headers = { 'content-type': INDEX, ...(second ? {} : { link: `</v2/paged/referrers/${subject}?page=2>; rel="next"` }) };
      return void res
        .writeHead(200, headers)
        .end(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [entry(second ? 'd' : 'c')] }));
    }
    if (url.startsWith('/v2/endless/referrers/')) {
      // every page 1000 new entries and a Link to one more page: the API never ends
      const page = Number(/page=(\d+)/.exec(url)?.[1] ?? '0');
      endlessPages++;
      const manifests = Array.from({ length: 1000 }, (_, i) => ({
        ...entry('0'),
        digest: `sha256:${(page * 1000 + i).toString(16).padStart(64, '0')}`,
      }));
      return void res
        .writeHead(200, { 'content-type': INDEX, link: `</v2/endless/referrers/${subject}?page=${page + 1}>; rel="next"` })
        .end(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests }));
    }
    if (url.startsWith('/v2/cut/blobs/')) {
      // 4 of the 10 bytes promised, then the connection dropped
      res.writeHead(200, { 'content-length': '10' });
      return void res.write('abcd', () => res.destroy());
    }
    if (url.includes('/referrers/') || url.includes('/manifests/sha256-'))
      return void res.writeHead(200, { 'content-type': INDEX }).end(answer);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const client = (repository: string): RegistryClient =>
  new RegistryClient(
    { registry: host, repository },
    { credentials: { username: 'u', password: 'p' }, retry: { retries: 0, baseMs: 1, maxMs: 1 } },
  );

test('a token service answering null is REGISTRY: it answered without a token', async () => {
  await assert.rejects(
    client('locked').manifest('latest'),
    (err: unknown) => isAlbaError(err, 'REGISTRY') && /without a token/.test(err.message),
  );
});

test('a referrers index (API or tag) that is null is REGISTRY naming it', async () => {
  answer = 'null';
  for (const read of [() => client('app').referrers(subject as Digest), () => client('app').referrersTagEntries(subject as Digest)])
    await assert.rejects(read(), (err: unknown) => isAlbaError(err, 'REGISTRY') && /referrers index of/.test(err.message));
});

test('referrers entries whose platform, annotations or digest are garbage are skipped, the others kept', async () => {
  const good = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'b'.repeat(64)}`, size: 10 };
  answer = JSON.stringify({
    schemaVersion: 2,
    mediaType: INDEX,
    manifests: [
      good,
      { ...good, platform: null },
      { ...good, annotations: null },
      { ...good, annotations: { a: 1 } },
      { ...good, digest: 'sha256:../x' },
      null,
    ],
  });
  assert.deepEqual(await client('app').referrersTagEntries(subject as Digest), [good]);
});

test('the referrers API is read page after page (its Link), as the tag list is', async () => {
  assert.deepEqual(await client('paged').referrers(subject as Digest), [entry('c'), entry('d')]);
});

test(`a referrers API paging without end is TOO_LARGE past ${MAX_GRAPH_MANIFESTS} entries, not the memory of 1000 pages`, async () => {
  await assert.rejects(client('endless').referrers(subject as Digest), (err: unknown) => isAlbaError(err, 'TOO_LARGE'));
  assert.ok(endlessPages <= MAX_GRAPH_MANIFESTS / 1000 + 1, `${endlessPages} pages read`);
});

test('a blob whose body is cut short is NETWORK (it may be tried again), not SIZE_MISMATCH', async () => {
  await assert.rejects(client('cut').blob({ digest: `sha256:${'b'.repeat(64)}` as Digest, size: 10 }), (err: unknown) =>
    isAlbaError(err, 'NETWORK'),
  );
});
