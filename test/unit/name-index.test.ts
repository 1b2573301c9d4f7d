import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NameIndex } from '../../src/debian/name-index.js';

test('NameIndex: every name finds its stanzas (several for one name, in stanza order) after growing; an absent name finds none', () => {
  const index = new NameIndex();
  const names: string[] = [];
  for (let i = 0; i < 70_000; i++) names.push(`lib-${i.toString(36)}`);
  names.forEach((name, i) => index.add(name, i * 10));
  index.add('lib-0', 1_000_000); // a second stanza of a name: offsets in stanza order
  for (const [i, name] of names.entries()) {
    if (i % 997 !== 0) continue;
    assert.ok(index.candidates(name).includes(i * 10), name);
  }
  assert.deepEqual(
    index.candidates('lib-0').filter((o) => o === 0 || o === 1_000_000),
    [0, 1_000_000],
  );
  assert.deepEqual(index.candidates('no-such-package'), []);
  assert.equal(index.all().length, 70_001);
  assert.deepEqual(index.all().slice(0, 3), [0, 10, 20]);
});
