/**
 * The download pages alba writes into a bucket, rendered from plain data (pure: no IO, no clock):
 * a static NAME's page (`PREFIX/NAME/index.html`), an image repository's page (`v2/NAME/index.html`)
 * and the root page (`index.html`). Release tags are shown, newest first by push time; extra and
 * dev tags sit in a `<details>` with their count, so the page works without JavaScript. Every
 * text that comes from the bucket (names, tags, platforms, file names) is escaped, every link is
 * relative (the page works under any host, path or CDN), and the page asks for nothing outside its
 * own origin: its stylesheet and script are files in the bucket (`_alba/`), so a strict
 * `Content-Security-Policy: default-src 'self'` holds (the page also declares it itself).
 */
import { formatBytes } from '../util/format-bytes.js';
import { tagClass, type TagClass } from '../lifecycle/tag-class.js';

/** One file of a static tag. */
export interface StaticFile {
  /** Path inside the flavor's directory, with `/`. */
  path: string;
  size: number;
  /** Hex SHA256. */
  sha256: string;
}

/** One static tag as its page shows it. */
export interface StaticTagEntry {
  tag: string;
  /** When the tag document was written (the push time); unknown for a document that has none. */
  pushed?: Date;
  flavors: { platform: string; files: StaticFile[] }[];
}

/** A static NAME's page. */
export interface StaticPage {
  name: string;
  tags: StaticTagEntry[];
  /** `../` repeated up to the bucket's (or prefix's) root, where `_alba/` is. */
  root: string;
}

/** An SBOM of a manifest, linked to its blob. */
export interface SbomLink {
  format: 'SPDX' | 'CycloneDX';
  /** `sha256:<hex>` of the document (the referrer's layer). */
  digest: string;
}

/** One platform image of a tag. */
export interface ImagePlatform {
  /** `os/arch[/variant]`. */
  platform: string;
  digest: string;
  /** Compressed bytes: manifest, config and layers. */
  size: number;
  sboms: SbomLink[];
}

/** One image tag as its page shows it. */
export interface ImageTagEntry {
  tag: string;
  pushed?: Date;
  /** The tag's digest (the index, or a single manifest). */
  digest: string;
  /** Compressed bytes of everything the tag reaches. */
  size: number;
  platforms: ImagePlatform[];
  /** SBOMs of the index itself. */
  sboms: SbomLink[];
}

/** An image repository's page. */
export interface ImagePage {
  name: string;
  tags: ImageTagEntry[];
  root: string;
}

/** What the root page lists for one static NAME or image repository. */
export interface RootEntry {
  /** The NAME (images) or `PREFIX/NAME` (static binaries) as shown. */
  name: string;
  /** Relative link to its page (ends with `/`). */
  href: string;
  /** The highest release version, with its push time when known. */
  latest?: { tag: string; pushed?: Date };
  /** How many tags of each class. */
  counts: Record<TagClass, number>;
}

/** The root page of a bucket (or of the target's prefix). */
export interface RootPage {
  /** The bucket's name, as a title. */
  title: string;
  downloads: RootEntry[];
  images: RootEntry[];
}

/** The folder (under the bucket's or prefix's root) of alba's stylesheet and scripts. */
export const ASSETS_DIR = '_alba';

/** Escapes text for HTML content and double- or single-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A relative URL path of segments, each percent-encoded (`+`, `#`, `?`, `:`, `<` included). */
export function hrefOf(...segments: string[]): string {
  return segments.map((s) => encodeURIComponent(s)).join('/');
}

/** The `id` and fragment of a tag: the tag itself (an id may hold any character but space). */
export function anchorOf(tag: string): string {
  return tag.replace(/\s/g, '_');
}

/** Newest first by push time (unknown times last), then by tag in reverse version order. */
export function newestFirst<T extends { tag: string; pushed?: Date }>(tags: readonly T[]): T[] {
  const time = (t: T): number => t.pushed?.getTime() ?? Number.NEGATIVE_INFINITY;
  return [...tags].sort((a, b) => time(b) - time(a) || b.tag.localeCompare(a.tag, 'en', { numeric: true }));
}

/** `1 release`, `3 releases`. */
function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** `812 B`, `1.2 MB`. */
function sizeOf(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : formatBytes(bytes);
}

