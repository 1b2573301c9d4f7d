import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { RgwServer } from '../helpers/ceph-rgw.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { buildFixtureLayout, type FixtureLayout } from '../helpers/fixture-layout.js';
import { startIfMatchFront, type IfMatchFront } from '../helpers/if-match-front.js';
import { startRegistry, type RegistryServer } from '../helpers/registry-server.js';
import { listKeys, rgwTestsEnabled, startRgwBucket, s3Url as s3UrlOf } from '../helpers/rgw-client.js';
import { type AlbaRun, explainRun, runAlba } from '../helpers/run-alba.js';
import { requireTool } from '../helpers/tools.js';

// The order in which alba writes to S3, against Ceph RGW (started here, ~13 s) through a recording
// proxy: every write (PUT, POST, DELETE) is held at the proxy while the bucket is listed directly,
// so each write is known with the objects that were complete when it was sent. A parent (a
// manifest, a tag, a document) must find everything it names already there. Also: a no-op re-push
// writes nothing, and the conditional-write (If-Match) path of the tag-list documents, which RGW
// never takes (it refuses every If-Match), through a front that honours If-Match.

const BUCKET = 'order';
const enabled = rgwTestsEnabled();
const withRegistry = requireTool('docker-registry');

const work = await mkdtemp(join(tmpdir(), 'alba-publish-order-'));
let fixture: FixtureLayout;
let rgw: RgwServer;
let s3: S3Client;
let env: Record<string, string>;
let registry: RegistryServer;

before(async () => {
  if (!enabled && !withRegistry) return;
  fixture = await buildFixtureLayout(work, 'fixture');
  if (withRegistry) registry = await startRegistry();
  if (!enabled) return;
  ({ rgw, env, s3 } = await startRgwBucket(work, BUCKET));
});
after(async () => {
  await registry?.close();
  await rgw?.close();
  await fixture?.close();
  await rm(work, { recursive: true, force: true });
});

const s3Url = (endpoint: string): string => s3UrlOf(endpoint, BUCKET);
const alba = (args: string[]): Promise<AlbaRun> => runAlba(args, { env });

/** Every key under `prefix`, read from RGW directly. */
const keys = (prefix: string): Promise<string[]> => listKeys(s3, BUCKET, prefix);

