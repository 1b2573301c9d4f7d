import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cacheArea, defaultCacheDir } from '../../src/cache.js';
import { mapLimit } from '../../src/util/map-limit.js';

describe('mapLimit', () => {
  test('keeps order and never exceeds the limit', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([30, 10, 20, 5, 15], 2, async (ms, i) => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      return `${i}:${ms}`;
    });
    assert.deepEqual(out, ['0:30', '1:10', '2:20', '3:5', '4:15']);
    assert.equal(peak, 2);
  });

  test('rejects with the first failure, starts nothing after it, and waits for calls in flight', async () => {
    const started: number[] = [];
    let settled = 0;
    await assert.rejects(
      mapLimit([0, 1, 2, 3, 4], 2, async (i) => {
        started.push(i);
        await new Promise((r) => setTimeout(r, i === 0 ? 5 : 20));
        settled++;
        if (i === 0) throw new Error('boom');
        return i;
      }),
      /boom/,
    );
    assert.deepEqual(started, [0, 1]);
    assert.equal(settled, 2);
  });

  test('an empty list gives an empty result', async () => {
    assert.deepEqual(await mapLimit([], 4, async () => 1), []);
  });
  test('rejects with the earliest failing item, not the first to fail in time', async () => {
    const slowFirst = mapLimit([40, 1], 2, async (ms, i) => {
      await new Promise((r) => setTimeout(r, ms));
      throw new Error(`item ${i}`);
    });
    await assert.rejects(slowFirst, /^Error: item 0$/);
  });
});

describe('defaultCacheDir', () => {
  const cases: [string, NodeJS.ProcessEnv, string][] = [
    ['XDG_CACHE_HOME set', { XDG_CACHE_HOME: '/x/cache' }, '/x/cache/alba'],
    ['XDG_CACHE_HOME empty', { XDG_CACHE_HOME: '' }, join(homedir(), '.cache', 'alba')],
    ['XDG_CACHE_HOME unset', {}, join(homedir(), '.cache', 'alba')],
  ];
  for (const [name, env, expected] of cases) test(name, () => assert.equal(defaultCacheDir(env), expected));
  test('each cache area is one folder of the cache dir', () => assert.equal(cacheArea('/c', 'blobs'), '/c/blobs'));
});
