import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  anchorOf,
  escapeHtml,
  hrefOf,
  newestFirst,
  renderImagePage,
  renderRootPage,
  renderStaticPage,
  type StaticTagEntry,
} from '../../src/site/render.js';
import { folderHref } from '../../src/site/bucket-pages.js';

// The pages alba writes into a bucket, rendered from plain data (src/site/render.ts).

const HEX = 'ab'.repeat(32);
const at = (iso: string): Date => new Date(iso);
const flavor = (platform: string, path = 'app'): StaticTagEntry['flavors'][number] => ({
  platform,
  files: [{ path, size: 2048, sha256: HEX }],
});
const staticTag = (tag: string, iso?: string, flavors = [flavor('linux/amd64')]): StaticTagEntry => ({
  tag,
  flavors,
  ...(iso === undefined ? {} : { pushed: at(iso) }),
});

/** Everything of the page inside the `<details>` (the hidden classes), and everything before it. */
function split(html: string): { shown: string; hidden: string } {
  const start = html.indexOf('<details');
  return start === -1
    ? { shown: html, hidden: '' }
    : { shown: html.slice(0, start), hidden: html.slice(start, html.indexOf('</details>')) };
}

describe('escaping and links', () => {
  test('escapeHtml: every character that opens markup or ends an attribute', () => {
    const cases: [string, string][] = [
      ['plain 1.0.0', 'plain 1.0.0'],
      ['<script>alert(1)</script>', '&#60;script&#62;alert(1)&#60;/script&#62;'],
      [`" onmouseover='x' a=&`, '&#34; onmouseover=&#39;x&#39; a=&#38;'],
    ];
    for (const [input, out] of cases) assert.equal(escapeHtml(input), out, input);
  });

  test('hrefOf: each segment percent-encoded, so tags with + or # and file names with markup stay one path', () => {
    const cases: [string[], string][] = [
      [['1.0.0', 'linux', 'amd64', 'app'], '1.0.0/linux/amd64/app'],
      [['0.8.2+feat', 'linux', 'arm', 'v7', 'app'], '0.8.2%2Bfeat/linux/arm/v7/app'],
      [['t', 'linux', 'amd64', 'a b#c?d'], 't/linux/amd64/a%20b%23c%3Fd'],
      [['<x>', '"q"'], '%3Cx%3E/%22q%22'],
    ];
    for (const [segments, out] of cases) assert.equal(hrefOf(...segments), out);
  });

  test('newestFirst: by push time, unknown times last, ties in reverse version order', () => {
    const tags = [
      staticTag('0.9.0', '2026-01-01T00:00:00Z'),
      staticTag('0.10.0', '2026-01-01T00:00:00Z'),
      staticTag('old'),
      staticTag('1.0.0', '2026-02-01T00:00:00Z'),
    ];
    assert.deepEqual(
      newestFirst(tags).map((t) => t.tag),
      ['1.0.0', '0.10.0', '0.9.0', 'old'],
    );
  });
});

