/**
 * The files alba keeps in `_alba/` beside its pages: the stylesheet, the page script (fills in the
 * host of pull commands, adds copy buttons, opens the hidden builds for a deep link) and the
 * embeddable ES module that renders a `df-dist-v1/NAME` list into an element of another site.
 * Files, not inline code, so that a strict CSP (`default-src 'self'`) holds. The pages work
 * without the script.
 */

const CSS = `:root { color-scheme: light dark; --fg: #1b1b1f; --bg: #fdfdfd; --muted: #5c5f66; --line: #d9dbe0; --accent: #0b57d0; --code: #f1f3f6; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e7ea; --bg: #15171a; --muted: #a3a7ae; --line: #34383e; --accent: #8ab4f8; --code: #22262b; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 1rem; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, summary:focus-visible, button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
h1 { font-size: 1.8rem; margin: .5rem 0; word-break: break-word; }
h2 { font-size: 1.35rem; margin-top: 2rem; }
h3, h4 { font-size: 1.1rem; margin: 1.5rem 0 .25rem; word-break: break-word; }
.muted, .meta, footer { color: var(--muted); }
.meta { margin: .25rem 0; font-size: .9rem; }
.count { color: var(--muted); font-weight: normal; }
article.tag { border-top: 1px solid var(--line); padding-top: .25rem; }
article.tag:target { background: color-mix(in srgb, var(--accent) 10%, transparent); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
code { font: .85rem ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; background: var(--code); padding: .1rem .25rem; border-radius: 3px; word-break: break-all; user-select: all; }
button.copy { margin-left: .4rem; font: inherit; font-size: .8rem; padding: .1rem .5rem; border: 1px solid var(--line); border-radius: 4px; background: var(--code); color: var(--fg); cursor: pointer; }
details.others { margin-top: 2rem; border: 1px solid var(--line); border-radius: 6px; padding: .5rem 1rem; }
details.others > summary { cursor: pointer; font-weight: 600; padding: .25rem 0; }
ul.entries { padding-left: 1.2rem; }
ul.entries li { margin: .4rem 0; }
footer { margin-top: 3rem; font-size: .85rem; }
@media (max-width: 40rem) {
  body { padding: .75rem; }
  table, thead, tbody, tr, td { display: block; width: 100%; }
  thead { position: absolute; left: -10000px; }
  tr { border-bottom: 1px solid var(--line); padding: .4rem 0; }
  td { border: 0; padding: .1rem 0; }
  td::before { content: attr(data-label) ": "; color: var(--muted); }
}
`;

const PAGE_JS = `// alba: progressive enhancement of its pages (they work without it).
for (const el of document.querySelectorAll('.host')) el.textContent = location.host;
function copyButton(code) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'copy';
  button.textContent = 'Copy';
  button.setAttribute('aria-label', 'Copy ' + (code.dataset.copyLabel || 'text'));
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(code.textContent);
      button.textContent = 'Copied';
    } catch {
      const range = document.createRange();
      range.selectNodeContents(code);
      const selection = getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      button.textContent = 'Selected';
    }
    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  });
  code.after(button);
}
for (const code of document.querySelectorAll('code[data-copy-label]')) copyButton(code);
function reveal() {
  const id = decodeURIComponent(location.hash.slice(1));
  const target = id === '' ? null : document.getElementById(id);
  const details = target && target.closest('details');
  if (details && !details.open) {
    details.open = true;
    target.scrollIntoView();
  }
}
addEventListener('hashchange', reveal);
reveal();
`;

