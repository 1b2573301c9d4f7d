import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build } from '../../src/builder/build.js';
import { lockRecipe } from '../../src/lock/lock.js';
import { checkLayout, readLayout } from '../../src/source/oci-layout.js';
import { applyMirrors } from '../../src/recipe/mirror.js';
import { loadRecipe } from '../../src/recipe/load.js';
import { readLayoutGraph } from '../../src/source/layout-source.js';
import { openLayoutSink } from '../../src/sink/layout/layout-sink.js';
import { publish, type PublishEvent } from '../../src/sink/publish.js';
import type { Sink, StoreOutcome } from '../../src/sink/sink.js';
import { makeFixtureDistro, writeFixtureProject } from '../helpers/fixture-distro.js';
import { serveDir, type RepoServer } from '../helpers/repo-server.js';

// lockRecipe(), build() and publish() called in-process, as a library user would, on the fixture distro.

const work = await mkdtemp(join(tmpdir(), 'alba-library-'));
let server: RepoServer;
let recipePath: string;
before(async () => {
  const repo = await makeFixtureDistro(join(work, 'repo'));
  server = await serveDir(repo.dir);
  recipePath = (await writeFixtureProject(join(work, 'project'), { url: server.url, keyring: repo.keyringPath, tag: 'lib' })).recipe;
});
after(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

/** A sink that records the order of the walk and stores nothing. */
function recordingSink(order: string[]): Sink {
  const note = (what: string) => async (): Promise<StoreOutcome> => {
    order.push(what);
    return 'sent';
  };
  return {
    name: 'recording',
    holdsComplete: async () => false,
    putBlob: async (b) => note(`blob ${b.descriptor.digest}`)(),
    putManifest: async (b) => note(`manifest ${b.descriptor.digest}`)(),
    linkReferrers: async (s) => void order.push(`link ${s.digest}`),
    tag: async (t) => note(`tag ${t}`)(),
    finish: async (ok) => void order.push(`finish ${ok}`),
  };
}

describe('library API', () => {
  test('lockRecipe, then build returns a graph and writes no layout; publish stores it children first, tags last', async () => {
    const recipe = await loadRecipe(recipePath);
    const cacheDir = join(work, 'cache');
    const { lock } = await lockRecipe(recipe, {
      targets: applyMirrors(recipe.sources, [], undefined),
      cacheDir,
      allowInsecure: false,
      log: () => undefined,
    });
    assert.deepEqual(Object.keys(lock.archs).sort(), ['amd64', 'arm64']);
    const result = await build({ recipe, lock, cacheDir, targets: applyMirrors(recipe.sources, [], undefined), log: () => undefined });
    assert.equal(result.graph.images.length, 2);
    assert.equal(result.graph.referrers.length, 6, 'an SPDX and a CycloneDX SBOM per platform and for the index');
    assert.equal(result.graph.root.descriptor.digest, result.index.digest);

    const order: string[] = [];
    const events: PublishEvent[] = [];
    await publish(result.graph, recordingSink(order), ['lib', 'also'], { onEvent: (e) => events.push(e) });
    const position = (what: string): number => order.indexOf(what);
    const root = `manifest ${result.index.digest}`;
    for (const image of result.graph.images) {
      for (const blob of image.blobs)
        assert.ok(position(`blob ${blob.descriptor.digest}`) < position(`manifest ${image.manifest.descriptor.digest}`));
      assert.ok(position(`manifest ${image.manifest.descriptor.digest}`) < position(root));
    }
    for (const r of result.graph.referrers)
      assert.ok(position(`manifest ${r.manifest.descriptor.digest}`) > position(root), 'referrers after their subject');
    assert.deepEqual(order.slice(-3), ['tag lib', 'tag also', 'finish true']);
    const blobs = order.filter((o) => o.startsWith('blob '));
    assert.equal(new Set(blobs).size, blobs.length, 'each blob once, though the platforms share the all-arch layers');
    assert.ok(events.some((e) => e.platform?.architecture === 'arm64'));

    const dir = join(work, 'layout');
    await publish(result.graph, await openLayoutSink({ dir }), ['lib']);
    await checkLayout(await readLayout(dir), { hashes: true });
    const back = await readLayoutGraph(dir);
    assert.equal(back.ref, 'lib');
    assert.equal(back.graph.root.descriptor.digest, result.index.digest);
    assert.equal(back.graph.referrers.length, 6, 'the layout source finds the SBOM referrers by subject');
    assert.ok((await readFile(join(dir, 'sbom', 'index.spdx.json'))).length > 0);
  });

  test('a failing sink is told to discard and no tag is written', async () => {
    const order: string[] = [];
    const sink = recordingSink(order);
    let calls = 0;
    sink.putManifest = async () => {
      if (++calls === 2) throw new Error('disk full');
      return 'sent';
    };
    const recipe = await loadRecipe(recipePath);
    const cacheDir = join(work, 'cache');
    const { lock } = await lockRecipe(recipe, {
      targets: applyMirrors(recipe.sources, [], undefined),
      cacheDir,
      allowInsecure: false,
      log: () => undefined,
    });
    const { graph } = await build({ recipe, lock, cacheDir, targets: applyMirrors(recipe.sources, [], undefined), log: () => undefined });
    await assert.rejects(publish(graph, sink, ['x']), /disk full/);
    assert.deepEqual(
      order.filter((o) => o.startsWith('tag')),
      [],
    );
    assert.equal(order.at(-1), 'finish false');
  });
});
