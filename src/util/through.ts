import type { Readable, Transform } from 'node:stream';

/**
 * `source` piped into `transform`, each destroyed with the other: an error of the source destroys
 * the transform (with `named(err)`), the transform closing destroys the source. It flows at once:
 * an error before the reader's pipeline is set up is kept (`errored`), for that pipeline to reject with.
 */
export function through(source: Readable, transform: Transform, named: (err: Error) => Error = (err) => err): Transform {
  transform.on('error', () => undefined);
  source.on('error', (err) => transform.destroy(named(err)));
  transform.on('close', () => source.destroy());
  return source.pipe(transform);
}
