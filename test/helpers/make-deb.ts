import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

/** One entry of a fixture package's data.tar. */
export interface DebEntry {
  /** Path as stored in the tar, e.g. `./usr/bin/hello` (written as given, so hostile paths can be made). */
  path: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
}

/** What a fixture .deb holds. */
export interface DebSpec {
  control: Record<string, string>;
  files?: DebEntry[];
  compression?: 'xz' | 'gz' | 'zst' | 'none';
  /** Cut the data member to this many bytes (to make a truncated archive). */
  truncateData?: number;
  /** The control file's text as given, instead of one made from `control` (e.g. two paragraphs). */
  controlText?: string;
  /** Extra control.tar members, e.g. `copyright` is not one (it lives in data), but `conffiles` is. */
  extraControl?: Record<string, string>;
}

/** Packs entries into an uncompressed tar. */
export async function makeTar(entries: DebEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? (e.content !== undefined ? 'file' : 'directory');
    const body = e.content === undefined ? undefined : Buffer.from(e.content);
    const header = {
      name: e.path,
      type,
      ...(e.linkname === undefined ? {} : { linkname: e.linkname }),
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      uname: 'root',
      gname: 'root',
      mtime: new Date((e.mtime ?? 1_700_000_000) * 1000),
      size: body?.length ?? 0,
    };
    if (body === undefined) pack.entry(header);
    else pack.entry(header, body);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Compresses with the named tool (xz/zstd via their CLIs, gzip via zlib). */
export function compress(data: Buffer, kind: 'xz' | 'gz' | 'zst' | 'none'): Buffer {
  if (kind === 'none') return data;
  if (kind === 'gz') return gzipSync(data);
  const tool = kind === 'xz' ? 'xz' : 'zstd';
  const res = spawnSync(tool, ['-c', '-q'], { input: data, maxBuffer: 1 << 30 });
  if (res.status !== 0) throw new Error(`${tool} failed: ${res.stderr}`);
  return res.stdout;
}

/** Writes an ar archive (the .deb container) of the given members. */
export function makeAr(members: { name: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n')];
  for (const m of members) {
    const header =
      m.name.padEnd(16) + '0'.padEnd(12) + '0'.padEnd(6) + '0'.padEnd(6) + '100644'.padEnd(8) + String(m.data.length).padEnd(10) + '`\n';
    parts.push(Buffer.from(header, 'ascii'), m.data);
    if (m.data.length % 2 === 1) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** Builds a real .deb (debian-binary, control.tar.xz, data.tar.<compression>) in memory. */
export async function makeDeb(spec: DebSpec): Promise<Buffer> {
  const files = spec.files ?? [];
  const md5sums = files
    .filter((f) => (f.type ?? (f.content !== undefined ? 'file' : 'directory')) === 'file')
    .map(
      (f) =>
        `${createHash('md5')
          .update(Buffer.from(f.content ?? ''))
          .digest('hex')}  ${f.path.replace(/^\.\//, '')}\n`,
    )
    .join('');
  const control =
    spec.controlText ??
    Object.entries(spec.control)
      .map(([k, v]) => `${k}: ${v}\n`)
      .join('');
  const controlEntries: DebEntry[] = [
    { path: './', type: 'directory' },
    { path: './control', content: control },
    { path: './md5sums', content: md5sums },
    ...Object.entries(spec.extraControl ?? {}).map(([name, content]) => ({ path: `./${name}`, content })),
  ];
  const kind = spec.compression ?? 'xz';
  let data = compress(await makeTar(files), kind);
  if (spec.truncateData !== undefined) data = data.subarray(0, spec.truncateData);
  return makeAr([
    { name: 'debian-binary', data: Buffer.from('2.0\n') },
    { name: 'control.tar.xz', data: compress(await makeTar(controlEntries), 'xz') },
    { name: kind === 'none' ? 'data.tar' : `data.tar.${kind}`, data },
  ]);
}
