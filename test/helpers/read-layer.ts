import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';

/** One entry of a layer read back: its raw header and content. */
export interface ReadEntry {
  header: tar.Header;
  content: Buffer;
}

/** Reads every entry of a gzip (or plain, with gzip=false) tar file, in order. */
export async function readLayerEntries(path: string, gzip = true): Promise<ReadEntry[]> {
  const extract = tar.extract();
  const entries: ReadEntry[] = [];
  const collecting = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      entries.push({ header: entry.header, content: Buffer.concat(chunks) });
    }
  })();
  const streams = gzip ? [createReadStream(path), createGunzip()] : [createReadStream(path)];
  await Promise.all([
    pipeline([...streams, extract as unknown as NodeJS.WritableStream] as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream]),
    collecting,
  ]);
  return entries;
}

/** Each entry as [name, type, octal mode, uid:gid, linkname], for comparing a layer with a table. */
export function entryTable(entries: readonly ReadEntry[]): string[][] {
  return entries.map((e) => [
    e.header.name,
    e.header.type ?? '',
    (e.header.mode ?? 0).toString(8),
    `${e.header.uid}:${e.header.gid}`,
    e.header.linkname ?? '',
  ]);
}
