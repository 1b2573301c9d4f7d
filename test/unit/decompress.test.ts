import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { decompressor, IN_PROCESS_XZ_BYTES, type DecompressOptions } from '../../src/debian/decompress.js';
import { isAlbaError } from '../../src/errors.js';
import { compress } from '../helpers/make-deb.js';

/** Everything `decompressor` gives for `input` written in 1000-byte chunks. */
async function decode(input: Buffer, options: DecompressOptions): Promise<Buffer> {
  const decoder = decompressor('xz', 'test input', options);
  const out: Buffer[] = [];
  const reading = (async () => {
    for await (const chunk of decoder) out.push(chunk as Buffer);
  })();
  for (let at = 0; at < input.length; at += 1000) decoder.write(input.subarray(at, at + 1000));
  decoder.end();
  await reading;
  return Buffer.concat(out);
}

// half text (compresses), half random (does not): a few hundred kB of xz
const plain = Buffer.concat([Buffer.from('Package: hello\nVersion: 1.0-1\n'.repeat(20_000)), randomBytes(100_000)]);
const xz = compress(plain, 'xz');
/** The two decoders: in this process (the input is known to be small) and the `xz` program. */
const decoders: { name: string; options: DecompressOptions; says: RegExp }[] = [
  { name: 'in-process', options: { inputBytes: xz.length }, says: /xz says (?!xz:)/ },
  { name: 'xz program', options: {}, says: /xz says xz: \(stdin\)/ },
  { name: 'xz program (input over the in-process limit)', options: { inputBytes: IN_PROCESS_XZ_BYTES + 1 }, says: /xz says xz: \(stdin\)/ },
];

describe('xz decoding', () => {
  test('the fixture is small enough for the in-process decoder', () => assert.ok(xz.length <= IN_PROCESS_XZ_BYTES, `${xz.length} bytes`));

  for (const { name, options, says } of decoders) {
    test(`${name}: the bytes that went in`, async () => {
      assert.ok((await decode(xz, options)).equals(plain));
    });

    const broken: { what: string; input: Buffer; problem: RegExp }[] = [
      { what: 'truncated', input: xz.subarray(0, xz.length - 5000), problem: /unexpected end of input/i },
      { what: 'corrupt', input: Buffer.from(xz.map((b, i) => (i === 200 ? b ^ 0xff : b))), problem: /corrupt/i },
      { what: 'not xz', input: Buffer.from('Package: hello\n'), problem: /format/i },
    ];
    for (const { what, input, problem } of broken) {
      test(`${name}: ${what} input is DECOMPRESS_FAILED, in words`, async () => {
        await assert.rejects(decode(input, options), (err: unknown) => {
          assert.ok(isAlbaError(err, 'DECOMPRESS_FAILED'), String(err));
          assert.match(err.message, /test input/);
          assert.match(err.message, says);
          assert.match(err.message, problem);
          return true;
        });
      });
    }
  }
});

describe('xz decoding given up midway (a download cut, a caller that stops)', () => {
  for (const { name, options } of decoders) {
    test(`${name}: destroying the decoder with writes pending closes it with that error alone (nothing thrown elsewhere)`, async () => {
      const decoder = decompressor('xz', 'test input', options);
      const errors: unknown[] = [];
      decoder.on('error', (err) => errors.push(err));
      // nobody reads: writes wait in the decoder, as when a download outruns its parse
      for (let at = 0; at < xz.length; at += 1000) decoder.write(xz.subarray(at, at + 1000));
      await new Promise((r) => setTimeout(r, 50));
      const cut = new Error('the body was cut');
      decoder.destroy(cut);
      await new Promise((r) => decoder.once('close', r));
      await new Promise((r) => setTimeout(r, 100)); // an error thrown by a stream left behind would fail the test meanwhile
      assert.deepEqual(errors, [cut]);
    });
  }
});
