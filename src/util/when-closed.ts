import type { WriteStream } from 'node:fs';

/**
 * Resolves once a file write stream has released its file. A stream destroyed before its open
 * completed still creates the file afterwards, so removing a temp file must wait for 'close'.
 */
export function whenClosed(stream: WriteStream): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}
