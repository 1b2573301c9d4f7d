import type { AptSource, HostAptSources } from '../debian/apt-sources.js';
import { AlbaError, redactUrl } from '../errors.js';
import { httpUrl } from '../http/urls.js';
import type { SourceSpec } from './types.js';

/** One `--mirror` option: the host's apt sources, a base URL for every archive, or a URL for one archive. */
export type MirrorOption = { kind: 'apt' } | { kind: 'base'; url: string } | { kind: 'archive'; archive: string; url: string };

/** Where one suite of one source is fetched from; `source.url` stays the canonical URL recorded in the lock. */
export interface FetchTarget {
  source: SourceSpec;
  suite: string;
  fetchUrl: string;
}

/** Parses a `--mirror` value: `apt`, `URL`, or `ARCHIVE=URL` (e.g. `debian-security=http://mirror/debian-security`). */
export function parseMirrorOption(text: string): MirrorOption {
  if (text === 'apt') return { kind: 'apt' };
  const archive = /^([a-z0-9][a-z0-9-]*)=(.*)$/.exec(text);
  const url = checkedUrl(archive === null ? text : archive[2]!, archive === null ? '' : `${archive[1]!}=`);
  return archive === null ? { kind: 'base', url } : { kind: 'archive', archive: archive[1]!, url };
}

/**
 * Decides where each suite of each source is fetched from. Only snapshot sources (those with an `archive`)
 * are mirrored: `ARCHIVE=URL` first, then a base `URL` (`URL/<archive>`), then `apt` (the host source serving
 * the suite with all the source's components). Other sources are fetched from their own URL.
 */
export function applyMirrors(sources: readonly SourceSpec[], mirrors: readonly MirrorOption[], host?: HostAptSources): FetchTarget[] {
  const { base, byArchive, apt } = mirrorTable(mirrors);
  if (apt && host === undefined) throw new AlbaError('APT_SOURCES', '--mirror apt was given but the host apt sources were not read');
  const targets: FetchTarget[] = [];
  const unmatched: string[] = [];
  for (const source of sources) {
    for (const suite of source.suites) {
      const archive = source.archive;
      let fetchUrl: string | undefined = source.url;
      if (archive !== undefined) {
        const byName = byArchive.get(archive);
        if (byName !== undefined) fetchUrl = byName;
        else if (base !== undefined) fetchUrl = `${base}/${archive}`;
        else if (apt) {
          const match = hostSourceFor(host!.sources, source, suite);
          if (typeof match === 'string') {
            unmatched.push(match);
            continue;
          }
          fetchUrl = trimSlashes(match.uri);
        }
      }
      targets.push({ source, suite, fetchUrl });
    }
  }
  if (unmatched.length > 0) {
    const read = host!.files.length === 0 ? 'no apt source files were found' : `read ${host!.files.join(', ')}`;
    throw new AlbaError('APT_SOURCES', `--mirror apt: ${unmatched.join('; ')} (${read})`, {
      hint: 'add a deb entry for that suite to the host apt sources, or give --mirror URL instead of --mirror apt',
    });
  }
  return targets;
}

function mirrorTable(mirrors: readonly MirrorOption[]): { base?: string; byArchive: Map<string, string>; apt: boolean } {
  let base: string | undefined;
  const byArchive = new Map<string, string>();
  for (const m of mirrors) {
    if (m.kind === 'base') {
      if (base !== undefined && base !== m.url) throw usage(`two base mirrors given: ${redactUrl(base)} and ${redactUrl(m.url)}`);
      base = m.url;
    } else if (m.kind === 'archive') {
      const known = byArchive.get(m.archive);
      if (known !== undefined && known !== m.url)
        throw usage(`two mirrors given for archive ${m.archive}: ${redactUrl(known)} and ${redactUrl(m.url)}`);
      byArchive.set(m.archive, m.url);
    }
  }
  const apt = mirrors.some((m) => m.kind === 'apt');
  return base === undefined ? { byArchive, apt } : { base, byArchive, apt };
}

/** The host source serving `suite` with every component of `source` (preferring one named after its archive), or why none does. */
function hostSourceFor(host: readonly AptSource[], source: SourceSpec, suite: string): AptSource | string {
  const serving = host.filter((h) => /^https?:\/\//.test(h.uri) && h.suites.includes(suite));
  if (serving.length === 0) return `no host apt source serves suite ${suite} (of ${redactUrl(source.url)})`;
  const covering = serving.filter((h) => source.components.every((c) => h.components.includes(c)));
  if (covering.length === 0) {
    const offered = [...new Set(serving.flatMap((h) => h.components))].join(' ');
    return `host apt sources serving suite ${suite} offer components ${offered || '(none)'} but ${redactUrl(source.url)} needs ${source.components.join(' ')}`;
  }
  const named = covering.find((h) => trimSlashes(h.uri).split('/').pop() === source.archive);
  return named ?? covering[0]!;
}

/** `url` checked as an http(s) URL; `prefix` is what came before it in the option (`ARCHIVE=`, or nothing). */
function checkedUrl(url: string, prefix: string): string {
  if (httpUrl(url) === undefined) {
    throw usage(`--mirror ${prefix}${redactUrl(url)} is not apt, an http(s) URL, or ARCHIVE=URL`);
  }
  return trimSlashes(url);
}

function trimSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

function usage(message: string): AlbaError {
  return new AlbaError('USAGE', message, { hint: 'give --mirror apt, --mirror URL (base of every archive) or --mirror ARCHIVE=URL' });
}
