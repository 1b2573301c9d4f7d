import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAlbaError } from '../../src/errors.js';
import { digestOf, type Digest } from '../../src/oci/digest.js';
import { memoryBlob, type Blob } from '../../src/oci/graph.js';
import { MAX_TAG_LIST_BYTES, MAX_TAG_PAGES, MAX_TAGS, RegistryClient, type RegistryClientOptions } from '../../src/sink/registry/client.js';
import { RegistryError } from '../../src/sink/registry/registry-error.js';
import { startFaultProxy, type Fault, type FaultProxy, type SeenRequest } from '../helpers/fault-proxy.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { explainRun, runAlba } from '../helpers/run-alba.js';
import { makeCa } from '../helpers/test-pki.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { requireTool } from '../helpers/tools.js';

// What alba guarantees against a registry that sends it elsewhere or misbehaves: credentials only
// to the registry's origin (an upload Location, a tags Link or a redirect to another origin gets
// none), bounded reads (tag lists, token answers, manifests), blob upload steps never retried in
// place, Retry-After dates honoured, referrers tags refused as user tags. Real distribution
// registries (basic auth, token auth) behind recording proxies; fake servers where the registry
// would have to be hostile.

const USER = { username: 'dora', password: 'pa:ss word' };
const BASIC = `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`;
const FAST_RETRY = { retries: 4, baseMs: 20, maxMs: 1000 };
const haveTools = requireTool('docker-registry') && requireTool('htpasswd') && requireTool('openssl');

const work = await mkdtemp(join(tmpdir(), 'alba-registry-safety-'));
let registry: RegistryServer;
let tokens: TokenServer;
let tokenRegistry: RegistryServer;

before(async () => {
  if (!haveTools) return;
  registry = await startRegistry({ auth: USER });
  tokens = await startTokenServer(work, USER);
  tokenRegistry = await startRegistry({ token: tokens });
});
after(async () => {
  await registry?.close();
  await tokenRegistry?.close();
  await tokens?.close();
  await rm(work, { recursive: true, force: true });
});

function randomBlob(size: number): Blob {
  const bytes = randomBytes(size);
  return memoryBlob({ bytes, descriptor: { mediaType: 'application/octet-stream', digest: digestOf(bytes), size } });
}

/** Proxies in front of `target`, closed after `body`. */
async function withProxies<T>(target: string, count: number, body: (proxies: FaultProxy[]) => Promise<T>): Promise<T> {
  const proxies = await Promise.all(Array.from({ length: count }, () => startFaultProxy(target)));
  try {
    return await body(proxies);
  } finally {
    await Promise.all(proxies.map((p) => p.close()));
  }
}

/** A client of `repository` through `proxy`, with the test user's credentials. */
function clientVia(proxy: FaultProxy, repository: string, options: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient({ registry: proxy.host, repository }, { credentials: USER, push: true, retry: FAST_RETRY, ...options });
}

/** Makes `front` send upload sessions (the Location of its POST answers) to `storage`, another origin. */
function uploadsTo(front: FaultProxy, storage: FaultProxy): void {
  front.rewrite = (req, _status, headers) => {
    if (req.method !== 'POST' || typeof headers.location !== 'string') return;
    const moved = new URL(headers.location, front.url);
    moved.host = storage.host;
    headers.location = moved.href;
  };
}

/** Makes `front` answer every blob GET with a redirect to the same path on `storage`, another origin. */
function blobsRedirectedTo(front: FaultProxy, storage: FaultProxy): void {
  front.fault = (r) =>
    r.method === 'GET' && r.path.includes('/blobs/sha256:')
      ? { status: 307, headers: { location: `${storage.url}${r.path}` }, body: '' }
      : undefined;
}

function withAuthorization(proxy: FaultProxy): string[] {
  return proxy.requests.filter((r) => r.authorization !== undefined).map((r) => `${r.method} ${r.path}: ${r.authorization}`);
}