async function object(key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/** One write seen at the proxy, with the keys that were in the bucket (under the prefix) when it arrived. */
interface Write {
  method: string;
  key: string;
  present: Set<string>;
  error?: string;
}

/** The object key of a path-style request path. */
const keyOf = (path: string): string => decodeURIComponent((path.split('?')[0] ?? '').slice(`/${BUCKET}/`.length));

/** Holds each write at the proxy until the bucket (under `prefix`) is listed, and records it with that listing. */
function recordWrites(proxy: FaultProxy, prefix: string): Write[] {
  const writes: Write[] = [];
  proxy.fault = (r) => {
    if (r.method === 'GET' || r.method === 'HEAD') return undefined;
    const write: Write = { method: r.method, key: keyOf(r.path), present: new Set() };
    writes.push(write);
    const listed = keys(prefix).then(
      (ks) => ks.forEach((k) => write.present.add(k)),
      (err: unknown) => void (write.error = String(err)),
    );
    return { hold: listed };
  };
  return writes;
}

/** The descriptors a manifest or index names. */
function named(bytes: Buffer): { mediaType: string; digest: string }[] {
  const json = JSON.parse(bytes.toString('utf8')) as {
    config?: { mediaType: string; digest: string };
    layers?: { mediaType: string; digest: string }[];
    manifests?: { mediaType: string; digest: string }[];
    subject?: { mediaType: string; digest: string };
  };
  return [json.config, ...(json.layers ?? []), ...(json.manifests ?? []), json.subject].filter((d) => d !== undefined);
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const last = (writes: Write[], is: (w: Write) => boolean): number => writes.reduce((found, w, i) => (is(w) ? i : found), -1);
const first = (writes: Write[], is: (w: Write) => boolean): number => writes.findIndex(is);
const listing = (writes: Write[]): string => writes.map((w) => `${w.method} ${w.key}`).join('\n');

describe('the order of S3 writes (Ceph RGW through a recording proxy)', { skip: enabled ? false : 'Ceph is missing, or not root' }, () => {
  test('container push: blobs, then manifests by digest (children first), referrers tags, the tags, tags/list last; each finds what it names in the bucket', async () => {
    const repo = 'v2/app/order/';
    const proxy = await startFaultProxy(rgw.url);
    const writes = recordWrites(proxy, repo);
    const res = await alba([
      'container',
      'push',
      '-t',
      'app/order:1.0',
      '-t',
      'app/order:latest',
      fixture.layout,
      s3Url(proxy.url),
    ]).finally(() => proxy.close());
    assert.equal(res.status, 0, explainRun(res));
    assert.deepEqual(
      writes.filter((w) => w.error !== undefined).map((w) => w.error),
      [],
    );
    const at = (w: Write, path: string): boolean => w.key === `${repo}${path}`;
    const kind = (w: Write): string => {
      const path = w.key.startsWith(repo) ? w.key.slice(repo.length) : '';
      if (path.startsWith('blobs/sha256:')) return 'blob';
      if (path.startsWith('manifests/sha256:')) return 'manifest';
      if (path.startsWith('manifests/sha256-')) return 'referrers';
      if (path === 'tags/list') return 'list';
      if (/^manifests\/[^/]+$/.test(path)) return 'tag';
      return 'other';
    };
    const of =
      (k: string) =>
      (w: Write): boolean =>
        kind(w) === k;
    for (const k of ['blob', 'manifest', 'referrers', 'tag', 'list'])
      assert.ok(writes.some(of(k)), `a ${k} was written:\n${listing(writes)}`);
    assert.ok(last(writes, of('blob')) < first(writes, of('manifest')), `every blob before the first manifest:\n${listing(writes)}`);
    assert.ok(last(writes, of('referrers')) < first(writes, of('tag')), `every referrers tag before the first tag:\n${listing(writes)}`);
    assert.ok(last(writes, of('tag')) < first(writes, of('list')), `every tag before tags/list:\n${listing(writes)}`);
    assert.deepEqual(
      writes
        .filter(of('tag'))
        .map((w) => w.key)
        .sort(),
      [`${repo}manifests/1.0`, `${repo}manifests/latest`],
    );

    // what each write names was complete in the bucket when it was sent
    const missing: string[] = [];
    const need = (w: Write, path: string): void =>
      void (w.present.has(`${repo}${path}`) || missing.push(`${w.key} was sent before ${path}`));
    const needNamed = (w: Write, bytes: Buffer): void => {
      for (const d of named(bytes))
        need(w, d.mediaType.includes('manifest') || d.mediaType.includes('index') ? `manifests/${d.digest}` : `blobs/${d.digest}`);
    };
    const referrersTags = writes.filter(of('referrers')).map((w) => w.key.slice(`${repo}manifests/`.length));
    for (const w of writes) {
      if (kind(w) === 'manifest' || kind(w) === 'referrers') {
        const bytes = await object(w.key);
        needNamed(w, bytes);
        if (kind(w) === 'referrers') {
          need(w, `manifests/${sha256(bytes)}`);
          need(w, `manifests/sha256:${w.key.slice(`${repo}manifests/sha256-`.length)}`);
        }
      } else if (kind(w) === 'tag') {
        const root = await object(w.key);
        need(w, `manifests/${sha256(root)}`);
        const subjects = [sha256(root)];
        for (const child of named(root)) {
          need(w, `manifests/${child.digest}`);
          needNamed(w, await object(`${repo}manifests/${child.digest}`));
          subjects.push(child.digest);
        }
        for (const s of subjects) if (referrersTags.includes(s.replace(':', '-'))) need(w, `manifests/${s.replace(':', '-')}`);
      } else if (kind(w) === 'list') {
        for (const tag of (JSON.parse((await object(w.key)).toString('utf8')) as { tags: string[] }).tags) need(w, `manifests/${tag}`);
      }
    }
    assert.deepEqual(missing, [], listing(writes));
    assert.equal(referrersTags.length, 3, 'the SBOMs of the index and of both platforms are linked');
    assert.ok(writes.some((w) => at(w, 'tags/list')));
  });

  test('a no-op re-push makes HEAD and GET requests only: no PUT, POST or DELETE', async () => {
    const proxy = await startFaultProxy(rgw.url);
    const res = await alba([
      'container',
      'push',
      '-t',
      'app/order:1.0',
      '-t',
      'app/order:latest',
      fixture.layout,
      s3Url(proxy.url),
    ]).finally(() => proxy.close());
    assert.equal(res.status, 0, explainRun(res));
    const methods = proxy.requests.map((r) => r.method);
    assert.ok(methods.filter((m) => m === 'HEAD').length >= 2, `the push asked the bucket what it holds:\n${methods.join(' ')}`);
    assert.deepEqual(
      proxy.requests.filter((r) => r.method !== 'HEAD' && r.method !== 'GET').map((r) => `${r.method} ${r.path}`),
      [],
    );
  });

  test('static push: every file before the tag document, the tag document before the name document; each complete when the next is sent', async () => {
    const dir = join(work, 'bins');
    for (const p of ['linux/amd64', 'linux/arm64']) {
      await mkdir(join(dir, p), { recursive: true });
      for (const file of ['tool', 'README']) await writeFile(join(dir, p, file), `${file} for ${p}\n`);
    }
    const proxy = await startFaultProxy(rgw.url);
    const writes = recordWrites(proxy, 'df-dist-v1/order-bin');
    const res = await alba(['static', 'push', '-t', 'order-bin:1.0', dir, s3Url(proxy.url)]).finally(() => proxy.close());
    assert.equal(res.status, 0, explainRun(res));
    assert.deepEqual(
      writes.filter((w) => w.error !== undefined).map((w) => w.error),
      [],
    );
    // which key is what, as alba says it (`<file> -> <key>`, `tag -> <key>`, `manifest -> <key>`)
    const said = [...res.stderr.matchAll(/^(.+) -> (\S+)$/gm)].map((m) => ({ what: m[1]!, key: m[2]! }));
    const tagKey = said.find((s) => s.what === 'tag')?.key;
    const nameKey = said.find((s) => s.what === 'manifest')?.key;
    const fileKeys = said.filter((s) => s.what !== 'tag' && s.what !== 'manifest').map((s) => s.key);
    assert.ok(tagKey !== undefined && nameKey !== undefined && fileKeys.length === 4, res.stderr);
    const puts = writes.filter((w) => w.method === 'PUT');
    const fileWrites = puts.filter((w) => fileKeys.includes(w.key));
    const tagWrites = puts.filter((w) => w.key === tagKey);
    const nameWrites = puts.filter((w) => w.key === nameKey);
    assert.deepEqual(fileWrites.map((w) => w.key).sort(), [...fileKeys].sort(), `each file written once:\n${listing(writes)}`);
    assert.equal(tagWrites.length, 1, listing(writes));
    assert.ok(nameWrites.length >= 1, listing(writes));
    assert.ok(
      last(writes, (w) => fileWrites.includes(w)) < first(writes, (w) => w.key === tagKey),
      `files before the tag document:\n${listing(writes)}`,
    );
    assert.ok(
      last(writes, (w) => w.key === tagKey) < first(writes, (w) => w.key === nameKey),
      `the tag document before the name document:\n${listing(writes)}`,
    );
    assert.deepEqual(
      fileKeys.filter((k) => !tagWrites[0]!.present.has(k)),
      [],
      'every file is complete when the tag document is sent',
    );
    for (const w of nameWrites) assert.ok(w.present.has(tagKey), 'the tag document is complete when the name document is sent');
  });

  /**
   * A `base` push straight to RGW (the document then exists), then two pushes of tags `a` and `b`
   * at once through an If-Match front (`conditions`) whose first two writes of the document wait
   * for each other, so both were read before either landed. Both must succeed.
   */
  const raceAtDocument = async (
    kind: 'container' | 'static',
    name: string,
    conditions: 'honour' | 'ignore',
  ): Promise<{ doc: string; front: IfMatchFront; arrived: number }> => {
    const doc = kind === 'container' ? `v2/${name}/tags/list` : `df-dist-v1/${name}`;
    const dir = join(work, `${conditions}-bins`);
    await mkdir(join(dir, 'linux/amd64'), { recursive: true });
    await writeFile(join(dir, 'linux/amd64/tool'), 'tool\n');
    const push = (tag: string, endpoint: string): Promise<AlbaRun> =>
      alba(
        kind === 'container'
          ? ['container', 'push', '-t', `${name}:${tag}`, fixture.layout, s3Url(endpoint)]
          : ['static', 'push', '-t', `${name}:${tag}`, dir, s3Url(endpoint)],
      );
    const base = await push('base', rgw.url);
    assert.equal(base.status, 0, explainRun(base));
    const front = await startIfMatchFront(rgw.url, s3, BUCKET, conditions);
    const meeting = meetAt(front, doc);
    const [a, b] = await Promise.all([push('a', front.url), push('b', front.url)]).finally(meeting.end);
    assert.equal(a.status, 0, explainRun(a));
    assert.equal(b.status, 0, explainRun(b));
    return { doc, front, arrived: meeting.arrived() };
  };

  /** Makes the first two conditional writes of `key` at `front` wait for each other (60 s at most); `end` closes the front. */
  const meetAt = (front: IfMatchFront, key: string): { arrived: () => number; end: () => Promise<void> } => {
    let arrived = 0;
    let meet: () => void = () => undefined;
    const met = new Promise<void>((resolve) => (meet = resolve));
    const giveUp = setTimeout(meet, 60_000);
    front.hold = (r) => (r.key === key && ++arrived <= 2 ? (arrived === 2 && meet(), met) : undefined);
    return {
      arrived: () => arrived,
      end: () => {
        clearTimeout(giveUp);
        return front.close();
      },
    };
  };

  for (const kind of ['container', 'static'] as const) {
    test(`${kind} push: on a server that honours If-Match, two pushes of different tags meet at the document, one is refused (412) and redoes its change; both tags listed, no lock`, async () => {
      const { doc, front, arrived } = await raceAtDocument(kind, kind === 'container' ? 'app/conditional' : 'conditional-bin', 'honour');
      const conditional = front.requests.filter((r) => r.key === doc && r.ifMatch !== undefined);
      assert.ok(
        arrived >= 2,
        `both pushes wrote the document with If-Match: ${JSON.stringify(front.requests.filter((r) => r.key === doc))}`,
      );
      assert.ok(
        conditional.some((r) => r.status === 412),
        `one was refused: ${JSON.stringify(conditional)}`,
      );
      assert.equal(conditional.filter((r) => r.status === 200).length, 2, `each push's change landed once: ${JSON.stringify(conditional)}`);
      assert.deepEqual(
        front.requests.filter((r) => r.key === `${doc}.alba-lock`),
        [],
        'the lock object is not used where If-Match is honoured',
      );
      assert.deepEqual((JSON.parse((await object(doc)).toString('utf8')) as { tags: string[] }).tags, ['a', 'b', 'base']);
    });

    test(`${kind} push: on a server that ignores conditional writes, two pushes of different tags meet at the document and both land; the one overwritten reads it back after its pause, finds its tag missing and writes again; both tags listed`, async () => {
      const { doc, front, arrived } = await raceAtDocument(
        kind,
        kind === 'container' ? 'app/unconditional' : 'unconditional-bin',
        'ignore',
      );
      const writes = front.requests.filter((r) => r.key === doc && r.method === 'PUT');
      assert.ok(arrived >= 2, `both pushes wrote the document: ${JSON.stringify(writes)}`);
      assert.ok(writes.length >= 3, `the push whose tag was dropped wrote the document again: ${JSON.stringify(writes)}`);
      assert.deepEqual((JSON.parse((await object(doc)).toString('utf8')) as { tags: string[] }).tags, ['a', 'b', 'base']);
    });
  }

  /** A copy of the fixture layout with one more referrer of its root, a note artifact (`note`), found by the layout's referrer scan. */
  const withNote = async (note: string): Promise<{ layout: string; root: string; note: string }> => {
    const layout = join(work, `note-${note}`);
    await cp(fixture.layout, layout, { recursive: true });
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
      manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[];
    };
    const { mediaType, digest, size } = index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === 'fixture')!;
    const empty = { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(Buffer.from('{}')), size: 2 };
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/vnd.example.note',
        config: empty,
        layers: [empty],
        subject: { mediaType, digest, size },
        annotations: { 'org.example.note': note },
      }),
    );
    await writeFile(join(layout, 'blobs/sha256', empty.digest.slice('sha256:'.length)), '{}');
    await writeFile(join(layout, 'blobs/sha256', sha256(manifest).slice('sha256:'.length)), manifest);
    return { layout, root: digest, note: sha256(manifest) };
  };

  /**
   * Two pushes of the same image, each attaching a referrer the other does not have, meet at the
   * root's referrers tag (which a `base` push created): through an If-Match front whose first two
   * conditional writes of the tag wait for each other, or straight at RGW (which refuses every
   * If-Match: the lock) with A's first write of the tag held at a proxy while B pushes whole. The
   * tag must end up listing the base's referrers and both notes: gc reaches referrers through it.
   */
  for (const server of ['honour', 'ignore', 'rgw'] as const) {
    test(`container push: two pushes attaching different referrers to one image at once (${server === 'rgw' ? 'RGW, A held while B pushes' : `a server that ${server}s conditions`}) keep each other's in the referrers tag`, async () => {
      const name = `refs/${server}`;
      const base = await alba(['container', 'push', '-t', `${name}:base`, fixture.layout, s3Url(rgw.url)]);
      assert.equal(base.status, 0, explainRun(base));
      const [a, b] = [await withNote(`${server}-a`), await withNote(`${server}-b`)];
      const tagKey = `v2/${name}/manifests/sha256-${a.root.slice('sha256:'.length)}`;
      const before = (JSON.parse((await object(tagKey)).toString('utf8')) as { manifests: { digest: string }[] }).manifests.map(
        (d) => d.digest,
      );
      assert.ok(before.length > 0, 'the base push linked the SBOMs of the root');
      const push = (from: string, tag: string, endpoint: string): Promise<AlbaRun> =>
        alba(['container', 'push', '-t', `${name}:${tag}`, from, s3Url(endpoint)]);
      let writes: { key: string; method: string }[];
      if (server === 'rgw') {
        const proxy = await startFaultProxy(rgw.url);
        let other: Promise<AlbaRun> | undefined;
        proxy.fault = (r) => {
          if (r.method !== 'PUT' || keyOf(r.path) !== tagKey || other !== undefined) return undefined;
          other = push(b.layout, 'b', rgw.url);
          return { hold: other }; // B cannot wait on A: A is held before it takes the lock
        };
        const ranA = await push(a.layout, 'a', proxy.url).finally(() => proxy.close());
        assert.equal(ranA.status, 0, explainRun(ranA));
        assert.ok(other !== undefined, 'A wrote the referrers tag');
        const ranB = await other;
        assert.equal(ranB.status, 0, explainRun(ranB));
        writes = proxy.requests.map((r) => ({ key: keyOf(r.path), method: r.method }));
        const lock = `v2/${name}/manifests/.sha256-${a.root.slice('sha256:'.length)}.alba-lock`;
        assert.ok(
          writes.some((w) => w.method === 'PUT' && w.key === lock),
          `A, refused by RGW, took the lock beside the tag: ${JSON.stringify(writes.filter((w) => w.method !== 'GET' && w.method !== 'HEAD'))}`,
        );
        assert.deepEqual(
          (await keys(`v2/${name}/manifests/`)).filter((k) => k.endsWith('.alba-lock')),
          [],
          'no lock is left',
        );
      } else {
        const front = await startIfMatchFront(rgw.url, s3, BUCKET, server);
        const meeting = meetAt(front, tagKey);
        const [ranA, ranB] = await Promise.all([push(a.layout, 'a', front.url), push(b.layout, 'b', front.url)]).finally(meeting.end);
        assert.equal(ranA.status, 0, explainRun(ranA));
        assert.equal(ranB.status, 0, explainRun(ranB));
        assert.ok(
          meeting.arrived() >= 2,
          `both pushes wrote the referrers tag: ${JSON.stringify(front.requests.filter((r) => r.key === tagKey))}`,
        );
        writes = front.requests;
        if (server === 'honour')
          assert.ok(
            front.requests.some((r) => r.key === tagKey && r.status === 412),
            'one write was refused',
          );
      }
      const after = (JSON.parse((await object(tagKey)).toString('utf8')) as { manifests: { digest: string }[] }).manifests.map(
        (d) => d.digest,
      );
      assert.deepEqual(after, [...new Set([...before, a.note, b.note])].sort(), 'the base referrers and both notes are listed');
      assert.ok(
        writes.filter((w) => w.key === tagKey && w.method === 'PUT').length >= 2,
        `the push that lost the race wrote the tag again: ${JSON.stringify(writes.filter((w) => w.key === tagKey))}`,
      );
    });
  }
});

