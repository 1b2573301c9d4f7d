import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketCorsCommand,
  PutBucketPolicyCommand,
  PutBucketWebsiteCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { runRemoval } from '../../src/lifecycle/removal.js';
import { publish } from '../../src/sink/publish.js';
import { IMMUTABLE, S3Store } from '../../src/sink/s3/s3-store.js';
import { updateTagList } from '../../src/sink/s3/json-document.js';
import { digestOf } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { parseS3Target, type S3Target } from '../../src/sink/s3/s3-target.js';
import { pushStatic, scanStaticDir } from '../../src/sink/s3/static-binaries.js';
import { openStaticRegistrySink } from '../../src/sink/s3/static-registry.js';
import { BucketImageStore } from '../../src/sink/s3/image-store.js';
import { StaticNameStore } from '../../src/sink/s3/static-store.js';
import { readLayoutGraph } from '../../src/source/layout-source.js';
import { startRgw, type RgwServer } from '../helpers/ceph-rgw.js';
import { holdUntil, isS3Delete, startFaultProxy, type SeenRequest } from '../helpers/fault-proxy.js';
import { buildFixtureLayout, type FixtureLayout } from '../helpers/fixture-layout.js';
import { rgwClient, rgwEnv, rgwTestsEnabled, s3Url } from '../helpers/rgw-client.js';
import { explainRun, runAlba } from '../helpers/run-alba.js';
import { startWebsiteFront, type WebsiteFront } from '../helpers/website-front.js';

// The download pages alba writes into a bucket (docs/s3.md, "Pages"), in Debian's chromium driven
// by puppeteer-core, against Ceph RGW (~13 s to start) behind nginx as the website front, which
// also sends a strict Content-Security-Policy. Screenshots for the docs: ALBA_SITE_SCREENSHOTS=DIR.

const BUCKET = 'site';
const CSP = "default-src 'self'";
const enabled = rgwTestsEnabled(['nginx', 'chromium', 'skopeo']);
const work = await mkdtemp(join(tmpdir(), 'alba-site-'));
const HOSTILE = '<img src=x onerror=alert(1)>';
/** Its id on a page (an id holds no space). */
const HOSTILE_ID = HOSTILE.replace(/ /g, '_');
let fixture: FixtureLayout;
let rgw: RgwServer;
let front: WebsiteFront;
let s3: S3Client;
let target: S3Target;
let browser: Browser;
let bin: string;

before(async () => {
  if (!enabled) return;
  fixture = await buildFixtureLayout(work, 'fixture');
  rgw = await startRgw();
  Object.assign(process.env, rgwEnv(rgw, work));
  s3 = rgwClient(rgw);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutBucketWebsiteCommand({ Bucket: BUCKET, WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }));
  const policy = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${BUCKET}/*`] }],
  };
  await s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify(policy) }));
  front = await startWebsiteFront(rgw.url, rgw.websiteHost(BUCKET), { headers: { 'Content-Security-Policy': CSP } });
  target = parseS3Target(s3Url(rgw.url, BUCKET));
  browser = await puppeteer.launch({
    executablePath: spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim(),
    headless: true,
    args: ['--no-sandbox'],
  });
  bin = join(work, 'bin');
});
after(async () => {
  await browser?.close();
  await front?.close();
  await rgw?.close();
  await fixture?.close();
  await rm(work, { recursive: true, force: true });
});

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A directory of static binaries: `linux/amd64`, `linux/arm64`, `linux/arm/v7`, each with `app` made of `seed`, plus `extra` files. */
async function binaries(seed: string, extra: Record<string, string> = {}): Promise<string> {
  const dir = join(bin, seed.replace(/[^a-z0-9.]/gi, '_'));
  for (const [platform, body] of [
    ['linux/amd64', `${seed} amd64`],
    ['linux/arm64', `${seed} arm64`],
    ['linux/arm/v7', `${seed} armv7`],
  ] as const) {
    await mkdir(join(dir, platform), { recursive: true });
    await writeFile(join(dir, platform, 'app'), `${body}\n`.repeat(200));
  }
  for (const [path, body] of Object.entries(extra)) await writeFile(join(dir, path), body);
  return dir;
}

async function pushBinaries(tag: string, extra: Record<string, string> = {}, to: S3Target = target): Promise<void> {
  await pushStatic(to, 'app', tag, await scanStaticDir(await binaries(tag, extra)));
}

async function object(key: string): Promise<{ bytes: Buffer; contentType?: string; cacheControl?: string } | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return {
      bytes: Buffer.from(await res.Body!.transformToByteArray()),
      ...(res.ContentType === undefined ? {} : { contentType: res.ContentType }),
      ...(res.CacheControl === undefined ? {} : { cacheControl: res.CacheControl }),
    };
  } catch {
    return undefined;
  }
}

