import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { publish } from '../../src/sink/publish.js';
import { openStaticRegistrySink } from '../../src/sink/s3/static-registry.js';
import { parseS3Target } from '../../src/sink/s3/s3-target.js';
import { pageShows } from '../../src/site/page-shows.js';
import { readLayoutGraph } from '../../src/source/layout-source.js';
import { renderImagePage, renderStaticPage } from '../../src/site/render.js';
import type { RgwServer } from '../helpers/ceph-rgw.js';
import { startFaultProxy, type SeenRequest } from '../helpers/fault-proxy.js';
import { buildFixtureLayout, type FixtureLayout } from '../helpers/fixture-layout.js';
import { rgwTestsEnabled, s3Url as s3UrlOf, startRgwBucket } from '../helpers/rgw-client.js';
import { type AlbaRun, explainRun, runAlba } from '../helpers/run-alba.js';

// A push to S3 that moves nothing (docs/s3.md, "Download pages"): it reads its own page once and
// leaves the pages alone when that page shows its tag as pushed, else refreshes them as any push
// does. Against Ceph RGW (started here, ~13 s) through the recording proxy, counting requests.

const BUCKET = 'noop';
const enabled = rgwTestsEnabled();
const work = await mkdtemp(join(tmpdir(), 'alba-pages-noop-'));
let fixture: FixtureLayout;
let rgw: RgwServer;
let s3: S3Client;
let env: Record<string, string>;

before(async () => {
  if (!enabled) return;
  fixture = await buildFixtureLayout(work, 'fixture');
  ({ rgw, env, s3 } = await startRgwBucket(work, BUCKET));
  Object.assign(process.env, env); // for the pushes made in this process
});
after(async () => {
  await rgw?.close();
  await fixture?.close();
  await rm(work, { recursive: true, force: true });
});

const alba = (args: string[]): Promise<AlbaRun> => runAlba(args, { env: { ...env, DOCKER_CONFIG: join(work, 'no-docker') } });

/** The requests of one `alba ARGS… TARGET` through a fresh recording proxy, as `METHOD path?query`. */
async function recorded(args: string[]): Promise<string[]> {
  const proxy = await startFaultProxy(rgw.url);
  const res = await alba([...args, s3UrlOf(proxy.url, BUCKET)]).finally(() => proxy.close());
  assert.equal(res.status, 0, explainRun(res));
  return proxy.requests.map((r: SeenRequest) => `${r.method} ${decodeURIComponent(r.path)}`);
}

async function text(key: string): Promise<string | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return await res.Body!.transformToString();
  } catch {
    return undefined;
  }
}

async function lastModified(key: string): Promise<number | undefined> {
  return (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).LastModified?.getTime();
}

const putPage = (key: string, body: string): Promise<unknown> =>
  s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'text/html; charset=utf-8' }));

/** The requests of `with` that `without` lacks, and those `without` has more (as multisets). */
function difference(withPages: string[], without: string[]): { extra: string[]; missing: string[] } {
  const left = [...without];
  const extra: string[] = [];
  for (const r of withPages) {
    const i = left.indexOf(r);
    if (i >= 0) left.splice(i, 1);
    else extra.push(r);
  }
  return { extra, missing: left };
}

const writes = (requests: string[]): string[] => requests.filter((r) => !/^(GET|HEAD) /.test(r));

