import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mayLeavePages, type PushedTag } from '../../src/site/page-shows.js';
import { renderImagePage, renderStaticPage, type ImageTagEntry, type StaticTagEntry } from '../../src/site/render.js';

// When a push may leave a bucket's pages alone (src/site/page-shows.ts): only when it moved
// nothing and its own page, as render.ts writes it, shows each pushed tag as pushed.

const D = `sha256:${'d'.repeat(64)}`;
const E = `sha256:${'e'.repeat(64)}`;
const P = `sha256:${'0'.repeat(64)}`;
const when = new Date('2026-03-01T10:00:00Z');

const imageTag = (tag: string, digest = D): ImageTagEntry => ({
  tag,
  pushed: when,
  digest,
  size: 4096,
  platforms: [{ platform: 'linux/amd64', digest: P, size: 4000, sboms: [{ format: 'SPDX', digest: P }] }],
  sboms: [],
});
const imagePage = (...tags: ImageTagEntry[]): string => renderImagePage({ name: 'team/app', root: '../../../', tags });
const image = (tag: string, digest = D, name = 'team/app'): PushedTag => ({ kind: 'image', name, tag, digest });

const FILES: StaticTagEntry['flavors'] = [
  { platform: 'linux/amd64', files: [{ path: 'app', size: 2048, sha256: 'a'.repeat(64) }] },
  { platform: 'linux/arm/v7', files: [{ path: 'app', size: 1999, sha256: 'b'.repeat(64) }] },
];
const staticPage = (...tags: StaticTagEntry[]): string => renderStaticPage({ name: 'app', root: '../../', tags });
const staticEntry = (tag: string, flavors = FILES): StaticTagEntry => ({ tag, pushed: when, flavors });
const pushedStatic = (tag: string, flavors = FILES): PushedTag => ({ kind: 'static', tag, flavors });

const cases: { name: string; moved: boolean; page: string | undefined; tags: PushedTag[]; leave: boolean }[] = [
  {
    name: 'image: nothing moved, the page shows the tag with this digest',
    moved: false,
    page: imagePage(imageTag('1.0')),
    tags: [image('1.0')],
    leave: true,
  },
  { name: 'image: something moved', moved: true, page: imagePage(imageTag('1.0')), tags: [image('1.0')], leave: false },
  { name: 'image: no page', moved: false, page: undefined, tags: [image('1.0')], leave: false },
  { name: 'image: the page has no tag yet', moved: false, page: imagePage(), tags: [image('1.0')], leave: false },
  {
    name: 'image: the page lacks the tag (a killed push)',
    moved: false,
    page: imagePage(imageTag('0.9')),
    tags: [image('1.0')],
    leave: false,
  },
  {
    name: 'image: the page shows the tag with another digest',
    moved: false,
    page: imagePage(imageTag('1.0', E)),
    tags: [image('1.0')],
    leave: false,
  },
  {
    name: 'image: the digest is another tag’s',
    moved: false,
    page: imagePage(imageTag('1.0', E), imageTag('0.9')),
    tags: [image('1.0')],
    leave: false,
  },
  {
    name: 'image: a dev tag, behind the <details>',
    moved: false,
    page: imagePage(imageTag('1.0'), imageTag('main')),
    tags: [image('main')],
    leave: true,
  },
  {
    name: 'image: two tags pushed, both shown',
    moved: false,
    page: imagePage(imageTag('1.0'), imageTag('latest')),
    tags: [image('1.0'), image('latest')],
    leave: true,
  },
  {
    name: 'image: two tags pushed, one missing',
    moved: false,
    page: imagePage(imageTag('1.0')),
    tags: [image('1.0'), image('latest')],
    leave: false,
  },
  {
    name: 'image: a tag of the same anchor (a_b for "a b") is not this tag',
    moved: false,
    page: imagePage(imageTag('a b')),
    tags: [image('a_b')],
    leave: false,
  },
  {
    name: 'image: the page of another repository',
    moved: false,
    page: imagePage(imageTag('1.0')),
    tags: [image('1.0', D, 'team/other')],
    leave: false,
  },
  {
    name: 'image: a page cut short (no closing line)',
    moved: false,
    page: imagePage(imageTag('1.0')).split('</article>')[0],
    tags: [image('1.0')],
    leave: false,
  },
  { name: 'image: a page that is not alba’s', moved: false, page: '<html>1.0 sha256:dddd</html>', tags: [image('1.0')], leave: false },
  { name: 'no tag pushed', moved: false, page: imagePage(imageTag('1.0')), tags: [], leave: false },
  {
    name: 'static: nothing moved, the page shows the tag with its files',
    moved: false,
    page: staticPage(staticEntry('1.0.0')),
    tags: [pushedStatic('1.0.0')],
    leave: true,
  },
  { name: 'static: something moved', moved: true, page: staticPage(staticEntry('1.0.0')), tags: [pushedStatic('1.0.0')], leave: false },
  {
    name: 'static: the page lacks the tag (a killed push)',
    moved: false,
    page: staticPage(staticEntry('0.9.0')),
    tags: [pushedStatic('1.0.0')],
    leave: false,
  },
  {
    name: 'static: the page shows a file of another SHA256',
    moved: false,
    page: staticPage(staticEntry('1.0.0', [FILES[0]!, { ...FILES[1]!, files: [{ path: 'app', size: 1999, sha256: 'c'.repeat(64) }] }])),
    tags: [pushedStatic('1.0.0')],
    leave: false,
  },
  {
    name: 'static: the page shows a file more',
    moved: false,
    page: staticPage(
      staticEntry('1.0.0', [...FILES, { platform: 'linux/arm64', files: [{ path: 'app', size: 1, sha256: 'f'.repeat(64) }] }]),
    ),
    tags: [pushedStatic('1.0.0')],
    leave: false,
  },
  {
    name: 'static: the page shows a platform less',
    moved: false,
    page: staticPage(staticEntry('1.0.0', [FILES[0]!])),
    tags: [pushedStatic('1.0.0')],
    leave: false,
  },
  {
    name: 'static: an extra build with a +, among others',
    moved: false,
    page: staticPage(staticEntry('1.0.0'), staticEntry('1.1.0+feat')),
    tags: [pushedStatic('1.1.0+feat')],
    leave: true,
  },
];

describe('mayLeavePages: a push that moved nothing leaves the pages only when its page shows what it pushed', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(mayLeavePages({ moved: c.moved, page: c.page, tags: c.tags }), c.leave);
    });
  }
});