describe(
  "credentials go only to the registry's origin",
  { skip: haveTools ? false : 'docker-registry, htpasswd or openssl is missing' },
  () => {
    test('blobs uploaded to a Location on another origin are sent without Authorization (the storage checks its own way)', () =>
      withProxies(registry.url, 2, async ([front, storage]) => {
        uploadsTo(front!, storage!);
        // Stands in for the storage's own check (a signed URL): it adds what the registry behind it needs.
        storage!.addHeaders = () => ({ authorization: BASIC });
        const client = clientVia(front!, 'safety/upload');
        await client.ping();
        const small = randomBlob(3000);
        const chunked = randomBlob(5000);
        await client.uploadBlob(small);
        await client.uploadBlob(chunked, { chunkSize: 2048 });
        const methods = new Set(storage!.requests.map((r) => r.method));
        assert.ok(methods.has('PUT') && methods.has('PATCH'), `the uploads went to the other origin: ${[...methods].join(', ')}`);
        assert.deepEqual(withAuthorization(storage!), [], 'the other origin saw no credentials');
        assert.ok(
          front!.requests.some((r) => r.authorization === BASIC),
          "the registry's origin got them",
        );
        assert.equal(await client.hasBlob(small.descriptor.digest as Digest), true);
        assert.equal(await client.hasBlob(chunked.descriptor.digest as Digest), true);
      }));

    test('another origin asking for credentials gets none: error[REGISTRY] 401 naming it, with a hint, no password', () =>
      withProxies(registry.url, 2, async ([front, storage]) => {
        uploadsTo(front!, storage!);
        const client = clientVia(front!, 'safety/refused');
        await client.ping();
        await assert.rejects(client.uploadBlob(randomBlob(3000)), (err: unknown) => {
          assert.ok(err instanceof RegistryError, String(err));
          assert.equal(err.status, 401);
          assert.ok(err.message.includes(storage!.host), err.message);
          assert.match(err.hint ?? '', /another origin/);
          assert.ok(!`${err.message}${err.hint}`.includes(USER.password));
          return true;
        });
        assert.ok(storage!.requests.length > 0);
        assert.deepEqual(withAuthorization(storage!), []);
      }));

    test("another origin's bearer challenge is not answered: its realm never gets the password", () =>
      withProxies(registry.url, 3, async ([front, storage, realm]) => {
        uploadsTo(front!, storage!);
        realm!.fault = () => ({ status: 200, body: '{"token":"stolen"}' });
        storage!.fault = () => ({ status: 401, headers: { 'www-authenticate': `Bearer realm="${realm!.url}/token",service="elsewhere"` } });
        const client = clientVia(front!, 'safety/challenge');
        await client.ping();
        await assert.rejects(client.uploadBlob(randomBlob(3000)), (err: unknown) => err instanceof RegistryError && err.status === 401);
        assert.ok(storage!.requests.length > 0, 'the fault fired');
        assert.deepEqual(
          realm!.requests.map((r) => `${r.method} ${r.path} ${r.authorization ?? ''}`),
          [],
        );
      }));

    test('the next page of the tag list on another origin is read without Authorization', () =>
      withProxies(registry.url, 2, async ([front, storage]) => {
        front!.fault = (r) =>
          r.method === 'GET' && r.path.startsWith('/v2/safety/list/tags/list')
            ? {
                status: 200,
                headers: { link: `<${storage!.url}/v2/safety/list/tags/list?n=1000&last=a>; rel="next"` },
                body: JSON.stringify({ name: 'safety/list', tags: ['a'] }),
              }
            : undefined;
        storage!.fault = () => ({ status: 200, body: JSON.stringify({ name: 'safety/list', tags: ['b'] }) });
        const client = clientVia(front!, 'safety/list');
        await client.ping();
        assert.deepEqual(await client.tags(), ['a', 'b']);
        assert.ok(
          front!.requests.some((r) => r.path.includes('tags/list') && r.authorization === BASIC),
          "the registry's page was read with the credentials",
        );
        assert.equal(storage!.requests.length, 1);
        assert.deepEqual(withAuthorization(storage!), []);
      }));

    test('a blob GET redirected to another origin is followed without Authorization', () =>
      withProxies(registry.url, 2, async ([front, storage]) => {
        const blob = randomBlob(4000);
        await clientVia(front!, 'safety/redirect').uploadBlob(blob);
        blobsRedirectedTo(front!, storage!);
        storage!.addHeaders = () => ({ authorization: BASIC });
        const client = clientVia(front!, 'safety/redirect');
        await client.ping();
        const bytes = await client.blob(blob.descriptor);
        assert.ok(bytes.equals(blob.bytes as Buffer));
        assert.ok(front!.requests.some((r) => r.method === 'GET' && r.path.includes('/blobs/') && r.authorization === BASIC));
        assert.deepEqual(
          storage!.requests.map((r) => r.method),
          ['GET'],
        );
        assert.deepEqual(withAuthorization(storage!), []);
      }));

    test('a blob GET redirected to another origin that asks for credentials: none are sent, nor is its realm asked for a token', () =>
      withProxies(registry.url, 3, async ([front, storage, realm]) => {
        const blob = randomBlob(4000);
        await clientVia(front!, 'safety/redirect-401').uploadBlob(blob);
        blobsRedirectedTo(front!, storage!);
        storage!.fault = () => ({ status: 401, headers: { 'www-authenticate': `Bearer realm="${realm!.url}/token",service="elsewhere"` } });
        realm!.fault = () => ({ status: 200, body: '{"token":"stolen"}' });
        const client = clientVia(front!, 'safety/redirect-401');
        await client.ping();
        await assert.rejects(client.blob(blob.descriptor), (err: unknown) => {
          assert.ok(err instanceof RegistryError, String(err));
          assert.equal(err.status, 401);
          assert.ok(err.message.includes(storage!.host), `the error names the origin that asked: ${err.message}`);
          assert.match(err.hint ?? '', /another origin/);
          return true;
        });
        assert.ok(storage!.requests.length > 0, 'the redirect was followed');
        assert.deepEqual(withAuthorization(storage!), []);
        assert.deepEqual(
          realm!.requests.map((r) => `${r.method} ${r.path} ${r.authorization ?? ''}`),
          [],
          "the other origin's realm was never asked",
        );
      }));

    test('with a token service: the password goes only to the realm, the token only to the registry, neither to an upload on another origin', () =>
      withProxies(tokenRegistry.url, 2, async ([front, storage]) => {
        const scope = 'repository:safety/bearer:pull,push';
        const answer = await fetch(`${tokens.realm}?service=${tokens.service}&scope=${scope}`, { headers: { authorization: BASIC } });
        const { token } = (await answer.json()) as { token: string };
        uploadsTo(front!, storage!);
        storage!.addHeaders = () => ({ authorization: `Bearer ${token}` });
        tokens.requests.length = 0;
        const client = clientVia(front!, 'safety/bearer');
        await client.ping();
        await client.uploadBlob(randomBlob(5000), { chunkSize: 2048 });
        assert.ok(storage!.requests.some((r) => r.method === 'PATCH'));
        assert.deepEqual(withAuthorization(storage!), []);
        const sent = new Set(front!.requests.flatMap((r) => (r.authorization === undefined ? [] : [r.authorization.split(' ')[0]])));
        assert.deepEqual([...sent], ['Bearer'], "the registry's origin got the token, never the password");
        assert.ok(
          tokens.requests.length > 0 && tokens.requests.every((r) => r.who === `basic:${USER.username}`),
          JSON.stringify(tokens.requests),
        );
      }));
  },
);