/** A page opened in chromium, with every problem it showed: console errors, page errors, dialogs, CSP violations, failed requests, other origins. */
interface Visit {
  page: Page;
  problems: string[];
  requests: string[];
}

async function visit(path: string, options: { javascript?: boolean; width?: number } = {}): Promise<Visit> {
  const page = await browser.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  await page.setJavaScriptEnabled(options.javascript !== false);
  await page.setCacheEnabled(false); // the pages are cached for 60 s, as tags/list: each visit reads the bucket
  await page.setViewport({ width: options.width ?? 1100, height: options.width === undefined ? 760 : 800 });
  page.on('console', (m) => (m.type() === 'error' || m.type() === 'warn' ? problems.push(`console ${m.type()}: ${m.text()}`) : undefined));
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('request', (r) => requests.push(r.url()));
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => (r.status() >= 400 ? problems.push(`HTTP ${r.status()}: ${r.url()}`) : undefined));
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { violations: string[] }).violations ??= [];
      (window as unknown as { violations: string[] }).violations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  await page.goto(`${front.url}${path}`, { waitUntil: 'networkidle0' });
  return { page, problems, requests };
}

/** Asserts that the visit showed no problem and asked nothing of another origin, then closes it. */
async function clean(v: Visit): Promise<void> {
  const violations = await v.page.evaluate(() => (window as unknown as { violations?: string[] }).violations ?? []);
  await v.page.close();
  assert.deepEqual(v.problems, [], 'no console error, page error, dialog or failed request');
  assert.deepEqual(violations, [], 'no CSP violation');
  assert.deepEqual(
    v.requests.filter((u) => !u.startsWith(`${front.url}/`)),
    [],
    'no request to another origin',
  );
}

/** The tags a page shows, in order, and which of them are visible. */
function tagsOn(v: Visit): Promise<{ tag: string; visible: boolean }[]> {
  return v.page.$$eval('article.tag', (articles) => articles.map((a) => ({ tag: a.id, visible: a.checkVisibility() })));
}

async function screenshot(v: Visit, name: string): Promise<void> {
  const dir = process.env.ALBA_SITE_SCREENSHOTS;
  if (dir !== undefined) await v.page.screenshot({ path: join(dir, `${name}.png`) as `${string}.png` });
}