describe(
  'the order of registry writes (distribution registry through a recording proxy)',
  { skip: withRegistry ? false : 'docker-registry is missing' },
  () => {
    const repo = 'order/app';
    const accept = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json';
    const ask = (path: string, method = 'HEAD'): Promise<Response> =>
      fetch(`${registry.url}/v2/${repo}/${path}`, { method, headers: { accept } });
    const layoutBlob = (digest: string): Promise<Buffer | undefined> =>
      readFile(join(fixture.layout, 'blobs', 'sha256', digest.slice('sha256:'.length))).catch(() => undefined);
    /** The referrers of `digest` the registry gives: by the referrers API, else by the fallback tag. */
    const referrersOf = async (digest: string): Promise<{ artifactType?: string; annotations?: Record<string, string> }[]> => {
      for (const res of [await ask(`referrers/${digest}`, 'GET'), await ask(`manifests/${digest.replace(':', '-')}`, 'GET')]) {
        if (res.status === 200)
          return ((await res.json()) as { manifests?: { artifactType?: string; annotations?: Record<string, string> }[] }).manifests ?? [];
      }
      return [];
    };

    test('container push: each manifest finds what it names already there; SBOMs and the push record are linked before a tag; only tag writes follow the first tag', async () => {
      const index = JSON.parse(await readFile(join(fixture.layout, 'index.json'), 'utf8')) as {
        manifests: { digest: string; annotations?: Record<string, string> }[];
      };
      const root = index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === 'fixture')!.digest;
      const children = named((await layoutBlob(root))!).map((d) => d.digest);
      const tags = ['1.0', 'latest'];
      const missing: string[] = [];
      const need = async (ref: string, path: string): Promise<void> =>
        void ((await ask(path)).status === 200 || missing.push(`${ref} was sent before ${path}`));
      /** What must be in the registry when `ref` is PUT (checked while the PUT waits at the proxy). */
      const check = async (ref: string): Promise<void> => {
        const bytes = ref.startsWith('sha256:') ? await layoutBlob(ref) : undefined;
        if (bytes !== undefined) {
          for (const d of named(bytes))
            await need(ref, `${d.mediaType.includes('manifest') || d.mediaType.includes('index') ? 'manifests' : 'blobs'}/${d.digest}`);
        } else if (ref.startsWith('sha256-')) {
          await need(ref, `manifests/${ref.replace('-', ':')}`);
        } else if (tags.includes(ref)) {
          for (const m of [root, ...children]) await need(ref, `manifests/${m}`);
          for (const child of children) for (const d of named((await layoutBlob(child))!)) await need(ref, `blobs/${d.digest}`);
          for (const subject of [root, ...children]) {
            if (!(await referrersOf(subject)).some((r) => r.artifactType === 'application/spdx+json'))
              missing.push(`${ref} was sent before the SBOM of ${subject} was linked`);
          }
          if (!(await referrersOf(root)).some((r) => r.annotations?.['dev.alba.push.tag'] === ref))
            missing.push(`${ref} was sent before its push record was linked`);
        }
      };
      const proxy = await startFaultProxy(registry.url);
      const writes: { method: string; ref?: string }[] = [];
      const errors: string[] = [];
      proxy.fault = (r) => {
        if (r.method === 'GET' || r.method === 'HEAD') return undefined;
        const m = new RegExp(`^/v2/${repo}/manifests/([^?]+)$`).exec(r.path);
        const ref = m === null ? undefined : decodeURIComponent(m[1]!);
        writes.push({ method: r.method, ...(ref === undefined ? {} : { ref }) });
        return r.method === 'PUT' && ref !== undefined
          ? { hold: check(ref).catch((err: unknown) => void errors.push(String(err))) }
          : undefined;
      };
      const res = await runAlba(
        [
          'container',
          'push',
          '--cache',
          join(work, 'registry-cache'),
          ...tags.flatMap((t) => ['-t', `${repo}:${t}`]),
          fixture.layout,
          `docker://${proxy.host}`,
        ],
        { env: { DOCKER_CONFIG: join(work, 'no-docker') } },
      ).finally(() => proxy.close());
      assert.equal(res.status, 0, explainRun(res));
      const seen = writes.map((w) => `${w.method} ${w.ref ?? ''}`).join('\n');
      assert.deepEqual(errors, []);
      assert.deepEqual(missing, [], seen);
      assert.deepEqual(
        writes.filter((w) => w.ref !== undefined && tags.includes(w.ref)).map((w) => w.ref),
        tags,
        seen,
      );
      assert.ok(tags.includes(writes.at(-1)?.ref ?? ''), `a tag is the last write:\n${seen}`);
      const firstTag = writes.findIndex((w) => w.ref !== undefined && tags.includes(w.ref));
      const image = new Set([root, ...children]);
      const late = writes.slice(firstTag).filter((w) => w.method !== 'PUT' || w.ref === undefined || image.has(w.ref));
      assert.deepEqual(late, [], `after the first tag, only tags, push records and referrers links are written:\n${seen}`);
    });
  },
);
