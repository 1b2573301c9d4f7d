import { pipeline, Transform } from 'node:stream';
import type { Blob } from '../oci/graph.js';

/** The blob as a stream-only blob whose every chunk read is reported to `onBytes` (for progress displays). */
export function countedBlob(blob: Blob, onBytes: (bytes: number) => void): Blob {
  const { bytes: _inMemory, ...rest } = blob;
  return {
    ...rest,
    open: async () => {
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          onBytes(chunk.length);
          done(null, chunk);
        },
      });
      // pipeline carries an error of the source to the counter, which the request is reading
      return pipeline(await blob.open(), counter, () => undefined);
    },
  };
}
