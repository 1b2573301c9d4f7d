import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BuildProgressLine, Progress } from '../../src/cli/progress.js';
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
  test('a build or lock stage is drawn as it begins, even within 100 ms of the last draw', () => {
    const stream = fakeStream(true);
    const line = new BuildProgressLine(stream, {});
    line.lock({ stage: 'releases', done: 0, total: 1 });
    line.lock({ stage: 'archs', done: 0, total: 1 });
    line.build({ stage: 'download', done: 1, total: 1, bytes: 1, totalBytes: 1 });
    line.build({ stage: 'layers', done: 0, total: 3 });
    line.build({ stage: 'layers', done: 1, total: 3 }); // the same stage, within 100 ms: not drawn again
    line.clear();
    const drawn = stream.written.split('\r').filter((l) => l !== '' && l !== '\x1b[K');
    assert.deepEqual(
      drawn.map((l) => l.split(' ')[0]),
      ['Release', 'archs', '.debs', 'layers'],
    );
    assert.match(drawn[3]!, /^layers 0\/3/);
  });
  test('formatBytes', () => {
    assert.equal(formatBytes(512), '0.5 kB');
    assert.equal(formatBytes(3 * 1024 * 1024), '3.0 MB');
    assert.equal(formatBytes(2 * 1024 ** 3), '2.00 GB');
  });
});
