import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { isAlbaError } from '../../src/errors.js';
import { BlobStore } from '../../src/oci/blob-store.js';
import { ARCHIVE_LIMITS, readDockerArchives } from '../../src/source/docker-archives.js';
import { peakRssEnv, peakRssMiB } from '../helpers/peak-rss.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { explainRun, runAlba } from '../helpers/run-alba.js';
import { requireTool } from '../helpers/tools.js';

// Docker archives (`alba container push DIR` of `docker save` tars) made hostile, inline: many
// large entries that are not the image, a truncated .tar.gz, entries over the caps. alba must keep
// its memory flat, and answer with ARCHIVE_INVALID naming the file, never crash.

const MiB = 1024 * 1024;
/** The peak RSS the CLI may reach while loading the hostile archive (it took 1.7 GB when every small entry was read into memory). */
const PEAK_RSS_BOUND_MIB = 200;

const work = await mkdtemp(join(tmpdir(), 'alba-archive-hostile-'));
after(() => rm(work, { recursive: true, force: true }));

/** A ustar header (names up to 100 bytes). */
function ustar(name: string, size: number, type: '0' | '2' = '0', linkname = ''): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0);
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  b.write('00000000000\0', 136);
  b.write(' '.repeat(8), 148);
  b.write(type, 156);
  b.write(linkname, 157);
  b.write('ustar\u000000', 257);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return b;
}

const padding = (size: number): Buffer => Buffer.alloc((512 - (size % 512)) % 512);
/** 4 MiB of zeros, gzipped once: an archive is written as gzip members end to end (gunzip reads them as one stream). */
const ZEROS = 4 * MiB;
const zerosGz = gzipSync(Buffer.alloc(ZEROS), { level: 9 });

/** A .tar.gz written as gzip members: cheap to make however much it unpacks to. */
class GzTar {
  readonly parts: Buffer[] = [];
  file(name: string, content: Buffer): this {
    this.parts.push(gzipSync(Buffer.concat([ustar(name, content.length), content, padding(content.length)])));
    return this;
  }
  /** An entry of `count` × 4 MiB of zeros. */
  zeros(name: string, count: number): this {
    this.parts.push(gzipSync(ustar(name, count * ZEROS)));
    for (let i = 0; i < count; i++) this.parts.push(zerosGz);
    return this;
  }
  /** An entry holding a tar (a layer) of one file of `count` × 4 MiB of zeros; returns that tar's sha256 (its diff_id). */
  zeroLayer(name: string, count: number): string {
    const head = ustar('big', count * ZEROS);
    const end = Buffer.alloc(1024);
    const hash = createHash('sha256').update(head);
    const zeros = Buffer.alloc(ZEROS);
    for (let i = 0; i < count; i++) hash.update(zeros);
    hash.update(end);
    this.parts.push(gzipSync(ustar(name, 512 + count * ZEROS + 1024)), gzipSync(head));
    for (let i = 0; i < count; i++) this.parts.push(zerosGz);
    this.parts.push(gzipSync(end));
    return `sha256:${hash.digest('hex')}`;
  }
  done(): Buffer {
    return Buffer.concat([...this.parts, gzipSync(Buffer.alloc(1024))]);
  }
}

/** A small valid image's config and manifest.json for one layer of the given diff_id. */
function image(gz: GzTar, diffId: string, layer = 'layer.tar'): GzTar {
  gz.file(
    'config.json',
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [diffId] } })),
  );
  return gz.file('manifest.json', Buffer.from(JSON.stringify([{ Config: 'config.json', RepoTags: ['hostile:1'], Layers: [layer] }])));
}

/** The hostile archive: 400 entries of 4 MiB of zeros (1.6 GB unpacked, under 2 MB gzipped), then a 256 MiB layer and a valid image. */
function hostileArchive(): Buffer {
  const gz = new GzTar();
  for (let i = 0; i < 400; i++) gz.zeros(`junk/${i}.json`, 1);
  const diffId = gz.zeroLayer('layer.tar', 64);
  return image(gz, diffId).done();
}

async function archiveDir(name: string, archive: Buffer, file = 'linux.amd64.tar.gz'): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, file), archive);
  return dir;
}

