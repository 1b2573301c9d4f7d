import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AlbaError } from '../errors.js';
import { isMissingFile, readSmallFile } from '../util/regular-file.js';
import { field, parseDeb822 } from './deb822.js';

/** One `deb` repository configured on the host. */
export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
  /** Keyring path(s) or inline key from `signed-by`/`Signed-By`, as written. */
  signedBy?: string;
  /** File the entry was read from. */
  file: string;
}

/** The host's apt sources and every file they were read from (including files without a usable entry). */
export interface HostAptSources {
  files: string[];
  sources: AptSource[];
}

/** Parses apt source files: `*.sources` in deb822 form, anything else in one-line form. Only `deb` entries are kept. */
export function parseAptSources(files: ReadonlyArray<{ path: string; text: string }>): AptSource[] {
  return files.flatMap((f) => (f.path.endsWith('.sources') ? parseDeb822Sources(f.text, f.path) : parseOneLineSources(f.text, f.path)));
}

/** Reads `sources.list`, `sources.list.d/*.list` and `sources.list.d/*.sources` under `root`. */
export async function readHostAptSources(root = '/etc/apt'): Promise<HostAptSources> {
  const dir = join(root, 'sources.list.d');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.list') || n.endsWith('.sources')).sort();
  const candidates = [join(root, 'sources.list'), ...names.map((n) => join(dir, n))];
  const files: Array<{ path: string; text: string }> = [];
  for (const path of candidates) {
    // a missing one is none; one that is not a regular file (a FIFO, /dev/zero) or over 16 MiB is
    // APT_SOURCES, never waited on or read without end
    let text: string;
    try {
      text = (
        await readSmallFile(
          path,
          16 * 1024 * 1024,
          (why, cause) =>
            new AlbaError('APT_SOURCES', `${path} ${why}`, {
              hint: 'an apt source list is a small text file: fix or remove it',
              ...(cause === undefined ? {} : { cause }),
            }),
        )
      ).toString('utf8');
    } catch (err) {
      if (isMissingFile(err)) continue;
      throw err;
    }
    files.push({ path, text });
  }
  return { files: files.map((f) => f.path), sources: parseAptSources(files) };
}

function parseOneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^(\S+)\s+(?:\[([^\]]*)\]\s*)?(\S+)\s+(\S+)((?:\s+\S+)*)$/.exec(line);
    if (m === null || m[1] !== 'deb') continue;
    const [, , options = '', uri, suite, rest = ''] = m;
    const signedBy = /(?:^|\s)signed-by=(\S+)/.exec(options)?.[1];
    const entry: AptSource = { uri: uri!, suites: [suite!], components: rest.trim().split(/\s+/).filter(Boolean), file };
    out.push(signedBy === undefined ? entry : { ...entry, signedBy });
  }
  return out;
}

function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of parseDeb822(text)) {
    const words = (name: string): string[] => (field(stanza, name) ?? '').split(/\s+/).filter(Boolean);
    if (!words('Types').includes('deb')) continue;
    if ((field(stanza, 'Enabled') ?? 'yes').trim().toLowerCase() === 'no') continue;
    const signedBy = field(stanza, 'Signed-By')?.trim();
    for (const uri of words('URIs')) {
      const entry: AptSource = { uri, suites: words('Suites'), components: words('Components'), file };
      out.push(signedBy === undefined || signedBy === '' ? entry : { ...entry, signedBy });
    }
  }
  return out;
}
