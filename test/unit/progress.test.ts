import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Progress } from '../../src/cli/progress.js';
import { formatBytes } from '../../src/util/format-bytes.js';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { written: string } {
  const stream = {
    isTTY,
    columns: 40,
    written: '',
    write(text: string) {
      stream.written += text;
      return true;
    },
  };
  return stream as unknown as NodeJS.WriteStream & { written: string };
}

describe('Progress', () => {
  test('on a TTY: drawn in place, cut to the width, cleared at the end', () => {
    const stream = fakeStream(true);
    const p = new Progress(() => 'x'.repeat(100), stream, {});
    p.update();
    p.update(); // within 100 ms: not drawn again
    assert.equal(stream.written, `\r${'x'.repeat(39)}\x1b[K`);
    p.clear();
    assert.ok(stream.written.endsWith('\r\x1b[K'));
  });
  test('nothing when the stream is not a TTY, or under CI=true', () => {
    for (const [tty, env] of [
      [false, {}],
      [true, { CI: 'true' }],
    ] as const) {
      const stream = fakeStream(tty);
      const p = new Progress(() => 'drawn', stream, env);
      p.update();
      p.clear();
      assert.equal(stream.written, '');
      assert.equal(p.enabled, false);
    }
  });
  test('formatBytes', () => {
    assert.equal(formatBytes(512), '0.5 kB');
    assert.equal(formatBytes(3 * 1024 * 1024), '3.0 MB');
    assert.equal(formatBytes(2 * 1024 ** 3), '2.00 GB');
  });
});
