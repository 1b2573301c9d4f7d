import { redactUrl } from '../errors.js';
import type { SourceSpec } from './types.js';
import { expandSnapshot, parseSnapshotUrl, snapshotTimestampProblem } from './snapshot.js';
import { Unique } from './unique.js';
import type { Located, YamlReader } from './yaml-reader.js';

const SUITE = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
const COMPONENT = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
const DIST = /^[a-z][a-z0-9-]*$/;

/** The located `snapshot`, `dist` and `sources` keys of a recipe. */
export interface SourceKeys {
  snapshot?: Located | undefined;
  dist?: Located | undefined;
  sources?: Located | undefined;
}

/** Validates the sources: `snapshot` + `dist` expanded to snapshot.debian.org, then explicit `sources`. */
export function readSources(r: YamlReader, keys: SourceKeys, root: Located): { sources: SourceSpec[]; snapshot?: string } {
  const snapshot = keys.snapshot && readTimestamp(r, keys.snapshot);
  const dist = keys.dist && readDist(r, keys.dist);
  if (keys.dist !== undefined && keys.snapshot === undefined) {
    r.problem(keys.dist, 'dist needs snapshot', 'add snapshot: YYYYMMDDTHHMMSSZ, or list the repositories under sources:');
  }
  if (keys.snapshot !== undefined && keys.dist === undefined) {
    r.problem(keys.snapshot, 'snapshot needs dist', 'add the Debian release, e.g. dist: bookworm');
  }
  if (keys.snapshot === undefined && keys.sources === undefined) {
    r.issues.at(
      root.at,
      'no sources: the recipe has neither snapshot + dist nor sources',
      'add snapshot: 20250520T000000Z and dist: bookworm, or a sources: list',
    );
  }
  const expanded = snapshot !== undefined && dist !== undefined ? expandSnapshot(snapshot, dist) : [];
  const explicit = keys.sources === undefined ? [] : readExplicit(r, keys.sources, expanded);
  return snapshot === undefined ? { sources: [...expanded, ...explicit] } : { sources: [...expanded, ...explicit], snapshot };
}

function readTimestamp(r: YamlReader, value: Located): string | undefined {
  const ts = r.text(value);
  if (ts === undefined) return undefined;
  const problem = snapshotTimestampProblem(ts);
  if (problem !== undefined) {
    r.problem(value, problem, 'pick a time listed on https://snapshot.debian.org/');
    return undefined;
  }
  return ts;
}

function readDist(r: YamlReader, value: Located): string | undefined {
  const dist = r.string(value);
  if (dist !== undefined && !DIST.test(dist)) {
    r.problem(value, `"${dist}" is not a Debian release name`, 'e.g. bookworm, trixie, sid');
    return undefined;
  }
  return dist;
}

function readExplicit(r: YamlReader, value: Located, expanded: readonly SourceSpec[]): SourceSpec[] {
  const items = r.list(value);
  if (items === undefined) return [];
  if (items.length === 0) r.problem(value, 'must list at least one source', 'remove sources: to use only snapshot + dist');
  const urls = new Unique<string>(r, 'source url');
  const out: SourceSpec[] = [];
  for (const item of items) {
    const fields = r.map(item, ['url', 'suites', 'components']);
    if (fields === undefined) continue;
    const urlAt = fields.get('url');
    const suitesAt = fields.get('suites');
    if (urlAt === undefined) r.problem(item, 'missing required key "url"');
    if (suitesAt === undefined) r.problem(item, 'missing required key "suites"');
    const url = urlAt && readUrl(r, urlAt);
    if (url !== undefined && urlAt !== undefined) {
      if (expanded.some((s) => s.url === url)) r.problem(urlAt, `"${url}" is already a source through snapshot + dist`);
      else urls.check(url, urlAt);
    }
    const suites = suitesAt && names(r, suitesAt, SUITE, 'suite');
    const componentsAt = fields.get('components');
    const components = componentsAt === undefined ? ['main'] : names(r, componentsAt, COMPONENT, 'component');
    if (url === undefined || suites === undefined || components === undefined) continue;
    const snapshot = parseSnapshotUrl(url);
    out.push(
      snapshot === undefined
        ? { url, suites, components, snapshot: false }
        : { url, suites, components, archive: snapshot.archive, snapshot: true },
    );
  }
  return out;
}

function readUrl(r: YamlReader, value: Located): string | undefined {
  const text = r.string(value);
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    r.problem(value, `"${redactUrl(text)}" is not a URL`, 'write the repository root, e.g. https://ftp.example.org/debian');
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    r.problem(value, `"${redactUrl(text)}" must be an http or https URL`);
    return undefined;
  }
  if (url.username !== '' || url.password !== '') {
    r.problem(
      value,
      `"${redactUrl(text)}" holds a user name or password`,
      'a source URL is written into the lock, the SBOMs and the provenance: give a private archive with its credentials as --mirror URL (used to fetch, never recorded), or through the apt sources of --mirror apt',
    );
    return undefined;
  }
  return text.replace(/\/+$/, '');
}

function names(r: YamlReader, value: Located, pattern: RegExp, what: string): string[] | undefined {
  const items = r.stringList(value);
  if (items === undefined) return undefined;
  if (items.length === 0) {
    r.problem(value, `must list at least one ${what}`);
    return undefined;
  }
  const seen = new Unique<string>(r, what);
  let ok = true;
  for (const item of items) {
    if (!pattern.test(item.value)) {
      r.problem(item.at, `"${item.value}" is not a valid ${what} name`);
      ok = false;
    } else if (!seen.check(item.value, item.at)) ok = false;
  }
  return ok ? items.map((i) => i.value) : undefined;
}