/** `2026-12-03 02:15 UTC`, in a `<time>` element (deterministic: no locale, no zone of the machine). */
function timeOf(date: Date | undefined): string {
  if (date === undefined) return '<span class="muted">push time unknown</span>';
  const iso = date.toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC</time>`;
}

const LABELS: Record<TagClass, { title: string; blurb: string }> = {
  release: { title: 'Releases', blurb: 'versions without a label' },
  extra: { title: 'Extra builds', blurb: 'versions with a pre-release or build label' },
  dev: { title: 'Development builds', blurb: 'every other tag: branches, commits' },
};

function page(options: { title: string; root: string; heading: string; intro: string; body: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="alba">
<title>${escapeHtml(options.title)}</title>
<link rel="icon" href="${options.root}${ASSETS_DIR}/icon.svg">
<link rel="stylesheet" href="${options.root}${ASSETS_DIR}/site.css">
<script type="module" src="${options.root}${ASSETS_DIR}/page.js"></script>
</head>
<body>
<header>
${options.root === '' ? '' : `<nav aria-label="Breadcrumb"><a href="${options.root}">All downloads</a></nav>\n`}<h1>${options.heading}</h1>
${options.intro}
</header>
<main>
${options.body}
</main>
<footer><p>Written by alba from the documents of this bucket.</p></footer>
</body>
</html>
`;
}

/** The releases, then the other classes behind one `<details>` with their count. */
function byClass<T extends { tag: string; pushed?: Date }>(
  tags: readonly T[],
  render: (t: T, level: 'h3' | 'h4') => string,
  noun: string,
): string {
  const sorted = newestFirst(tags);
  const of = (c: TagClass): T[] => sorted.filter((t) => tagClass(t.tag) === c);
  const section = (c: TagClass, list: T[], level: 'h2' | 'h3'): string =>
    `<section class="class-${c}" aria-labelledby="alba-class-${c}">
<${level} id="alba-class-${c}">${LABELS[c].title} <span class="count">(${list.length})</span></${level}>
${list.length === 0 ? `<p class="muted">No ${LABELS[c].title.toLowerCase()} (${LABELS[c].blurb}).</p>` : list.map((t) => render(t, level === 'h2' ? 'h3' : 'h4')).join('\n')}
</section>`;
  const others = [...of('extra'), ...of('dev')];
  const hidden =
    others.length === 0
      ? ''
      : `<details class="others" id="alba-others">
<summary>Extra and development builds <span class="count">(${others.length})</span></summary>
${section('extra', of('extra'), 'h3')}
${section('dev', of('dev'), 'h3')}
</details>`;
  return `${tags.length === 0 ? `<p>No ${noun} yet.</p>` : section('release', of('release'), 'h2')}\n${hidden}`;
}

/** The link of a tag's heading: its deep link, named by the tag itself (two tags may share an anchor, never this text). */
export function tagLink(tag: string): string {
  return `<a href="#${escapeHtml(encodeURIComponent(anchorOf(tag)))}" aria-label="Link to ${escapeHtml(tag)}">${escapeHtml(tag)}</a>`;
}

function tagHeading(tag: string, pushed: Date | undefined, level: 'h3' | 'h4'): string {
  return `<${level} class="tag-name">${tagLink(tag)}</${level}>
<p class="meta">Pushed ${timeOf(pushed)}</p>`;
}

/** A table of one row per file or platform; on a phone each row becomes a block of `label: value` lines. */
function table(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const head = columns.map((c) => `<th scope="col">${c}</th>`).join('');
  const body = rows.map(
    (cells) => `<tr>\n${cells.map((cell, i) => `<td data-label="${columns[i] ?? ''}">${cell}</td>`).join('\n')}\n</tr>`,
  );
  return `<div class="scroll"><table>
<thead><tr>${head}</tr></thead>
<tbody>
${body.join('\n')}
</tbody>
</table></div>`;
}

/** A tag's block: its heading (a deep link), its push time, then `content`. */
function tagArticle(tag: string, pushed: Date | undefined, level: 'h3' | 'h4', content: string): string {
  return `${tagArticleOpen(tag)}
${tagHeading(tag, pushed, level)}
${content}
${TAG_ARTICLE_CLOSE}`;
}

/** The first line of a tag's block (its id is the tag's anchor). */
export function tagArticleOpen(tag: string): string {
  return `<article class="tag" id="${escapeHtml(anchorOf(tag))}">`;
}

/** The last line of a tag's block. */
export const TAG_ARTICLE_CLOSE = '</article>';

/** The page of one NAME: its tags by class. */
function tagsPage<T extends { tag: string; pushed?: Date }>(
  model: { name: string; root: string; tags: readonly T[] },
  kind: 'downloads' | 'images',
  intro: string,
  tagBlock: (t: T, level: 'h3' | 'h4') => string,
): string {
  const body = byClass(model.tags, tagBlock, kind === 'downloads' ? 'build' : 'image');
  return page({ title: `${model.name} — ${kind}`, root: model.root, heading: escapeHtml(model.name), intro, body });
}

