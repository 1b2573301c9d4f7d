import type { Readable } from 'node:stream';
import { AlbaError } from '../errors.js';

/**
 * The whole body of an answer, refused above `max` bytes (TOO_LARGE naming `what`; at once, unread,
 * when its Content-Length declares more: `drop` then closes it); with `truncate`, its first `max`
 * bytes. `shown` names the request in messages (credentials removed).
 */
export async function readBody(
  answer: { contentLength: string | null; stream: () => Readable; drop: () => void },
  limit: { max: number; what: string; truncate: boolean; shown: string },
): Promise<Buffer> {
  const { max, what, truncate, shown } = limit;
  const tooLarge = (declared: string): AlbaError =>
    new AlbaError('TOO_LARGE', `${shown}: ${what} is larger than ${max} bytes${declared}`, {
      hint: 'the server sent something far larger than what alba asked for can be; check the address, or the server is hostile',
    });
  const declared = Number(answer.contentLength);
  if (!truncate && declared > max) {
    answer.drop();
    throw tooLarge(` (it declares ${declared})`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of answer.stream()) {
    total += (chunk as Buffer).length;
    if (total > max) {
      if (truncate) {
        chunks.push(chunk as Buffer);
        break;
      }
      throw tooLarge('');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).subarray(0, max);
}