const EMBED_JS = `// alba: renders the static builds of one df-dist-v1 NAME into an element of your page.
//   <div data-alba-downloads="https://dl.example.org/df-dist-v1/NAME"></div>
//   <script type="module" src="https://dl.example.org/_alba/embed.js"></script>
// or: import { renderDownloads } from 'https://dl.example.org/_alba/embed.js';
//     await renderDownloads(element, 'https://dl.example.org/df-dist-v1/NAME');
// The bucket must allow your site's origin to GET and HEAD (CORS; see alba's docs/s3.md).
const RELEASE = /^v?(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)$/;
const SEMVER = /^v?(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$/;

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function size(bytes) {
  return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + ' MB' : (bytes / 1024).toFixed(1) + ' kB';
}

export async function loadDownloads(url) {
  const base = new URL(url, location.href);
  const index = await fetch(base).then((r) => (r.ok ? r.json() : Promise.reject(new Error(base + ': HTTP ' + r.status))));
  const folder = new URL(base.pathname.split('/').pop() + '/', base);
  const tags = await Promise.all(index.tags.map(async (tag) => {
    const res = await fetch(new URL(encodeURIComponent(tag), folder));
    if (!res.ok) return undefined;
    const doc = await res.json();
    const modified = res.headers.get('Last-Modified');
    return {
      tag,
      pushed: modified ? new Date(modified) : undefined,
      kind: RELEASE.test(tag) ? 'release' : SEMVER.test(tag) ? 'extra' : 'dev',
      files: doc.flavors.flatMap((f) => {
        const platform = [f.platform.os, f.platform.architecture, f.platform.variant].filter(Boolean).join('/');
        return f.resources.map((r) => ({ platform, path: r.path, size: r.size, sha256: r.sha256,
          href: new URL([tag, ...platform.split('/'), ...r.path.split('/')].map(encodeURIComponent).join('/'), folder).href }));
      }),
    };
  }));
  // newest first by push time; the same second: the higher version first
  return tags.filter(Boolean).sort((a, b) => (b.pushed?.getTime() ?? 0) - (a.pushed?.getTime() ?? 0) || b.tag.localeCompare(a.tag, 'en', { numeric: true }));
}

function tagBlock(t) {
  const rows = t.files.map((f) => el('tr', {},
    el('td', {}, f.platform),
    el('td', {}, el('a', { href: f.href, download: '' }, f.path)),
    el('td', {}, size(f.size)),
    el('td', {}, el('code', {}, f.sha256))));
  return el('div', { class: 'alba-tag', id: 'alba-' + t.tag },
    el('h4', {}, t.tag),
    el('p', {}, t.pushed ? 'Pushed ' + t.pushed.toISOString().slice(0, 10) : ''),
    el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Platform'), el('th', {}, 'File'), el('th', {}, 'Size'), el('th', {}, 'SHA256'))), el('tbody', {}, ...rows)));
}

export async function renderDownloads(element, url) {
  const tags = await loadDownloads(url);
  const releases = tags.filter((t) => t.kind === 'release');
  const others = tags.filter((t) => t.kind !== 'release');
  const parts = [el('div', { class: 'alba-releases' }, ...(releases.length ? releases.map(tagBlock) : [el('p', {}, 'No release yet.')]))];
  if (others.length) parts.push(el('details', { class: 'alba-others' }, el('summary', {}, 'Extra and development builds (' + others.length + ')'), ...others.map(tagBlock)));
  element.replaceChildren(...parts);
}

for (const element of document.querySelectorAll('[data-alba-downloads]')) {
  renderDownloads(element, element.dataset.albaDownloads).catch((err) => {
    element.textContent = 'Downloads could not be loaded: ' + err.message;
  });
}
`;

/** A favicon in the bucket: without one, browsers ask for /favicon.ico and log the 403/404. */
const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M2 9l6 4 6-4M8 2v10" fill="none" stroke="#0b57d0" stroke-width="2"/></svg>
`;

/** The asset files, by name under `_alba/`, with their Content-Type. */
export const ASSETS: readonly { name: string; contentType: string; body: string }[] = [
  { name: 'site.css', contentType: 'text/css; charset=utf-8', body: CSS },
  { name: 'page.js', contentType: 'text/javascript; charset=utf-8', body: PAGE_JS },
  { name: 'embed.js', contentType: 'text/javascript; charset=utf-8', body: EMBED_JS },
  { name: 'icon.svg', contentType: 'image/svg+xml', body: ICON },
];