describe(
  'a push that moves nothing and the download pages (Ceph RGW through a recording proxy)',
  { skip: enabled ? false : 'Ceph is missing, or not root' },
  () => {
    const IMAGE_PAGE = 'v2/app/noop/index.html';
    const push = ['container', 'push', '-t', 'app/noop:1.0', '-t', 'app/noop:latest'];
    let digest = '';

    test('container: a no-op re-push makes the requests of a --no-pages push and one GET of its own page, nothing else', async () => {
      const first = await alba([...push, fixture.layout, s3UrlOf(rgw.url, BUCKET)]);
      assert.equal(first.status, 0, explainRun(first));
      digest = /@(sha256:[0-9a-f]{64})\s*$/.exec(first.stdout)?.[1] ?? '';
      assert.notEqual(digest, '', first.stdout);
      const page = (await text(IMAGE_PAGE)) ?? '';
      for (const tag of ['1.0', 'latest'])
        assert.ok(pageShows(page, { kind: 'image', name: 'app/noop', tag, digest }), `the first push wrote the page with ${tag}`);

      const bare = await recorded([...push, '--no-pages', fixture.layout]);
      const noop = await recorded([...push, fixture.layout]);
      assert.deepEqual(writes(noop), [], 'a no-op re-push writes nothing');
      assert.deepEqual(difference(noop, bare), { extra: [`GET /${BUCKET}/${IMAGE_PAGE}?x-id=GetObject`], missing: [] });
      assert.ok(
        !noop.some((r) => r.includes('_alba/') || r.split(' ')[1]!.startsWith(`/${BUCKET}/index.html`)),
        'neither the root page nor its files are looked at',
      );
    });

    for (const [what, damage] of [
      ['deleted', () => s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: IMAGE_PAGE }))],
      [
        'written without the tag (a killed push)',
        () => putPage(IMAGE_PAGE, renderImagePage({ name: 'app/noop', root: '../../../', tags: [] })),
      ],
      [
        'showing the tag with another digest',
        async () => putPage(IMAGE_PAGE, ((await text(IMAGE_PAGE)) ?? '').replaceAll(digest, `sha256:${'0'.repeat(64)}`)),
      ],
    ] as const) {
      test(`container: a page ${what} is fixed by a no-op re-push of the tag`, async () => {
        await damage();
        const noop = await recorded([...push, fixture.layout]);
        assert.deepEqual(
          writes(noop).map((r) => r.split('?')[0]),
          [`PUT /${BUCKET}/${IMAGE_PAGE}`],
          'the push moved nothing but its page, which it rewrote once',
        );
        const page = (await text(IMAGE_PAGE)) ?? '';
        for (const tag of ['1.0', 'latest'])
          assert.ok(pageShows(page, { kind: 'image', name: 'app/noop', tag, digest }), `the page shows ${tag} again`);
      });
    }

    test('container: a re-push that only adds SBOMs to an image already tagged moved something: the page gets their links', async () => {
      const { graph } = await readLayoutGraph(fixture.layout);
      assert.ok(graph.referrers.length > 0, 'the fixture has SBOM referrers');
      const target = parseS3Target(s3UrlOf(rgw.url, BUCKET));
      const page = 'v2/app/sboms/index.html';
      await publish({ ...graph, referrers: [] }, await openStaticRegistrySink(target, 'app/sboms'), ['1.0']);
      assert.doesNotMatch((await text(page)) ?? '', />SPDX<\/a>/, 'pushed without its SBOMs, the page links none');
      await publish(graph, await openStaticRegistrySink(target, 'app/sboms'), ['1.0']);
      assert.match((await text(page)) ?? '', />SPDX<\/a>/, 'the tag, its digest and tags/list are unchanged, and the page links the SBOMs');
    });

    const STATIC_PAGE = 'df-dist-v1/noop-bin/index.html';
    let bins = '';

    test('static: a no-op re-push leaves the tag document (and its push time) alone and reads its own page once', async () => {
      bins = join(work, 'bins');
      await mkdir(join(bins, 'linux/amd64'), { recursive: true });
      await writeFile(join(bins, 'linux/amd64/tool'), 'tool for amd64\n');
      const first = await alba(['static', 'push', '-t', 'noop-bin:1.0', bins, s3UrlOf(rgw.url, BUCKET)]);
      assert.equal(first.status, 0, explainRun(first));
      const page = (await text(STATIC_PAGE)) ?? '';
      assert.match(page, /id="1\.0"/);
      const time = await lastModified('df-dist-v1/noop-bin/1.0');

      const bare = await recorded(['static', 'push', '--no-pages', '-t', 'noop-bin:1.0', bins]);
      const noop = await recorded(['static', 'push', '-t', 'noop-bin:1.0', bins]);
      assert.deepEqual(
        writes(noop).map((r) => r.split('?')[0]),
        [`PUT /${BUCKET}/df-dist-v1/noop-bin/1.0.alba-lock`, `DELETE /${BUCKET}/df-dist-v1/noop-bin/1.0.alba-lock`],
        'only the tag lease is written',
      );
      assert.equal(await lastModified('df-dist-v1/noop-bin/1.0'), time, 'the tag document is not rewritten');
      assert.deepEqual(difference(noop, bare), { extra: [`GET /${BUCKET}/${STATIC_PAGE}?x-id=GetObject`], missing: [] });
      assert.equal(await text(STATIC_PAGE), page, 'the page is unchanged');
    });

    test('static: a page written without the tag (a killed push) is fixed by a no-op re-push of the tag', async () => {
      const page = (await text(STATIC_PAGE)) ?? '';
      await putPage(STATIC_PAGE, renderStaticPage({ name: 'noop-bin', root: '../../', tags: [] }));
      const noop = await recorded(['static', 'push', '-t', 'noop-bin:1.0', bins]);
      assert.ok(
        writes(noop).some((r) => r.startsWith(`PUT /${BUCKET}/${STATIC_PAGE}`)),
        writes(noop).join('\n'),
      );
      assert.equal(await text(STATIC_PAGE), page, 'the page is as the first push wrote it');
    });
  },
);