/** What a static tag's block holds under its heading: the table of its files (a download link, size and SHA256 each). */
export function staticTagTable(t: Pick<StaticTagEntry, 'tag' | 'flavors'>): string {
  const rows = t.flavors.flatMap((f) =>
    f.files.map((file) => {
      const href = hrefOf(t.tag, ...f.platform.split('/'), ...file.path.split('/'));
      const label = `${f.platform}/${file.path}`;
      return [
        escapeHtml(f.platform),
        `<a class="download" href="${escapeHtml(href)}" download aria-label="Download ${escapeHtml(file.path)} for ${escapeHtml(f.platform)} (${escapeHtml(t.tag)})">${escapeHtml(file.path)}</a>`,
        sizeOf(file.size),
        `<code class="sha256" data-copy-label="SHA256 of ${escapeHtml(label)}">${escapeHtml(file.sha256)}</code>`,
      ];
    }),
  );
  return table(['Platform', 'File', 'Size', 'SHA256'], rows);
}

/**
 * The lines of an image tag's block under its heading that name it: the pull command and the
 * start of the line with its digest (the size, SBOM links and platforms follow).
 */
export function imageTagLines(name: string, tag: string, digest: string): string {
  const pull = `<p><code class="pull" data-copy-label="pull command of ${escapeHtml(tag)}">docker pull <span class="host">HOST</span>/${escapeHtml(name)}:${escapeHtml(tag)}</code></p>`;
  return `${pull}\n<p class="meta">Digest <code class="digest">${escapeHtml(digest)}</code> · `;
}

/** A static NAME's page (`PREFIX/NAME/index.html`, served at `PREFIX/NAME/`). */
export function renderStaticPage(model: StaticPage): string {
  const tagBlock = (t: StaticTagEntry, level: 'h3' | 'h4'): string => tagArticle(t.tag, t.pushed, level, staticTagTable(t));
  const intro = `<p class="muted">Static binaries. Tag list as JSON: <a href="../${escapeHtml(encodeURIComponent(model.name))}">${escapeHtml(model.name)}</a>.</p>`;
  return tagsPage(model, 'downloads', intro, tagBlock);
}

/** An image repository's page (`v2/NAME/index.html`, served at `v2/NAME/`: not part of the distribution API). */
export function renderImagePage(model: ImagePage): string {
  const sbomLinks = (sboms: readonly SbomLink[], what: string): string =>
    sboms.length === 0
      ? '<span class="muted">none</span>'
      : sboms
          .map(
            (s) => `<a href="blobs/${escapeHtml(s.digest)}" download aria-label="${s.format} SBOM of ${escapeHtml(what)}">${s.format}</a>`,
          )
          .join(' ');
  const tagBlock = (t: ImageTagEntry, level: 'h3' | 'h4'): string => {
    const rows = t.platforms.map((p) => [
      escapeHtml(p.platform),
      `<code class="digest">${escapeHtml(p.digest)}</code>`,
      sizeOf(p.size),
      sbomLinks(p.sboms, `${t.tag} ${p.platform}`),
    ]);
    const meta = `${sizeOf(t.size)} compressed · index SBOM: ${sbomLinks(t.sboms, `${t.tag} (index)`)}</p>`;
    return tagArticle(
      t.tag,
      t.pushed,
      level,
      `${imageTagLines(model.name, t.tag, t.digest)}${meta}\n${table(['Platform', 'Digest', 'Size', 'SBOM'], rows)}`,
    );
  };
  const intro = `<p class="muted">Container image. <span class="host">HOST</span> is the host this page is served from.</p>`;
  return tagsPage(model, 'images', intro, tagBlock);
}

/** The root page: the static names and image repositories of the bucket, with their latest release. */
export function renderRootPage(model: RootPage): string {
  const list = (entries: readonly RootEntry[], kind: string): string =>
    entries.length === 0
      ? `<p class="muted">No ${kind}.</p>`
      : `<ul class="entries">
${entries
  .map(
    (e) =>
      `<li><a href="${escapeHtml(e.href)}">${escapeHtml(e.name)}</a> <span class="meta">${
        e.latest === undefined
          ? 'no release yet'
          : `latest release <strong>${escapeHtml(e.latest.tag)}</strong>${e.latest.pushed === undefined ? '' : `, ${timeOf(e.latest.pushed)}`}`
      } · ${plural(e.counts.release, 'release')}, ${plural(e.counts.extra + e.counts.dev, 'other build')}</span></li>`,
  )
  .join('\n')}
</ul>`;
  const body = `<section aria-labelledby="downloads"><h2 id="downloads">Downloads</h2>
${list(model.downloads, 'static binaries')}
</section>
<section aria-labelledby="images"><h2 id="images">Container images</h2>
${list(model.images, 'container images')}
</section>`;
  return page({ title: model.title, root: '', heading: escapeHtml(model.title), intro: '', body });
}
