import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable, Transform, pipeline as pipelineCb } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { AlbaError, isAlbaError } from '../errors.js';
import { parseDeb822 } from './deb822.js';
import { decompressor, type Compression } from './decompress.js';

/** One member of an ar archive: its name and where its bytes are in the file. */
export interface ArMember {
  name: string;
  /** Byte offset of the member's data in the file. */
  offset: number;
  size: number;
}

/** The control files of a package. */
export interface DebControl {
  /** Text of the `control` file. */
  control: string;
  /** Text of `md5sums`, when the package has one. */
  md5sums?: string;
  /** Text of the `postinst` maintainer script, when the package has one (alba never runs it; see layer/maintainer-scripts.ts). */
  postinst?: string;
}

/** The uncompressed data.tar of a package, as a stream. */
export interface DataTar {
  stream: Readable;
  /** How the data.tar member was compressed. */
  compression: Compression;
}

const AR_MAGIC = '!<arch>\n';
/** data.tar members are read in chunks of this size (createReadStream's default is 64 KiB). */
const DATA_READ_BYTES = 512 * 1024;
const HEADER_SIZE = 60;
const MEMBER_COMPRESSION: Record<string, Compression> = { '': 'none', '.xz': 'xz', '.gz': 'gz', '.zst': 'zst' };
const INVALID_HINT = 'the .deb is corrupt or not a Debian package; delete it from the cache and fetch it again';

/**
 * Reads the members of an ar archive (the .deb container) one header at a time, without
 * reading member data: header = name (16 bytes), …, size (10 decimal bytes at offset 48),
 * "`\n"; data padded to an even length. `what` names the package in errors.
 */
export async function* arMembers(debPath: string, what: string = basename(debPath)): AsyncGenerator<ArMember> {
  const fh = await open(debPath, 'r').catch((err: unknown) => {
    throw new AlbaError('FILE_MISSING', `cannot open ${what}: ${(err as Error).message}`, { cause: err });
  });
  try {
    const fileSize = (await fh.stat()).size;
    const magic = Buffer.alloc(AR_MAGIC.length);
    await fh.read(magic, 0, magic.length, 0);
    if (magic.toString('latin1') !== AR_MAGIC) throw invalid(what, 'it does not start with the ar magic "!<arch>"');
    let pos = AR_MAGIC.length;
    const header = Buffer.alloc(HEADER_SIZE);
    while (pos < fileSize) {
      const { bytesRead } = await fh.read(header, 0, HEADER_SIZE, pos);
      if (bytesRead < HEADER_SIZE) throw invalid(what, `truncated ar header at byte ${pos}`);
      if (header[58] !== 0x60 || header[59] !== 0x0a) throw invalid(what, `bad ar header at byte ${pos}`);
      const name = header.toString('latin1', 0, 16).trimEnd().replace(/\/$/, '');
      const sizeText = header.toString('latin1', 48, 58).trim();
      if (!/^\d+$/.test(sizeText)) throw invalid(what, `bad size ${JSON.stringify(sizeText)} for ar member ${name}`);
      const size = Number(sizeText);
      const offset = pos + HEADER_SIZE;
      if (offset + size > fileSize)
        throw invalid(what, `ar member ${name} is truncated (${size} bytes declared, ${fileSize - offset} present)`);
      yield { name, offset, size };
      pos = offset + size + (size % 2);
    }
  } finally {
    await fh.close();
  }
}

/** The most a control archive, or one of the files alba reads from it, may hold (md5sums of the largest Debian packages are a few MB). */
const MAX_CONTROL_BYTES = 64 * 1024 * 1024;

