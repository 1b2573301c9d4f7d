import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BuildPrefetch } from '../../src/builder/deb-downloads.js';
import { findArch } from '../../src/debian/arch.js';
import { DEB_DOWNLOADS } from '../../src/debian/download.js';
import type { LockedPackage } from '../../src/lock/lock-types.js';
import { parseRecipe } from '../../src/recipe/parse.js';

// The prefetch of a build without a lock starts each package's download as its arch is resolved:
// a large image must not open a connection per package to the mirror at once.

test('the build prefetch has at most DEB_DOWNLOADS .debs in flight, the largest first, and fetches each once', async () => {
  const debs = Array.from({ length: 20 }, (_, i) => randomBytes(1000 + i * 100));
  let inFlight = 0;
  let most = 0;
  const order: number[] = [];
  // answers held, then given one at a time, each only once the slot the one before freed has been
  // taken by a new request (or every request has come): never two slots freed at once, whose next
  // requests would race over two connections; and at most DEB_DOWNLOADS in flight is seen whole
  const held: (() => void)[] = [];
  const answerOne = (): void => {
    if (inFlight === DEB_DOWNLOADS || order.length === debs.length) held.shift()?.();
  };
  const server = createServer((req, res) => {
    const i = Number(/pkg(\d+)\.deb$/.exec(req.url ?? '')?.[1]);
    const body = debs[i];
    if (body === undefined) return void res.writeHead(404).end();
    order.push(i);
    most = Math.max(most, ++inFlight);
    held.push(() => {
      inFlight--;
      res.writeHead(200, { 'content-length': body.length }).end(body, () => setImmediate(answerOne));
    });
    answerOne();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/debian`;
  const cacheDir = await mkdtemp(join(tmpdir(), 'alba-prefetch-'));
  try {
    const recipe = parseRecipe(
      `name: app\narchs: [amd64]\nsources:\n  - url: ${url}\n    suites: [bookworm]\n    components: [main]\npackages: [pkg0]\nkeyring: [/k.gpg]\n`,
      'recipe.yaml',
      '/',
    );
    const packages: LockedPackage[] = debs.map((bytes, i) => ({
      name: `pkg${i}`,
      version: '1',
      architecture: 'amd64',
      source: `pkg${i}`,
      sourceVersion: '1',
      repo: url,
      suite: 'bookworm',
      component: 'main',
      filename: `pool/main/p/pkg${i}.deb`,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      dependsOn: [],
    }));
    const prefetch = new BuildPrefetch({
      recipe,
      cacheDir,
      targets: [{ source: recipe.sources[0]!, suite: 'bookworm', fetchUrl: url }],
      log: () => undefined,
      env: { SOURCE_DATE_EPOCH: '0' },
    });
    // the same packages for a second arch (arch: all): each .deb is still fetched once
    prefetch.add(findArch('amd64')!, packages, []);
    prefetch.add(findArch('arm64')!, packages, []);
    const { verified } = await prefetch.finish(); // the layers fail (random bytes are no .deb): build() would meet that again
    for (const p of packages) assert.ok(verified.has(p.sha256), `${p.name} was downloaded, and verified as it was written`);
    assert.equal(order.length, debs.length, 'each .deb fetched once');
    assert.equal(most, DEB_DOWNLOADS, `at most ${DEB_DOWNLOADS} downloads at once, and that many`);
    assert.deepEqual(
      order.slice(DEB_DOWNLOADS),
      debs
        .map((_, i) => i)
        .slice(DEB_DOWNLOADS)
        .reverse(),
      'the first ones start as they come, the waiting ones largest first',
    );
  } finally {
    server.close();
    await rm(cacheDir, { recursive: true, force: true });
  }
});
