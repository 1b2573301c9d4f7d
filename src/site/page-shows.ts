/**
 * Whether a push may leave a bucket's pages as they are (pure: no IO). A push that moved nothing
 * (no blob, manifest, tag object, tag document or tag-list document written or changed) reads its
 * own page once and leaves the pages alone only when that page already shows each tag it pushed
 * as it pushed it: an image tag with its pull command and digest, a static tag with exactly its
 * files (platform, download link, size and SHA256 of each, in order). Anything else (a page that
 * is missing, too large, or lacks the tag, as a killed push leaves it) and every push that moved
 * something refreshes the pages as before (bucket-pages.ts). The check matches the text render.ts
 * writes for that tag, so a page rendered otherwise (by another release of alba) is refreshed.
 */
import { imageTagLines, staticTagTable, TAG_ARTICLE_CLOSE, tagArticleOpen, tagLink, type StaticTagEntry } from './render.js';

/** One tag a push put in place, as its page shows it. */
export type PushedTag =
  | { kind: 'image'; /** The repository (NAME). */ name: string; tag: string; digest: string }
  | { kind: 'static'; tag: string; flavors: StaticTagEntry['flavors'] };

/** What a push knows once its objects and documents are in place. */
export interface PushOutcome {
  /** It wrote or changed an object (a blob, manifest, tag object, tag document, tag-list document). */
  moved: boolean;
  /** Its own page (`v2/NAME/index.html`, `PREFIX/NAME/index.html`) as read after its last write; undefined when there is none or it was not read. */
  page: string | undefined;
  tags: readonly PushedTag[];
}

/** True when the push may leave the pages alone (see the file comment); false: refresh them. */
export function mayLeavePages(push: PushOutcome): boolean {
  const page = push.page;
  return !push.moved && page !== undefined && push.tags.length > 0 && push.tags.every((t) => pageShows(page, t));
}

/** True when `page` holds a block of `pushed.tag` that shows it as pushed. */
export function pageShows(page: string, pushed: PushedTag): boolean {
  return tagBlocks(page, pushed.tag).some((block) =>
    pushed.kind === 'image'
      ? block.includes(`\n${imageTagLines(pushed.name, pushed.tag, pushed.digest)}`)
      : block.endsWith(`\n${staticTagTable(pushed)}\n`),
  );
}

/** Each block of the page whose id is the tag's anchor and whose heading names exactly this tag, up to its closing line. */
function tagBlocks(page: string, tag: string): string[] {
  const open = `${tagArticleOpen(tag)}\n`;
  const close = `\n${TAG_ARTICLE_CLOSE}`;
  const blocks: string[] = [];
  for (let at = page.indexOf(open); at >= 0; at = page.indexOf(open, at + open.length)) {
    const end = page.indexOf(close, at);
    if (end < 0) break;
    const block = page.slice(at, end + 1);
    const heading = block.slice(open.length, block.indexOf('\n', open.length));
    if (heading.includes(`>${tagLink(tag)}</`)) blocks.push(block);
  }
  return blocks;
}