/** Reads `control` and `md5sums` from the package's control.tar.{xz,gz,zst} (small, so buffered). */
export async function readControl(debPath: string, what: string = basename(debPath)): Promise<DebControl> {
  const member = await findMember(debPath, 'control.tar', what);
  if (member.size > MAX_CONTROL_BYTES)
    throw invalid(what, `its ${member.name} is ${member.size} bytes, more than the ${MAX_CONTROL_BYTES} a control archive can be`);
  const fh = await open(debPath, 'r');
  const data = Buffer.alloc(member.size);
  try {
    await fh.read(data, 0, member.size, member.offset);
  } finally {
    await fh.close();
  }
  const files = new Map<string, string>();
  const extract = tar.extract();
  const collecting = (async () => {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/^\.\//, '');
      if (name !== 'control' && name !== 'md5sums' && name !== 'postinst') {
        entry.resume(); // read past, never kept (a maintainer script, or a bomb)
        continue;
      }
      if (entry.header.size !== undefined && entry.header.size > MAX_CONTROL_BYTES)
        throw invalid(what, `its ${name} is ${entry.header.size} bytes, more than the ${MAX_CONTROL_BYTES} alba reads`);
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      files.set(name, Buffer.concat(chunks).toString('utf8'));
    }
  })().catch((err: unknown) => {
    extract.destroy(); // ends the pipeline too: nothing left reading behind the error
    throw err;
  });
  await Promise.all([
    pipeline(Readable.from([data]), decompressor(member.compression, `${what} (${member.name})`, { inputBytes: member.size }), extract),
    collecting,
  ]).catch((err: unknown) => {
    throw isAlbaError(err) ? err : invalid(what, `unreadable ${member.name}: ${(err as Error).message}`, err);
  });
  const control = files.get('control');
  if (control === undefined) throw invalid(what, `${member.name} has no control file`);
  const paragraphs = parseDeb822(control).length;
  if (paragraphs !== 1)
    throw invalid(
      what,
      `its control file holds ${paragraphs} paragraphs, not one (a second one would show scanners a package that is not there)`,
    );
  const md5sums = files.get('md5sums');
  const postinst = files.get('postinst');
  return { control, ...(md5sums === undefined ? {} : { md5sums }), ...(postinst === undefined ? {} : { postinst }) };
}

/** Opens the package's data.tar, decompressed; errors in the stream are AlbaErrors naming `what`. */
export async function openDataTar(debPath: string, what: string = basename(debPath)): Promise<DataTar> {
  const member = await findMember(debPath, 'data.tar', what);
  if (member.size === 0) throw invalid(what, `its ${member.name} member is empty (0 bytes), as dpkg-deb would say`);
  // large reads: each is a round trip through libuv's thread pool, which the layer's gzip keeps busy
  const raw: Readable = createReadStream(debPath, {
    start: member.offset,
    end: member.offset + member.size - 1,
    highWaterMark: DATA_READ_BYTES,
  });
  const stream = pipelineCb(
    raw,
    decompressor(member.compression, `${what} (${member.name})`, { inputBytes: member.size }),
    notEmpty(what, member.name),
    () => undefined,
  );
  return { stream, compression: member.compression };
}

/**
 * Passes the decompressed data.tar on, and fails at its end when it had no bytes at all: dpkg-deb
 * refuses such a package ("tar: This does not look like a tar archive"), and so does alba (a tar of
 * only its end blocks, 1024 zero bytes, is a package without files, accepted by both).
 */
function notEmpty(what: string, member: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      done(seen === 0 ? invalid(what, `its ${member} member decompresses to 0 bytes, not a tar (dpkg-deb refuses it too)`) : null);
    },
  });
}

async function findMember(debPath: string, prefix: string, what: string): Promise<ArMember & { compression: Compression }> {
  for await (const member of arMembers(debPath, what)) {
    if (!member.name.startsWith(prefix)) continue;
    const compression = MEMBER_COMPRESSION[member.name.slice(prefix.length)];
    if (compression === undefined)
      throw invalid(what, `unsupported member ${member.name} (alba reads ${prefix}, ${prefix}.xz, .gz or .zst)`);
    return { ...member, compression };
  }
  throw invalid(what, `it has no ${prefix}.* member`);
}

function invalid(what: string, detail: string, cause?: unknown): AlbaError {
  return new AlbaError('DEB_INVALID', `${what} is not a valid .deb: ${detail}`, { hint: INVALID_HINT, cause });
}