describe(
  'blob upload steps are never retried in place; Retry-After dates are honoured',
  { skip: haveTools ? false : 'docker-registry, htpasswd or openssl is missing' },
  () => {
    const session = (r: SeenRequest): string | undefined => /\/blobs\/uploads\/([^/?]+)/.exec(r.path)?.[1];
    for (const method of ['PATCH', 'PUT'] as const) {
      for (const [name, fault] of [
        ['a 500', { status: 500 }],
        ['a reset connection', 'reset'],
      ] as [string, Fault][]) {
        test(`${name} on a ${method} restarts the upload with a new session, never sends to that Location again`, () =>
          withProxies(registry.url, 1, async ([proxy]) => {
            let fired: SeenRequest | undefined;
            proxy!.fault = (r) =>
              fired === undefined && r.method === method && session(r) !== undefined ? ((fired = r), fault) : undefined;
            const client = clientVia(proxy!, `safety/retry-${method.toLowerCase()}`);
            const blob = randomBlob(5000);
            await client.uploadBlob(blob, { chunkSize: 2048 });
            assert.ok(fired !== undefined, 'the fault fired');
            const failed = session(fired);
            const later = proxy!.requests.slice(proxy!.requests.indexOf(fired) + 1);
            const trace = proxy!.requests.map((r) => `${r.method} ${r.path}`).join('\n');
            assert.deepEqual(
              later.filter((r) => session(r) === failed).map((r) => `${r.method} ${r.path}`),
              [],
              `nothing more went to the failed session:\n${trace}`,
            );
            assert.ok(
              later.some((r) => r.method === 'POST' && r.path.endsWith('/blobs/uploads/')),
              `a new session was started:\n${trace}`,
            );
            assert.equal(await client.hasBlob(blob.descriptor.digest as Digest), true);
          }));
      }
    }

    test('a 503 with Retry-After as an HTTP date: the retry is not sent before that date', () =>
      withProxies(registry.url, 1, async ([proxy]) => {
        // Two to three seconds ahead, on a whole second (HTTP dates have no fraction); the backoff alone would wait 0.4-0.6 s.
        const at = Math.ceil((Date.now() + 2000) / 1000) * 1000;
        let fired: SeenRequest | undefined;
        proxy!.fault = (r) =>
          fired === undefined && r.path === '/v2/'
            ? ((fired = r), { status: 503, headers: { 'retry-after': new Date(at).toUTCString() } })
            : undefined;
        await clientVia(proxy!, 'safety/retry-after', { retry: { retries: 4, baseMs: 500, maxMs: 20_000 } }).ping();
        assert.ok(fired !== undefined, 'the fault fired');
        const retry = proxy!.requests.slice(proxy!.requests.indexOf(fired) + 1).find((r) => r.path === '/v2/');
        assert.ok(retry !== undefined, 'the request was retried');
        assert.ok(retry.at >= at - 50, `the retry came ${at - retry.at} ms before the Retry-After date`);
      }));
  },
);