function skopeo(args: string[]): string {
  const res = spawnSync('skopeo', args, { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout;
}

describe(
  'download pages in the bucket, in a real browser (chromium, Ceph RGW behind nginx)',
  { skip: enabled ? false : 'Ceph, nginx, chromium or skopeo is missing, or not root' },
  () => {
    test('static page: releases shown newest first, extra and dev builds behind a keyboard-operable control, downloads match their SHA256, deep links, no script needed', async () => {
      for (const tag of ['1.0.0', '1.1.0-rc1', '1.1.0', 'main', '1.2.0+feat'])
        await pushBinaries(tag, tag === '1.1.0' ? { [`linux/amd64/${HOSTILE}`]: 'hostile name\n' } : {});
      const stored = (await object('df-dist-v1/app/index.html'))!;
      assert.equal(stored.contentType, 'text/html; charset=utf-8');
      assert.equal(stored.cacheControl, 'public, max-age=60');

      const v = await visit('/df-dist-v1/app/');
      assert.deepEqual(await tagsOn(v), [
        { tag: '1.1.0', visible: true },
        { tag: '1.0.0', visible: true },
        { tag: '1.2.0+feat', visible: false },
        { tag: '1.1.0-rc1', visible: false },
        { tag: 'main', visible: false },
      ]);
      assert.match(await v.page.$eval('details.others summary', (s) => s.textContent ?? ''), /\(3\)/);
      await screenshot(v, 'site-static-desktop');
      await v.page.focus('details.others summary');
      await v.page.keyboard.press('Enter');
      assert.ok(
        (await tagsOn(v)).every((t) => t.visible),
        'Enter on the control shows the extra and dev builds',
      );
      // every download link fetches the bytes of the file, whose SHA256 is the one shown
      const links = await v.page.$$eval('article.tag tr', (rows) =>
        rows
          .filter((r) => r.querySelector('a.download') !== null)
          .map((r) => ({
            tag: r.closest('article')!.id,
            href: (r.querySelector('a.download') as HTMLAnchorElement).href,
            file: r.querySelector('a.download')!.textContent!,
            platform: r.cells[0]!.textContent!,
            shown: r.querySelector('code.sha256')!.textContent!,
          })),
      );
      assert.equal(links.length, 5 * 3 + 1);
      for (const link of links) {
        const fetched = await v.page.evaluate(async (href) => {
          const res = await fetch(href);
          const hash = await crypto.subtle.digest('SHA-256', await res.arrayBuffer());
          return { status: res.status, sha256: [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, '0')).join('') };
        }, link.href);
        const local = await readFile(join(bin, link.tag.replace(/[^a-z0-9.]/gi, '_'), link.platform, link.file));
        assert.deepEqual(fetched, { status: 200, sha256: sha256(local) }, `${link.href} is ${link.tag}'s ${link.platform}/${link.file}`);
        assert.equal(link.shown, fetched.sha256, `${link.href}: the SHA256 shown is the file's`);
      }
      assert.ok(
        links.some((l) => l.file === HOSTILE),
        'a file name with markup is shown as text',
      );
      assert.equal(await v.page.$('img[src="x"]'), null, 'and is no element');
      await clean(v);

      // deep links: a release, and an extra build the control hides
      for (const tag of ['1.0.0', '1.2.0+feat']) {
        const deep = await visit(`/df-dist-v1/app/#${encodeURIComponent(tag)}`);
        assert.deepEqual(
          (await tagsOn(deep)).find((t) => t.tag === tag),
          { tag, visible: true },
          `#${tag} shows its tag`,
        );
        assert.ok(
          await deep.page.evaluate((id) => {
            const r = document.getElementById(id)!.getBoundingClientRect();
            return r.top >= 0 && r.top < innerHeight;
          }, tag),
          `#${tag} is scrolled to`,
        );
        await clean(deep);
      }

      // without JavaScript: the same page, the control still works
      const plain = await visit('/df-dist-v1/app/', { javascript: false });
      assert.deepEqual(
        (await tagsOn(plain)).map((t) => t.visible),
        [true, true, false, false, false],
      );
      await plain.page.click('details.others summary');
      assert.ok((await tagsOn(plain)).every((t) => t.visible));
      await clean(plain);

      const phone = await visit('/df-dist-v1/app/', { width: 390 });
      assert.ok(await phone.page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'no horizontal scrolling on a phone');
      await screenshot(phone, 'site-static-phone');
      await clean(phone);
    });

    test('after gc the removed tags are gone from the page; the page is rewritten before their objects are deleted', async () => {
      const proxy = await startFaultProxy(rgw.url);
      try {
        let seenAtDelete: string | undefined;
        let held: string | undefined;
        proxy.fault = (r) => {
          // the first delete of the removal's objects (DeleteObjects names its keys in its body), not of a lock or lease
          if (!isS3Delete(r) || r.path.includes('.alba-') || held !== undefined) return undefined;
          held = `${r.method} ${r.path}`;
          return { hold: object('df-dist-v1/app/index.html').then((o) => (seenAtDelete = o?.bytes.toString('utf8'))) };
        };
        const store = new StaticNameStore(new S3Store(parseS3Target(s3Url(proxy.url, BUCKET))), 'df-dist-v1/app');
        await runRemoval(store, { policy: { keep: { dev: 0 }, now: Date.now() } }, { graceMs: 0 });
        assert.ok(seenAtDelete !== undefined, 'the first delete was held');
        assert.doesNotMatch(seenAtDelete, /id="main"/, `when the first object of main is deleted (${held}), the page no longer lists it`);
      } finally {
        await proxy.close();
      }
      const v = await visit('/df-dist-v1/app/');
      assert.deepEqual(
        (await tagsOn(v)).map((t) => t.tag),
        ['1.1.0', '1.0.0', '1.2.0+feat', '1.1.0-rc1'],
      );
      await clean(v);
    });

    test('two pushes racing on the page: both tags end up on it, even when the older rendering is written last', async () => {
      const proxy = await startFaultProxy(rgw.url);
      try {
        let release: () => void = () => undefined;
        const held = new Promise<void>((resolve) => (release = resolve));
        let reached: () => void = () => undefined;
        const atHold = new Promise<void>((resolve) => (reached = resolve));
        let first = true;
        proxy.fault = (r) => {
          if (r.method !== 'PUT' || !r.path.startsWith(`/${BUCKET}/df-dist-v1/app/index.html`) || !first) return undefined;
          first = false;
          reached();
          return { hold: held };
        };
        const slow = pushBinaries('2.0.0', {}, parseS3Target(s3Url(proxy.url, BUCKET)));
        await atHold; // its page, rendered without 2.1.0, waits at the proxy
        await pushBinaries('2.1.0');
        assert.match((await object('df-dist-v1/app/index.html'))!.bytes.toString('utf8'), /id="2\.1\.0"/);
        release();
        await slow;
      } finally {
        await proxy.close();
      }
      const v = await visit('/df-dist-v1/app/');
      assert.deepEqual(
        (await tagsOn(v)).slice(0, 2).map((t) => t.tag),
        ['2.1.0', '2.0.0'],
      );
      await clean(v);
    });

    test("image page: the platforms and digests the registry serves, SBOM links to the referrers' documents, the pull command with the host", async () => {
      const { graph } = await readLayoutGraph(fixture.layout);
      await publish(graph, await openStaticRegistrySink(target, 'team/fixture'), ['1.0.0', '1.1.0-rc1', 'main']);
      const v = await visit('/v2/team/fixture/');
      assert.deepEqual(await tagsOn(v), [
        { tag: '1.0.0', visible: true },
        { tag: '1.1.0-rc1', visible: false },
        { tag: 'main', visible: false },
      ]);
      const index = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${front.host}/team/fixture:1.0.0`])) as {
        manifests: { digest: string; platform: { os: string; architecture: string; variant?: string } }[];
      };
      const shown = await v.page.$$eval('article[id="1.0.0"] tbody tr', (rows) =>
        rows.map((r) => ({
          platform: r.cells[0]!.textContent!,
          digest: r.cells[1]!.textContent!,
          sboms: [...r.querySelectorAll('a')].map((a) => ({ format: a.textContent!, href: a.href })),
        })),
      );
      assert.deepEqual(
        shown.map(({ platform, digest }) => ({ platform, digest })),
        index.manifests.map((m) => ({
          platform: [m.platform.os, m.platform.architecture, ...(m.platform.variant === undefined ? [] : [m.platform.variant])].join('/'),
          digest: m.digest,
        })),
      );
      const pull = await v.page.$eval('article[id="1.0.0"] code.pull', (c) => c.textContent);
      assert.equal(pull, `docker pull ${front.host}/team/fixture:1.0.0`);
      assert.equal(
        await v.page.$eval('article[id="1.0.0"] p.meta code.digest', (c) => c.textContent),
        `sha256:${sha256(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${front.host}/team/fixture:1.0.0`]))}`,
      );
      const types: Record<string, string> = { SPDX: 'application/spdx+json', CycloneDX: 'application/vnd.cyclonedx+json' };
      for (const row of shown) {
        // the referrers of the platform manifest, as a registry client finds them (the referrers tag)
        const referrers = JSON.parse(
          skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${front.host}/team/fixture:sha256-${row.digest.slice(7)}`]),
        ) as { manifests: { digest: string; artifactType?: string }[] };
        const sboms = referrers.manifests.filter((m) => Object.values(types).includes(m.artifactType ?? ''));
        assert.ok(
          row.sboms.some((s) => s.format === 'SPDX'),
          `${row.platform} has its SPDX document`,
        );
        assert.deepEqual(
          row.sboms.map((s) => types[s.format]).sort(),
          sboms.map((m) => m.artifactType).sort(),
          `${row.platform}: a link per SBOM referrer`,
        );
        for (const link of row.sboms) {
          const referrer = JSON.parse(
            skopeo([
              'inspect',
              '--raw',
              '--tls-verify=false',
              `docker://${front.host}/team/fixture@${sboms.find((m) => m.artifactType === types[link.format])!.digest}`,
            ]),
          ) as { layers: { digest: string }[] };
          const fetched = await v.page.evaluate(async (href) => {
            const res = await fetch(href);
            const bytes = await res.arrayBuffer();
            const hash = await crypto.subtle.digest('SHA-256', bytes);
            const json = JSON.parse(new TextDecoder().decode(bytes)) as { spdxVersion?: string; bomFormat?: string };
            return {
              sha256: [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, '0')).join(''),
              format: json.spdxVersion === undefined ? json.bomFormat : 'SPDX',
            };
          }, link.href);
          assert.deepEqual(
            fetched,
            { sha256: referrer.layers[0]!.digest.slice(7), format: link.format },
            `${row.platform}: the ${link.format} link downloads the referrer's document`,
          );
        }
      }
      await screenshot(v, 'site-image-desktop');
      await clean(v);
      const phone = await visit('/v2/team/fixture/', { width: 390 });
      await screenshot(phone, 'site-image-phone');
      assert.ok(await phone.page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'no horizontal scrolling on a phone');
      await clean(phone);
    });

    test("root page: the static names and image repositories with their latest release; a tag with markup written behind alba's back is shown as text", async () => {
      // a name document and tag written by another tool, with a tag no grammar of alba's allows
      const doc = JSON.parse((await object('df-dist-v1/app'))!.bytes.toString('utf8')) as { name: string; tags: string[] };
      const file = Buffer.from('hostile tag\n');
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `df-dist-v1/app/${HOSTILE}/linux/amd64/app`, Body: file }));
      await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: `df-dist-v1/app/${HOSTILE}`,
          Body: JSON.stringify({
            flavors: [
              { resources: [{ path: 'app', size: file.length, sha256: sha256(file) }], platform: { architecture: 'amd64', os: 'linux' } },
            ],
          }),
        }),
      );
      await s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: 'df-dist-v1/app', Body: JSON.stringify({ ...doc, tags: [...doc.tags, HOSTILE] }) }),
      );
      const rebuilt = await runAlba(['pages', '--json', s3Url(rgw.url, BUCKET)], { env: rgwEnv(rgw, work) });
      assert.equal(rebuilt.status, 0, explainRun(rebuilt));
      assert.deepEqual((JSON.parse(rebuilt.stdout) as { pages: string[] }).pages.sort(), [
        'df-dist-v1/app/index.html',
        'index.html',
        'v2/team/fixture/index.html',
      ]);

      const hostile = await visit('/df-dist-v1/app/');
      await hostile.page.click('details.others summary');
      assert.ok(
        (await tagsOn(hostile)).some((t) => t.tag === HOSTILE_ID && t.visible),
        'the tag is listed',
      );
      assert.equal(await hostile.page.$eval(`article[id="${HOSTILE_ID}"] .tag-name`, (h) => h.textContent), HOSTILE, 'as text');
      assert.equal(await hostile.page.$('img[src="x"]'), null);
      const link = await hostile.page.$eval(`article[id="${HOSTILE_ID}"] a.download`, (a) => (a as HTMLAnchorElement).href);
      assert.equal(await hostile.page.evaluate(async (href) => (await fetch(href)).text(), link), 'hostile tag\n');
      await clean(hostile);

      const v = await visit('/');
      const entries = await v.page.$$eval('ul.entries li', (items) =>
        items.map((li) => ({
          name: li.querySelector('a')!.textContent,
          href: li.querySelector('a')!.getAttribute('href'),
          latest: li.querySelector('strong')?.textContent,
        })),
      );
      assert.deepEqual(entries, [
        { name: 'app', href: 'df-dist-v1/app/', latest: '2.1.0' },
        { name: 'team/fixture', href: 'v2/team/fixture/', latest: '1.0.0' },
      ]);
      await v.page.click('ul.entries a[href="v2/team/fixture/"]');
      await v.page.waitForSelector('article.tag');
      assert.equal(new URL(v.page.url()).pathname, '/v2/team/fixture/');
      await clean(v);
      const desktop = await visit('/');
      await screenshot(desktop, 'site-root-desktop');
      await clean(desktop);
      const phone = await visit('/', { width: 390 });
      await screenshot(phone, 'site-root-phone');
      await clean(phone);
    });

    test('after rm of an image tag, the image page no longer lists it', async () => {
      await runRemoval(new BucketImageStore(new S3Store(target), 'v2/team/fixture/'), { tag: 'main' }, { graceMs: 0 });
      const v = await visit('/v2/team/fixture/');
      assert.deepEqual(
        (await tagsOn(v)).map((t) => t.tag),
        ['1.0.0', '1.1.0-rc1'],
      );
      await clean(v);
    });

    test('alba static push --no-pages leaves the page alone; alba pages brings it up to date', async () => {
      const etag = async (): Promise<string | undefined> =>
        (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'df-dist-v1/app/index.html' }))).ETag;
      const before = await etag();
      const dir = await binaries('3.0.0');
      const pushed = await runAlba(['static', 'push', '--no-pages', '-t', 'app:3.0.0', dir, s3Url(rgw.url, BUCKET)], {
        env: rgwEnv(rgw, work),
      });
      assert.equal(pushed.status, 0, explainRun(pushed));
      assert.equal(await etag(), before, 'the page is unchanged');
      const rebuilt = await runAlba(['pages', s3Url(rgw.url, BUCKET)], { env: rgwEnv(rgw, work) });
      assert.equal(rebuilt.status, 0, explainRun(rebuilt));
      const v = await visit('/df-dist-v1/app/');
      assert.equal((await tagsOn(v))[0]?.tag, '3.0.0');
      await clean(v);
      // the page is no tag: repair rebuilds the name document without it, and rewrites the page
      const repaired = await runAlba(['static', 'repair', '-t', 'app', '--json', s3Url(rgw.url, BUCKET)], { env: rgwEnv(rgw, work) });
      assert.equal(repaired.status, 0, explainRun(repaired));
      const { tags, broken } = JSON.parse(repaired.stdout) as { tags: string[]; broken: string[] };
      assert.deepEqual(broken, [HOSTILE], 'the tag written without its SHA256 metadata is left out, the page is not a tag');
      assert.ok(!tags.includes('index.html'));
      const after = await visit('/df-dist-v1/app/');
      assert.ok(!(await tagsOn(after)).some((t) => t.tag === HOSTILE_ID), 'the page follows the repaired name document');
      await clean(after);
    });

    test('embedding: embed.js renders df-dist-v1/NAME into a page of another origin, once the bucket allows that origin (CORS)', async () => {
      const site = createServer((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': `default-src 'self' ${front.url}` });
        res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>project</title></head><body><h1>Downloads</h1>
<div id="dl" data-alba-downloads="${front.url}/df-dist-v1/app"></div>
<script type="module" src="${front.url}/_alba/embed.js"></script></body></html>`);
      });
      await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
      const origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
      try {
        // without a CORS rule, the browser refuses the module: the rule is what makes embedding work
        const refused = await browser.newPage();
        await refused.setCacheEnabled(false);
        const errors: string[] = [];
        refused.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : undefined));
        await refused.goto(origin, { waitUntil: 'networkidle0' });
        assert.equal(await refused.$('#dl .alba-releases'), null);
        assert.ok(
          errors.some((e) => /CORS/.test(e)),
          errors.join('\n'),
        );
        await refused.close();
        await s3.send(
          new PutBucketCorsCommand({
            Bucket: BUCKET,
            CORSConfiguration: {
              CORSRules: [{ AllowedOrigins: [origin], AllowedMethods: ['GET', 'HEAD'], AllowedHeaders: ['*'], MaxAgeSeconds: 3600 }],
            },
          }),
        );
        const page = await browser.newPage();
        await page.setCacheEnabled(false);
        const problems: string[] = [];
        page.on('console', (m) => (m.type() === 'error' ? problems.push(m.text()) : undefined));
        page.on('pageerror', (e) => problems.push(String(e)));
        await page.goto(origin, { waitUntil: 'networkidle0' });
        assert.deepEqual(problems, []);
        await page.waitForSelector('#dl .alba-releases', { timeout: 10_000 });
        const shown = await page.$$eval('#dl .alba-tag', (tags) =>
          tags.map((t) => ({ tag: t.querySelector('h4')!.textContent, visible: t.checkVisibility() })),
        );
        assert.deepEqual(
          shown.filter((t) => t.visible).map((t) => t.tag),
          ['3.0.0', '2.1.0', '2.0.0', '1.1.0', '1.0.0'],
        );
        assert.ok(
          shown.some((t) => !t.visible && t.tag === '1.2.0+feat'),
          'extra builds behind the control',
        );
        const link = await page.$eval('#dl .alba-tag a', (a) => (a as HTMLAnchorElement).href);
        assert.ok(link.startsWith(`${front.url}/df-dist-v1/app/3.0.0/`), link);
        await page.close();
      } finally {
        site.close();
      }
    });

    test('a refresh reads each manifest by digest once for all its rounds, and lists the folders above the repository at once', async () => {
      const proxy = await startFaultProxy(rgw.url);
      try {
        // the root listing is held until the repository's own folder is listed: only a refresh that
        // lists them ahead, at once, gets past it before the 5 s fallback
        const folderListing = (prefix: string) => (req: SeenRequest) => {
          const query = new URL(req.path, proxy.url).searchParams;
          return req.method === 'GET' && query.get('list-type') === '2' && query.get('delimiter') === '/' && query.get('prefix') === prefix;
        };
        const held = holdUntil(proxy, folderListing(''), folderListing('v2/pages/once/'));
        const { graph } = await readLayoutGraph(fixture.layout);
        await publish(graph, await openStaticRegistrySink(parseS3Target(s3Url(proxy.url, BUCKET)), 'pages/once'), ['1.0.0']);
        assert.equal(await held, 'released', 'the folders above the repository listed at once');
        const reads = new Map<string, number>();
        for (const r of proxy.requests) {
          const key = decodeURIComponent(r.path.split('?')[0]!);
          if (r.method === 'GET' && key.startsWith(`/${BUCKET}/v2/pages/once/manifests/sha256:`)) reads.set(key, (reads.get(key) ?? 0) + 1);
        }
        assert.ok(reads.size >= 5, `the pages read the index, the platforms' manifests and the SBOMs' (${reads.size} read)`);
        for (const [key, n] of reads) assert.equal(n, 1, `${key} read ${n} times`);
        const page = (await object('v2/pages/once/index.html'))!.bytes.toString('utf8');
        assert.match(page, /1\.0\.0/);
        assert.match((await object('index.html'))!.bytes.toString('utf8'), /pages\/once/);
      } finally {
        await proxy.close();
      }
    });

    test('an object read again is asked "unless unchanged": 304 while it is, the new bytes once it changed; a push re-reads its pages that way, and tags/list after its write unless the server was seen enforcing If-None-Match', async () => {
      const proxy = await startFaultProxy(rgw.url);
      try {
        const store = new S3Store(parseS3Target(s3Url(proxy.url, BUCKET)));
        await store.put('conditional/doc', Buffer.from('one\n'), { contentType: 'text/plain', cacheControl: 'no-store' });
        const first = (await store.get('conditional/doc', 1024))!;
        assert.ok(first.etag !== undefined, 'RGW gives the ETag');
        // the bytes given as known come back only from a 304: the server never sent them
        const known = { bytes: Buffer.from('as known'), etag: first.etag };
        assert.equal((await store.get('conditional/doc', 1024, known))?.bytes.toString(), 'as known');
        assert.equal(proxy.requests.at(-1)?.status, 304);
        // a 304 that names another ETag (a broken cache, a server answering 304 to anything) is not believed
        proxy.rewrite = (_req, status, headers) => {
          if (status === 304) headers.etag = '"another"';
        };
        assert.equal((await store.get('conditional/doc', 1024, known))?.bytes.toString(), 'one\n', 'read again, without the condition');
        proxy.rewrite = () => undefined;
        await store.put('conditional/doc', Buffer.from('two\n'), { contentType: 'text/plain', cacheControl: 'no-store' });
        assert.equal((await store.get('conditional/doc', 1024, known))?.bytes.toString(), 'two\n', 'changed: the new bytes');
        await store.remove('conditional/doc');
        assert.equal(await store.get('conditional/doc', 1024, known), undefined, 'gone: none');

        // a push's pages: the second round asks for what the first read "unless unchanged"
        proxy.requests.length = 0;
        const { graph } = await readLayoutGraph(fixture.layout);
        await publish(graph, await openStaticRegistrySink(parseS3Target(s3Url(proxy.url, BUCKET)), 'pages/conditional'), ['1.0.0']);
        const unchanged = proxy.requests.filter((r) => r.method === 'GET' && r.status === 304).map((r) => r.path.split('?')[0]!);
        assert.ok(
          unchanged.includes(`/${BUCKET}/v2/pages/conditional/manifests/1.0.0`),
          `the page's second round asks for the tag with If-None-Match (${unchanged.join(', ')})`,
        );
        // tags/list after its write: read back "unless unchanged" (304) where the server was not seen
        // enforcing If-None-Match (the probe's conditional rewrite answered 200 here), not at all where it was (RGW: 412)
        const probe = Buffer.from('{"schemaVersion":2,"manifests":[]}');
        for (const enforced of [false, true]) {
          const base = `v2/pages/${enforced ? 'enforced' : 'ignored'}/`;
          const listed = new S3Store(parseS3Target(s3Url(proxy.url, BUCKET)));
          const probeKey = `${base}manifests/${digestOf(probe)}`;
          await listed.put(probeKey, probe, { contentType: MediaType.index, cacheControl: IMMUTABLE });
          listed.offerConditionProbe({ key: probeKey, bytes: probe, contentType: MediaType.index, cacheControl: IMMUTABLE });
          proxy.fault = (r) =>
            !enforced && r.method === 'PUT' && r.ifNoneMatch === '*' && r.path.includes('/manifests/') ? { status: 200 } : undefined;
          proxy.requests.length = 0;
          assert.equal(await updateTagList(listed, `${base}tags/list`, 'pages', { add: ['1.0.0'] }), true);
          proxy.fault = () => undefined;
          const listKey = `/${BUCKET}/${base}tags/list`;
          const written = proxy.requests.findIndex((r) => r.method === 'PUT' && r.path.split('?')[0] === listKey);
          const reads = proxy.requests.slice(written + 1).filter((r) => r.method === 'GET' && r.path.split('?')[0] === listKey);
          assert.ok(written >= 0, 'tags/list written');
          if (enforced) assert.deepEqual(reads, [], 'not read back: the write under an enforced If-None-Match was atomic');
          else
            assert.ok(reads[0]?.ifNoneMatch !== undefined && reads[0].status === 304, 'read back after its write with If-None-Match: 304');
        }
        assert.match((await object('v2/pages/conditional/index.html'))!.bytes.toString('utf8'), /1\.0\.0/);
      } finally {
        await proxy.close();
      }
    });

    test("a static push's pages go out beside its check for a removal, not after it", async () => {
      const proxy = await startFaultProxy(rgw.url);
      try {
        // the check's read of the removal lease is held until a request for the page arrives:
        // only pages sent beside the check get it past the 5 s fallback
        const key = (req: SeenRequest): string => decodeURIComponent(req.path.split('?')[0]!);
        const held = holdUntil(
          proxy,
          (req) => key(req) === `/${BUCKET}/df-dist-v1/app/.alba-removal-lease`, // a HEAD (the push's look), a GET when there is one
          (req) => key(req) === `/${BUCKET}/df-dist-v1/app/index.html`,
        );
        await pushBinaries('4.1.0', {}, parseS3Target(s3Url(proxy.url, BUCKET)));
        assert.equal(await held, 'released', 'the page asked for while the check waits');
        assert.match((await object('df-dist-v1/app/index.html'))!.bytes.toString('utf8'), /4\.1\.0/);
      } finally {
        await proxy.close();
      }
    });

    test('each push writes its pages after the document that lists its tag (static: the name document; images: tags/list)', async () => {
      const proxy = await startFaultProxy(rgw.url);
      try {
        // each document's write is held 1 s: a page rendered while it goes would be written before it lands
        const keyOf = (path: string): string => decodeURIComponent(path.split('?')[0]!.slice(`/${BUCKET}/`.length));
        const landed = new Map<string, number>();
        const documents = ['df-dist-v1/app', 'v2/team/fixture/tags/list'];
        proxy.fault = (req) =>
          req.method === 'PUT' && documents.includes(keyOf(req.path))
            ? { hold: delay(1000).then(() => void landed.set(keyOf(req.path), Date.now())) }
            : undefined;
        const via = parseS3Target(s3Url(proxy.url, BUCKET));
        await pushBinaries('4.0.0', {}, via);
        const staticPush = proxy.requests.length;
        const { graph } = await readLayoutGraph(fixture.layout);
        await publish(graph, await openStaticRegistrySink(via, 'team/fixture'), ['4.0.0']);
        const puts = (from: number, to: number): { key: string; at: number }[] =>
          proxy.requests
            .slice(from, to)
            .filter((r) => r.method === 'PUT')
            .map((r) => ({ key: keyOf(r.path), at: r.at }));
        for (const [page, document, written] of [
          ['df-dist-v1/app/index.html', 'df-dist-v1/app', puts(0, staticPush)],
          ['v2/team/fixture/index.html', 'v2/team/fixture/tags/list', puts(staticPush, proxy.requests.length)],
        ] as const) {
          const at = landed.get(document);
          assert.ok(at !== undefined, `${document} written`);
          const pages = written.filter((p) => p.key === page || p.key === 'index.html');
          assert.ok(pages.some((p) => p.key === page) && pages.some((p) => p.key === 'index.html'), `${page} and the root page written`);
          for (const p of pages) assert.ok(p.at >= at, `${p.key} written ${at - p.at} ms before ${document} landed`);
        }
      } finally {
        await proxy.close();
      }
    });
  },
);