/** Loads a directory of archives in-process (the library API the CLI uses). */
function load(dir: string): ReturnType<typeof readDockerArchives> {
  return readDockerArchives(dir, { store: new BlobStore(join(work, 'store')) });
}

function invalidNaming(file: string, detail: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isAlbaError(err, 'ARCHIVE_INVALID'), `expected ARCHIVE_INVALID, got ${String(err)}`);
    assert.ok(err.message.includes(file), err.message);
    assert.match(err.message, detail);
    return true;
  };
}

let hostile: Buffer;
before(() => {
  hostile = hostileArchive();
});

describe('a docker archive of many large entries', () => {
  let registry: RegistryServer | undefined;
  after(() => registry?.close());

  test(`400 × 4 MiB entries beside a 256 MiB layer: pushed, with a peak RSS under ${PEAK_RSS_BOUND_MIB} MiB (the CLI alone)`, async (t) => {
    if (!requireTool('docker-registry', t)) return;
    assert.ok(hostile.length < 4 * MiB, `the archive is ${hostile.length} bytes`);
    registry = await startRegistry();
    const dir = await archiveDir('hostile', hostile);
    const res = await runAlba(
      ['container', 'push', '--cache', join(work, 'cache'), '-t', 'hostile/app:1', dir, `docker://${registry.host}`],
      { env: peakRssEnv() },
    );
    assert.equal(res.status, 0, explainRun(res));
    const peak = peakRssMiB(res.stderr);
    assert.ok(peak !== undefined, `no peak RSS reported\n${explainRun(res)}`);
    t.diagnostic(`peak RSS ${peak.toFixed(0)} MiB`);
    assert.ok(peak < PEAK_RSS_BOUND_MIB, `peak RSS ${peak.toFixed(0)} MiB`);
    const manifest = (await (
      await fetch(`${registry.url}/v2/hostile/app/manifests/1`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } })
    ).json()) as { manifests: { digest: string }[] };
    const one = (await (
      await fetch(`${registry.url}/v2/hostile/app/manifests/${manifest.manifests[0]?.digest}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      })
    ).json()) as { layers: unknown[] };
    assert.equal(one.layers.length, 1);
  });
});

describe('a truncated or corrupt archive is ARCHIVE_INVALID naming the file: exit 1, no stack trace, no unhandled rejection', () => {
  const cases: [string, () => Buffer, string, RegExp][] = [
    ['a .tar.gz cut inside an entry', () => hostile.subarray(0, hostile.length >> 2), 'linux.amd64.tar.gz', /not a readable tar\.gz/],
    [
      'a .tar.gz cut inside the layer',
      () => hostile.subarray(0, hostile.length - 40_000),
      'linux.amd64.tar.gz',
      /not a readable tar\.gz|layer layer\.tar cannot be read/,
    ],
    ['a .tar.gz cut in its gzip header', () => hostile.subarray(0, 6), 'linux.amd64.tar.gz', /not a readable tar\.gz/],
    [
      'a .tar.gz whose bytes are damaged',
      () => Buffer.concat([hostile.subarray(0, 100), Buffer.alloc(200, 0x55), hostile.subarray(300)]),
      'linux.amd64.tar.gz',
      /not a readable tar\.gz/,
    ],
    [
      'a plain .tar cut inside an entry',
      () => Buffer.concat([ustar('manifest.json', 2000), Buffer.alloc(700)]),
      'linux.amd64.tar',
      /not a readable tar /,
    ],
  ];
  for (const [name, make, file, detail] of cases) {
    test(name, async () => {
      const dir = await archiveDir(`cut-${name.replace(/\W+/g, '-')}`, make(), file);
      const res = await runAlba(['container', 'push', '--cache', join(work, 'cache'), '-t', 'cut/app:1', dir, 'docker://127.0.0.1:9']);
      assert.equal(res.status, 1, explainRun(res));
      assert.match(res.stderr, /alba: error\[ARCHIVE_INVALID\]: /, explainRun(res));
      assert.ok(res.stderr.includes(join(dir, file)), explainRun(res));
      assert.match(res.stderr, detail, explainRun(res));
      assert.doesNotMatch(res.stderr, /internal error|\n\s+at |Unhandled|unhandled/, explainRun(res));
    });
  }
});

describe('caps: what alba reads into memory is bounded, and so is every count', () => {
  test(`more than ${ARCHIVE_LIMITS.entries} entries`, async () => {
    const entry = ustar('e', 0);
    const many = Buffer.alloc((ARCHIVE_LIMITS.entries + 1) * 512);
    for (let i = 0; i <= ARCHIVE_LIMITS.entries; i++) entry.copy(many, i * 512);
    const dir = await archiveDir('many', gzipSync(Buffer.concat([many, Buffer.alloc(1024)])));
    await assert.rejects(load(dir), invalidNaming('linux.amd64.tar.gz', new RegExp(`more than ${ARCHIVE_LIMITS.entries} entries`)));
  });

  test('a manifest.json over 4 MiB is refused on its declared size', async () => {
    const gz = new GzTar().zeros('manifest.json', 2);
    await assert.rejects(
      load(await archiveDir('big-manifest', gz.done())),
      invalidNaming('linux.amd64.tar.gz', /manifest\.json is 8388608 bytes; alba reads at most 4194304/),
    );
  });

  test('a config over 4 MiB is refused on its declared size', async () => {
    const gz = new GzTar()
      .zeros('config.json', 2)
      .file('manifest.json', Buffer.from(JSON.stringify([{ Config: 'config.json', Layers: [] }])));
    await assert.rejects(
      load(await archiveDir('big-config', gz.done())),
      invalidNaming('linux.amd64.tar.gz', /config config\.json is 8388608 bytes/),
    );
  });

  test(`more than ${ARCHIVE_LIMITS.layers} layers`, async () => {
    const layers = Array.from({ length: ARCHIVE_LIMITS.layers + 1 }, (_, i) => `l${i}.tar`);
    const gz = new GzTar().file('manifest.json', Buffer.from(JSON.stringify([{ Config: 'config.json', Layers: layers }])));
    await assert.rejects(
      load(await archiveDir('many-layers', gz.done())),
      invalidNaming('linux.amd64.tar.gz', new RegExp(`${ARCHIVE_LIMITS.layers + 1} layers; alba takes at most ${ARCHIVE_LIMITS.layers}`)),
    );
  });

  test('a manifest.json of the wrong shape', async () => {
    const gz = new GzTar().file('manifest.json', Buffer.from(JSON.stringify([{ Config: 'config.json', Layers: [1] }])));
    await assert.rejects(
      load(await archiveDir('bad-shape', gz.done())),
      invalidNaming('linux.amd64.tar.gz', /Layers of manifest\.json are not a list of paths/),
    );
  });

  test(`an entry name over ${ARCHIVE_LIMITS.nameBytes} bytes`, async () => {
    const pack = tar.pack();
    pack.entry({ name: `${'d/'.repeat(2100)}x`, size: 1 }, 'x');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    await assert.rejects(
      load(await archiveDir('long-name', Buffer.concat(chunks), 'linux.amd64.tar')),
      invalidNaming('linux.amd64.tar', new RegExp(`over ${ARCHIVE_LIMITS.nameBytes} bytes`)),
    );
  });

  test('links naming more than 4 MiB of paths', async () => {
    const parts: Buffer[] = [];
    for (let i = 0; i < (4 * MiB) / 100 + 1000; i++) parts.push(ustar(`l${i}`, 0, '2', 'x'.repeat(99)));
    const dir = await archiveDir('many-links', gzipSync(Buffer.concat([...parts, Buffer.alloc(1024)])));
    await assert.rejects(load(dir), invalidNaming('linux.amd64.tar.gz', /links name more than 4194304 bytes/));
  });

  test('a layer that is a corrupt gzip is ARCHIVE_INVALID naming the layer', async () => {
    const layer = gzipSync(randomBytes(4096));
    layer.fill(0x55, 20, 40);
    const gz = new GzTar().file('layer.tar', layer);
    const dir = await archiveDir('bad-layer', image(gz, 'sha256:0').done());
    await assert.rejects(load(dir), invalidNaming('linux.amd64.tar.gz', /layer layer\.tar cannot be read/));
  });
});