describe('referrers tags are not user tags', () => {
  const referrers = `sha256-${'0f'.repeat(32)}`;
  test('push -t NAME:sha256-<hex> and rm -t NAME:sha256-<hex>: USAGE before any request', () =>
    withProxies('http://127.0.0.1:9', 1, async ([proxy]) => {
      for (const args of [
        ['container', 'push', '-t', `app:${referrers}`, join(work, 'no-layout'), `docker://${proxy!.host}`],
        ['container', 'rm', '-t', `app:${referrers}`, `docker://${proxy!.host}`],
      ]) {
        const res = await runAlba(args);
        assert.equal(res.status, 2, `${args.join(' ')}\n${explainRun(res)}`);
        assert.match(res.stderr, /error\[USAGE\].*referrers tag/);
        assert.match(res.stderr, /hint: .*SBOMs/);
      }
      assert.deepEqual(proxy!.requests, []);
    }));
});

/** A hostile registry on 127.0.0.1: `routes` answers by path (without query); anything else is 404. `hits` records path and query, `auth` each path with its Authorization scheme. */
async function fakeRegistry(
  routes: Record<string, (req: IncomingMessage, res: ServerResponse, url: URL) => void>,
): Promise<{ host: string; url: string; hits: string[]; auth: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const auth: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits.push(`${url.pathname}${url.search}`);
    auth.push(`${url.pathname} ${req.headers.authorization?.split(' ')[0] ?? 'none'}`);
    const route = routes[url.pathname];
    if (route === undefined) res.writeHead(404).end();
    else route(req, res, url);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: `http://${host}`,
    hits,
    auth,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const json = (res: ServerResponse, value: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
};

describe('bounded against a hostile registry', () => {
  let fake: Awaited<ReturnType<typeof fakeRegistry>>;
  /** A registry whose /v2/ asks for a token from `realm`, one of its own hostile token services. */
  let tokenFake: Awaited<ReturnType<typeof fakeRegistry>>;
  /** Bytes the fake wrote of the huge declared manifest, and whether the client dropped that connection. */
  const declared = { written: 0, dropped: undefined as Promise<void> | undefined };
  let realm = '/token';
  let garbage = 'text';
  before(async () => {
    fake = await fakeRegistry({
      '/v2/': (_req, res) => json(res, {}),
      '/v2/huge/tags/list': (_req, res) => json(res, { name: 'huge', tags: Array.from({ length: 300_000 }, (_, i) => `t${i}`) }),
      '/v2/loop/tags/list': (_req, res) =>
        json(res, { name: 'loop', tags: ['a'] }, { link: '</v2/loop/tags/list?n=1000&last=a>; rel="next"' }),
      '/v2/endless/tags/list': (_req, res, url) => {
        const last = Number(url.searchParams.get('last') ?? '0');
        json(res, { name: 'endless', tags: [] }, { link: `</v2/endless/tags/list?n=1000&last=${last + 1}>; rel="next"` });
      },
      '/v2/fat/tags/list': (_req, res, url) => {
        const last = Number(url.searchParams.get('last') ?? '0');
        res.writeHead(200, { 'content-type': 'application/json', link: `</v2/fat/tags/list?n=1000&last=${last + 1}>; rel="next"` });
        res.end(`{"name":"fat","tags":["t${last}"]${' '.repeat(3 * 1024 * 1024)}}`);
      },
      '/v2/garbage/tags/list': (_req, res, url) => {
        const bodies: Record<string, string> = {
          text: 'not json',
          number: '{"tags":7}',
          item: '{"tags":[1]}',
          path: '{"tags":["../../other/manifests/x"]}',
        };
        const last = url.searchParams.get('last');
        if (last === null) json(res, { name: 'garbage', tags: ['a'] }, { link: `</v2/garbage/tags/list?last=${garbage}>; rel="next"` });
        else res.writeHead(200, { 'content-type': 'application/json' }).end(bodies[last]);
      },
      '/token-elsewhere': (_req, res) => json(res, { token: 'from-elsewhere' }),
      '/v2/broken/manifests/moved': (_req, res) => res.writeHead(307, { location: 'http://127.0.0.1:99999/v2/x' }).end(),
      '/v2/broken/tags/list': (_req, res) => json(res, { name: 'broken', tags: ['a'] }, { link: '<http://[>; rel="next"' }),
      '/v2/relative-realm/tags/list': (_req, res) =>
        res.writeHead(401, { 'www-authenticate': 'Bearer realm="/token",service="fake"' }).end(),
      '/v2/big/manifests/chunked': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' });
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        let sent = 0;
        const pump = (): void => {
          while (sent < 8 && res.write(chunk)) sent++;
          if (sent < 8) res.once('drain', pump);
          else res.end();
        };
        pump();
      },
      '/v2/big/manifests/declared': (req, res) => {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json', 'content-length': String(1024 ** 3) });
        res.write(Buffer.alloc(1024, 0x20));
        declared.written += 1024;
        declared.dropped = new Promise((resolve) => req.socket.once('close', () => resolve()));
      },
    });
    tokenFake = await fakeRegistry({
      '/v2/': (_req, res) => res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokenFake.url}${realm}",service="fake"` }).end(),
      '/token-drip': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"token":"');
        const timer = setInterval(() => res.write('a'), 100);
        res.on('close', () => clearInterval(timer));
      },
      '/token-silent': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"token":"');
      },
      '/token-moved': (_req, res) => res.writeHead(307, { location: `${fake.url}/token-elsewhere` }).end(),
      '/token-big': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`{"token":"${'a'.repeat(2 * 1024 * 1024)}"}`);
      },
    });
  });
  after(async () => {
    await fake?.close();
    await tokenFake?.close();
  });
  const client = (repository: string, options: RegistryClientOptions = {}): RegistryClient =>
    new RegistryClient({ registry: fake.host, repository }, { retry: FAST_RETRY, ...options });
  const pagesOf = (repository: string): number => fake.hits.filter((h) => h.startsWith(`/v2/${repository}/tags/list`)).length;

  test(`a tag list of 300k tags in one page is TOO_LARGE (at most ${MAX_TAGS}), not a crash`, async () => {
    await assert.rejects(
      client('huge').tags(),
      (err: unknown) => isAlbaError(err, 'TOO_LARGE') && /more than 100000 tags/.test(err.message) && err.message.includes(fake.host),
    );
  });

  test('a Link back to a page already read is REGISTRY after reading it once', async () => {
    await assert.rejects(
      client('loop').tags(),
      (err: unknown) => isAlbaError(err, 'REGISTRY') && /leads back to a page already read/.test(err.message),
    );
    assert.equal(pagesOf('loop'), 2);
  });

  test(`a Link that never ends is TOO_LARGE after ${MAX_TAG_PAGES} pages, never a list cut short`, async () => {
    await assert.rejects(
      client('endless').tags(),
      (err: unknown) => isAlbaError(err, 'TOO_LARGE') && /more than 1000 pages/.test(err.message),
    );
    assert.equal(pagesOf('endless'), MAX_TAG_PAGES);
  });

  test(`pages of padding are TOO_LARGE past ${MAX_TAG_LIST_BYTES} bytes in all`, async () => {
    await assert.rejects(client('fat').tags(), (err: unknown) => isAlbaError(err, 'TOO_LARGE') && /bytes/.test(err.message));
    assert.ok(pagesOf('fat') <= MAX_TAG_LIST_BYTES / (3 * 1024 * 1024) + 1, String(pagesOf('fat')));
  });

  test('a tag list that is not JSON, or holds something else than tags, is REGISTRY naming the page', async () => {
    const cases: Record<string, RegExp> = {
      text: /is not JSON/,
      number: /"tags" that is not a list/,
      item: /holds 1, which is not a tag/,
      path: /holds "\.\.\/\.\.\/other\/manifests\/x"/,
    };
    for (const [name, message] of Object.entries(cases)) {
      garbage = name;
      // The first page is good, the next one is garbage.
      await assert.rejects(
        client('garbage').tags(),
        (err: unknown) => isAlbaError(err, 'REGISTRY') && message.test(err.message) && err.message.includes(`last=${name}`),
      );
    }
  });

  test('a manifest over the 4 MiB cap is TOO_LARGE; a declared Content-Length over it is refused before reading the body', async () => {
    await assert.rejects(
      client('big').manifest('chunked'),
      (err: unknown) => isAlbaError(err, 'TOO_LARGE') && /larger than 4194304 bytes/.test(err.message),
    );
    // The fake sends 1 KiB of its declared 1 GiB and then nothing: reading it would end in NETWORK after the idle timeout.
    await assert.rejects(
      client('big', { idleMs: 1500 }).manifest('declared'),
      (err: unknown) => isAlbaError(err, 'TOO_LARGE') && /declares 1073741824/.test(err.message),
    );
    assert.equal(declared.written, 1024);
    await declared.dropped;
  });

  const tokenTest = (path: string, check: (err: unknown) => boolean) => async (): Promise<void> => {
    realm = path;
    const started = tokenFake.hits.length;
    const client = new RegistryClient(
      { registry: tokenFake.host, repository: 'token' },
      { retry: FAST_RETRY, credentials: USER, idleMs: 1500 },
    );
    await assert.rejects(client.ping(), (err: unknown) => {
      assert.ok(check(err), String(err));
      assert.ok((err as Error).message.includes(`${tokenFake.url}${path}`), `the message names the realm: ${(err as Error).message}`);
      assert.ok(!(err as Error).message.includes(USER.password));
      return true;
    });
    assert.equal(tokenFake.hits.slice(started).filter((h) => h.startsWith(path)).length, 1, 'not retried');
  };
  test(
    'a token answer that drips and never ends is given up at the token deadline, naming the realm',
    { timeout: 30_000 },
    tokenTest('/token-drip', (err) => isAlbaError(err, 'NETWORK') && /did not finish its answer within 1.5 s/.test((err as Error).message)),
  );
  test(
    'a token answer that stops midway is given up, naming the realm',
    { timeout: 30_000 },
    tokenTest(
      '/token-silent',
      (err) =>
        isAlbaError(err, 'NETWORK') &&
        /token service (did not finish its answer within 1\.5 s|cut its answer)/.test((err as Error).message),
    ),
  );
  test('a token realm redirecting to another origin: the password is not sent there', async () => {
    realm = '/token-moved';
    const client = new RegistryClient({ registry: tokenFake.host, repository: 'token' }, { retry: FAST_RETRY, credentials: USER });
    await assert.rejects(client.ping(), (err: unknown) => err instanceof RegistryError && err.status === 401);
    assert.ok(tokenFake.auth.includes('/token-moved Basic'), 'the realm got the password');
    assert.ok(
      fake.auth.includes('/token-elsewhere none'),
      `the other origin got no credentials: ${fake.auth.filter((a) => a.startsWith('/token')).join(', ')}`,
    );
    assert.ok(!fake.auth.includes('/token-elsewhere Basic'));
  });
  test('a Location, a Link or a token realm that is no URL is REGISTRY naming it, never an internal error', async () => {
    const garbage = (what: RegExp) => (err: unknown) =>
      isAlbaError(err, 'REGISTRY') && what.test(err.message) && /is not a URL/.test(err.message);
    await assert.rejects(client('broken').manifest('moved'), garbage(/the redirect to "http:\/\/127\.0\.0\.1:99999\/v2\/x"/));
    await assert.rejects(client('broken').tags(), garbage(/the tag list's Link to its next page, "http:\/\/\["/));
    await assert.rejects(client('relative-realm', { credentials: USER }).tags(), garbage(/the challenge's token realm "\/token"/));
  });

  test('a registry served over https naming a plain-http token realm: the password is not sent there', async (t) => {
    if (!requireTool('openssl', t)) return;
    const pki = makeCa(await mkdtemp(join(work, 'tls-')), 'registry');
    const realmHits: string[] = [];
    const plain = createServer((req, res) => {
      realmHits.push(`${req.url} ${req.headers.authorization ?? 'none'}`);
      json(res, { token: 'sent-in-clear' });
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const realmUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/token`;
    const secure = createHttpsServer({ cert: readFileSync(pki.cert), key: readFileSync(pki.key) }, (_req, res) =>
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${realmUrl}",service="fake"` }).end(),
    );
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
    try {
      const host = `127.0.0.1:${(secure.address() as AddressInfo).port}`;
      const client = new RegistryClient(
        { registry: host, repository: 'downgrade' },
        { retry: FAST_RETRY, credentials: USER, tls: { caFile: pki.ca } },
      );
      await assert.rejects(client.ping(), (err: unknown) => {
        assert.ok(isAlbaError(err, 'REGISTRY') && /is plain http/.test(err.message), String(err));
        assert.ok(!`${(err as Error).message}`.includes(USER.password));
        return true;
      });
      assert.deepEqual(realmHits, [], 'the plain-http realm was never asked');
    } finally {
      plain.closeAllConnections();
      secure.closeAllConnections();
      await Promise.all([new Promise((r) => plain.close(r)), new Promise((r) => secure.close(r))]);
    }
  });

  test(
    'a token answer over the cap is TOO_LARGE, naming the realm',
    { timeout: 30_000 },
    tokenTest('/token-big', (err) => isAlbaError(err, 'TOO_LARGE')),
  );
});