describe('static page', () => {
  const html = renderStaticPage({
    name: 'albatros',
    root: '../../',
    tags: [
      staticTag('1.0.0', '2026-01-01T10:00:00Z', [flavor('linux/amd64'), flavor('linux/arm/v7')]),
      staticTag('1.1.0', '2026-02-01T10:00:00Z'),
      staticTag('1.2.0-rc1', '2026-03-01T10:00:00Z'),
      staticTag('0.8.2+feat', '2026-03-02T10:00:00Z'),
      staticTag('main', '2026-03-03T10:00:00Z'),
    ],
  });

  test('releases shown newest first; extra and dev builds inside one <details> whose summary gives their count', () => {
    const { shown, hidden } = split(html);
    const order = (part: string): string[] => [...part.matchAll(/<article class="tag" id="([^"]+)"/g)].map((m) => m[1] ?? '');
    assert.deepEqual(order(shown), ['1.1.0', '1.0.0']);
    assert.deepEqual(order(hidden), ['0.8.2+feat', '1.2.0-rc1', 'main']);
    assert.match(hidden, /<summary>Extra and development builds <span class="count">\(3\)<\/span><\/summary>/);
  });

  test('per file: a relative download link, the size, the SHA256; per tag: a deep link and the push date', () => {
    assert.match(
      html,
      /<a class="download" href="1\.0\.0\/linux\/arm\/v7\/app" download aria-label="Download app for linux\/arm\/v7 \(1\.0\.0\)">app<\/a>/,
    );
    assert.match(html, /href="0\.8\.2%2Bfeat\/linux\/amd64\/app"/);
    assert.match(html, new RegExp(`<code class="sha256" data-copy-label="SHA256 of linux/amd64/app">${HEX}</code>`));
    assert.match(html, /<td data-label="Size">2\.0 kB<\/td>/);
    assert.match(html, /<a href="#0\.8\.2%2Bfeat" aria-label="Link to 0\.8\.2\+feat">0\.8\.2\+feat<\/a>/);
    assert.match(html, /<time datetime="2026-01-01T10:00:00\.000Z">2026-01-01 10:00 UTC<\/time>/);
  });

  test("nothing outside the page's origin: relative stylesheet, script and icon under _alba/, its own strict CSP, no inline script or style", () => {
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'self'">/);
    assert.match(html, /<link rel="stylesheet" href="\.\.\/\.\.\/_alba\/site\.css">/);
    assert.match(html, /<script type="module" src="\.\.\/\.\.\/_alba\/page\.js"><\/script>/);
    assert.doesNotMatch(html, /(href|src)="(https?:)?\/\//, 'no absolute link');
    assert.doesNotMatch(html, /<style|style=|<script>|\son[a-z]+=/i, 'no inline style, script or handler');
  });

  test('no tag, no release: says so instead of an empty table', () => {
    assert.match(renderStaticPage({ name: 'x', root: '../../', tags: [] }), /<p>No build yet\.<\/p>/);
    const onlyDev = renderStaticPage({ name: 'x', root: '../../', tags: [staticTag('main', '2026-01-01T00:00:00Z')] });
    assert.match(split(onlyDev).shown, /No releases/);
  });

  test('names, tags, platforms and file names from the bucket cannot inject markup', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const page = renderStaticPage({
      name: `n${evil}`,
      root: '../../',
      tags: [staticTag(`t"${evil}`, '2026-01-01T00:00:00Z', [flavor(`linux/${evil}`, `f'${evil}`)])],
    });
    assert.doesNotMatch(page, /<img/);
    assert.doesNotMatch(page, /="[^"]*"[^ >]*onerror/);
    const raw = [...page.matchAll(/(&#60;img[ _]src=x[ _])?onerror=alert\(1\)/g)];
    assert.ok(raw.length >= 8 && raw.every((m) => m[1] !== undefined), 'every occurrence follows an escaped <');
    assert.match(page, /href="t%22%3Cimg%20src%3Dx%20onerror%3Dalert\(1\)%3E\/linux\/%3Cimg/);
    assert.match(page, /id="t&#34;&#60;img_src=x_onerror=alert\(1\)&#62;"/);
  });
});

describe('image page', () => {
  const spdx = `sha256:${'cd'.repeat(32)}`;
  const html = renderImagePage({
    name: 'team/app',
    root: '../../../',
    tags: [
      {
        tag: '1.0.0',
        pushed: at('2026-01-01T00:00:00Z'),
        digest: `sha256:${'11'.repeat(32)}`,
        size: 5 * 1024 * 1024,
        sboms: [{ format: 'SPDX', digest: `sha256:${'ee'.repeat(32)}` }],
        platforms: [
          { platform: 'linux/amd64', digest: `sha256:${'22'.repeat(32)}`, size: 3000, sboms: [{ format: 'SPDX', digest: spdx }] },
          { platform: 'linux/arm64/v8', digest: `sha256:${'33'.repeat(32)}`, size: 3000, sboms: [] },
        ],
      },
      { tag: 'main', pushed: at('2026-02-01T00:00:00Z'), digest: `sha256:${'44'.repeat(32)}`, size: 10, sboms: [], platforms: [] },
    ],
  });

  test('per tag: pull command (HOST filled in by the page script), digest, compressed size; per platform: digest, size, SBOM links to their blobs', () => {
    assert.match(
      html,
      /<code class="pull" data-copy-label="pull command of 1\.0\.0">docker pull <span class="host">HOST<\/span>\/team\/app:1\.0\.0<\/code>/,
    );
    assert.match(html, new RegExp(`<a href="blobs/${spdx}" download aria-label="SPDX SBOM of 1\\.0\\.0 linux/amd64">SPDX</a>`));
    assert.match(html, /<td data-label="Platform">linux\/arm64\/v8<\/td>/);
    assert.match(html, /5\.0 MB compressed/);
    assert.match(html, /<link rel="stylesheet" href="\.\.\/\.\.\/\.\.\/_alba\/site\.css">/);
    assert.deepEqual(
      [...split(html).hidden.matchAll(/id="([^"]+)"/g)].map((m) => m[1]).filter((id) => !id!.startsWith('alba-')),
      ['main'],
    );
  });
});

describe('root page', () => {
  test("a folder's link is relative whatever its name: `http:`, `javascript:` or `//host` make no URL of their own", () => {
    assert.equal(folderHref('df-dist-v1/app'), 'df-dist-v1/app/');
    assert.equal(folderHref('v2/team/fixture/'), 'v2/team/fixture/');
    for (const [folder, href] of [
      ['http:/evil.example', 'http%3A/evil.example/'],
      ['javascript:alert(1)//x', 'javascript%3Aalert(1)/x/'],
      ['a b/<c>', 'a%20b/%3Cc%3E/'],
    ] as const) {
      assert.equal(folderHref(folder), href);
      assert.equal(new URL(folderHref(folder), 'http://bucket.example/').origin, 'http://bucket.example', folder);
    }
  });

  test('each static name and image repository, linked relatively, with its latest release and counts', () => {
    const html = renderRootPage({
      title: 'dl',
      downloads: [
        {
          name: 'albatros',
          href: 'df-dist-v1/albatros/',
          latest: { tag: '1.2.0', pushed: at('2026-01-01T00:00:00Z') },
          counts: { release: 3, extra: 1, dev: 2 },
        },
      ],
      images: [{ name: 'team/app', href: 'v2/team/app/', counts: { release: 0, extra: 0, dev: 1 } }],
    });
    assert.match(
      html,
      /<li><a href="df-dist-v1\/albatros\/">albatros<\/a> <span class="meta">latest release <strong>1\.2\.0<\/strong>, <time[^>]*>2026-01-01 00:00 UTC<\/time> · 3 releases, 3 other builds<\/span><\/li>/,
    );
    assert.match(
      html,
      /<li><a href="v2\/team\/app\/">team\/app<\/a> <span class="meta">no release yet · 0 releases, 1 other build<\/span><\/li>/,
    );
    assert.match(html, /<link rel="stylesheet" href="_alba\/site\.css">/);
    assert.doesNotMatch(html, /Breadcrumb/);
    assert.match(renderRootPage({ title: 'x', downloads: [], images: [] }), /No static binaries\./);
  });

  test('anchorOf: an id without spaces', () => {
    assert.equal(anchorOf('1.0.0'), '1.0.0');
    assert.equal(anchorOf('a b\tc'), 'a_b_c');
  });
});
