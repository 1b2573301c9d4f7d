/**
 * What the maintainer scripts alba never runs would have done, read from the packages.
 *
 * alba runs no maintainer script (no chroot, no emulation of foreign archs). Instead it reads:
 * - `update-alternatives --install LINK NAME PATH PRIORITY [--slave LINK NAME PATH]…` lines of a
 *   postinst whose every word is literal (no `$`, no backquote): nodejs's `js` alternative;
 * - Debian's `.jinfo` files (`/usr/lib/jvm/.<name>.jinfo`, shipped by the JREs and JDKs, whose
 *   postinst registers the same tools in a loop alba cannot read): each `hl|jre|jdk|jdkhl TOOL PATH`
 *   line is the alternative `/usr/bin/TOOL` of priority `priority=`, with the man page slave
 *   `/usr/share/man/man1/TOOL.1.gz` when the JVM ships `man/man1/TOOL.1.gz`, as the postinst does;
 * - every postinst, for the commands it calls, so a build can say which effects it made
 *   (alternatives, the CA bundle, the Java trust store), which do not matter in a container, and
 *   which it did not make (a warning at build time and a comment on the package in the SBOM).
 * An alternative is made only when its target is in the image (update-alternatives refuses a
 * missing one too); slaves whose target is missing are skipped, as update-alternatives does.
 */

/** One alternative a package registers. */
export interface Alternative {
  /** The alternative's name (`java`): `/etc/alternatives/<name>`. */
  name: string;
  /** The generic path, absolute (`/usr/bin/java`). */
  link: string;
  /** The target, absolute (`/usr/lib/jvm/java-17-openjdk-amd64/bin/java`). */
  path: string;
  priority: number;
  slaves: { link: string; name: string; path: string }[];
  /** The package that registers it. */
  from: string;
}

/** What happened to one kind of action of a postinst. */
export type ActionOutcome = 'made' | 'not-needed' | 'not-made';

/** One kind of action a postinst performs, and what alba did about it. */
export interface ScriptAction {
  /** What the script does, e.g. `update-alternatives`, `py3compile`, `mkdir /etc/.java/.systemPrefs`. */
  action: string;
  outcome: ActionOutcome;
  /** Why, in a few words. */
  note: string;
}

/** What the build keeps of a package's maintainer scripts and alternative sources (cached with its layer). */
export interface MaintainerFacts {
  /** Kinds of actions of the postinst, in a fixed order (empty when it has none, or no postinst). */
  actions: ScriptAction[];
  /** Alternatives of literal `update-alternatives --install` lines whose target the package ships. */
  alternatives: Alternative[];
  /** `.jinfo` files of the package: layer path and text. */
  jinfo: { path: string; text: string }[];
  /** Paths (absolute) under /usr/lib/jvm that may be alternative targets (tools, jexec, man pages). */
  jvmFiles: string[];
}

/** True for a `.jinfo` file: `usr/lib/jvm/.<name>.jinfo`. */
export function isJinfoPath(path: string): boolean {
  return /^usr\/lib\/jvm\/\.[^/]+\.jinfo$/.test(path);
}

/** True for a JVM file an alternative may point at (bin/*, lib/jexec, lib/jar.binfmt, man/man1/*). */
export function isJvmAlternativeTarget(path: string): boolean {
  return /^usr\/lib\/jvm\/[^/]+\/(bin\/[^/]+|lib\/jexec|lib\/jar\.binfmt|man\/man1\/[^/]+)$/.test(path);
}

/** A shell script with its backslash-newline continuations joined and comments dropped. */
function logicalLines(script: string): string[] {
  return script
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter((l) => l !== '');
}

/**
 * The `update-alternatives --install` calls of a script whose words are all literal; `dynamic`
 * counts the calls that use variables or command substitution (alba cannot know their values).
 */
export function staticAlternatives(script: string, from: string): { alternatives: Alternative[]; dynamic: number } {
  const alternatives: Alternative[] = [];
  let dynamic = 0;
  for (const line of logicalLines(script)) {
    for (const call of line.split(/;|&&|\|\|/)) {
      const words = call.trim().split(/\s+/);
      const at = words.indexOf('update-alternatives');
      if (at === -1 || !words.includes('--install')) continue;
      const args = words.slice(words.indexOf('--install', at) + 1);
      const parsed = parseInstall(args, from);
      if (parsed === undefined) dynamic++;
      else alternatives.push(parsed);
    }
  }
  return { alternatives, dynamic };
}

function parseInstall(args: string[], from: string): Alternative | undefined {
  if (args.some((w) => /[$`"'*?]/.test(w))) return undefined;
  const [link, name, path, priority, ...rest] = args;
  if (link === undefined || name === undefined || path === undefined || priority === undefined) return undefined;
  if (!link.startsWith('/') || !path.startsWith('/') || !/^-?\d+$/.test(priority)) return undefined;
  const slaves: Alternative['slaves'] = [];
  for (let i = 0; i < rest.length; i += 4) {
    const [flag, sLink, sName, sPath] = rest.slice(i, i + 4);
    if (flag !== '--slave' || sLink === undefined || sName === undefined || sPath === undefined) return undefined;
    if (!sLink.startsWith('/') || !sPath.startsWith('/')) return undefined;
    slaves.push({ link: sLink, name: sName, path: sPath });
  }
  return { name, link, path, priority: Number(priority), slaves, from };
}

/** The alternatives a `.jinfo` file describes (see the module comment). */
export function jinfoAlternatives(text: string, from: string): Alternative[] {
  const priority = Number(/^priority=(\d+)\s*$/m.exec(text)?.[1] ?? NaN);
  if (!Number.isInteger(priority)) return [];
  const out: Alternative[] = [];
  for (const line of text.split('\n')) {
    const m = /^(hl|jre|jdk|jdkhl)\s+([A-Za-z0-9._+-]+)\s+(\/usr\/lib\/jvm\/[^\s]+)\s*$/.exec(line);
    if (m === null) continue;
    const [, , tool, path] = m as unknown as [string, string, string, string];
    const base = path.split('/').slice(0, -2).join('/');
    out.push({
      name: tool,
      link: `/usr/bin/${tool}`,
      path,
      priority,
      slaves: [{ link: `/usr/share/man/man1/${tool}.1.gz`, name: `${tool}.1.gz`, path: `${base}/man/man1/${tool}.1.gz` }],
      from,
    });
  }
  return out;
}

/** Commands of postinsts and what alba does about them; the first match of a line wins. */
const KNOWN: readonly { re: RegExp; action: string; outcome: ActionOutcome; note: string }[] = [
  {
    re: /\bupdate-ca-certificates\b(?!-java)/,
    action: 'update-ca-certificates',
    outcome: 'made',
    note: 'alba assembles /etc/ssl/certs/ca-certificates.crt',
  },
  {
    re: /\bupdate-ca-certificates-java\b|\bca-certificates-java\.jar\b/,
    action: 'update-ca-certificates-java',
    outcome: 'made',
    note: 'alba writes /etc/ssl/certs/java/cacerts when a JRE is in the image',
  },
  {
    re: /\bpy3?compile\b|\bpy_compile\.py\b/,
    action: 'byte-compile Python modules',
    outcome: 'not-made',
    note: 'no .pyc: Python compiles in memory what it imports (docs/recipe.md#python)',
  },
  {
    re: /\bldconfig\b/,
    action: 'ldconfig',
    outcome: 'not-needed',
    note: 'no /etc/ld.so.cache: the loader searches the standard directories (docs/recipe.md#ldsocache)',
  },
  {
    re: /\b(update-binfmts|deb-systemd-helper|deb-systemd-invoke|systemctl|invoke-rc\.d|update-rc\.d|dpkg-maintscript-helper|dpkg-trigger|mountpoint|update-mime|install-info|update-menus|debconf|db_get|db_input)\b/,
    action: 'services, triggers, binfmt, upgrades',
    outcome: 'not-needed',
    note: 'a container starts no services and is never upgraded in place',
  },
  {
    re: /\b(adduser|addgroup|useradd|groupadd)\b/,
    action: 'create accounts',
    outcome: 'not-made',
    note: 'accounts come from the recipe (`accounts:`)',
  },
  { re: /\bfc-cache\b/, action: 'fc-cache', outcome: 'not-made', note: 'no fontconfig cache: fontconfig scans the fonts at first use' },
  {
    re: /(^|\|\||&&|;|\bthen|\bdo)\s*(mkdir|touch|chmod|chown|ln|cp|mv|rm -f \/etc|cat\b.*>)\s/,
    action: 'create or change files',
    outcome: 'not-made',
    note: 'alba writes only what it can derive from the packages',
  },
];

/** A line that only tests whether a command exists (`if which py3compile >/dev/null; then`). */
function isGuard(line: string): boolean {
  return /^\s*(if|elif)\s+(which|command -v|type)\b/.test(line);
}

/** Packages whose postinst file changes do not matter in an image alba builds, and why. */
const FILE_ACTIONS_NOT_NEEDED: Record<string, string> = {
  'ca-certificates': 'its configuration only drives update-ca-certificates, whose bundle alba assembles',
  netbase: 'container runtimes provide /etc/hosts; /etc/networks and the sysctl note serve hosts, not containers',
};

/**
 * The kinds of actions of a postinst, each once, in KNOWN's order (alternatives first). An
 * `update-alternatives --install` is `made` when its words are literal or `jinfoMade` (the
 * package's .jinfo describes it), else `not-made`.
 */
export function postinstActions(script: string, jinfoMade: boolean, pkg = ''): ScriptAction[] {
  const lines = logicalLines(script);
  const out: ScriptAction[] = [];
  const { dynamic, alternatives } = staticAlternatives(script, '');
  if (alternatives.length > 0 || dynamic > 0) {
    const made = dynamic === 0 || jinfoMade;
    out.push({
      action: 'update-alternatives',
      outcome: made ? 'made' : 'not-made',
      note: made ? 'alba writes the links (/etc/alternatives)' : 'its arguments are computed by the script and the package has no .jinfo',
    });
  }
  const files = new Set<string>();
  for (const known of KNOWN) {
    const hits = lines.filter((l) => known.re.test(l) && !isGuard(l));
    if (hits.length === 0) continue;
    if (known.action === 'create or change files') {
      for (const l of hits) {
        for (const word of l
          .replace(/["']/g, '')
          .replace(/\$\{?DPKG_ROOT\}?/g, '')
          .split(/[\s;|&<>()]+/)) {
          if (/^\/(etc|usr|var)\/[A-Za-z0-9._+/-]+$/.test(word)) files.add(word.replace(/\/$/, ''));
        }
      }
      const override = FILE_ACTIONS_NOT_NEEDED[pkg];
      const action = files.size === 0 ? known.action : `${known.action} (${[...files].sort().join(' ')})`;
      out.push(
        override === undefined ? { action, outcome: known.outcome, note: known.note } : { action, outcome: 'not-needed', note: override },
      );
      continue;
    }
    out.push({ action: known.action, outcome: known.outcome, note: known.note });
  }
  return out;
}

/**
 * The facts of one package: its postinst's actions and literal alternatives (kept when the
 * package ships their target), its .jinfo files and JVM files.
 */
export function maintainerFacts(
  pkg: string,
  postinst: string | undefined,
  jinfo: { path: string; text: string }[],
  shipped: ReadonlySet<string>,
): MaintainerFacts {
  const jvmFiles = [...shipped]
    .filter(isJvmAlternativeTarget)
    .map((p) => `/${p}`)
    .sort();
  const literal = postinst === undefined ? [] : staticAlternatives(postinst, pkg).alternatives;
  const alternatives = literal
    .filter((a) => shipped.has(a.path.slice(1)))
    .map((a) => ({ ...a, slaves: a.slaves.filter((s) => shipped.has(s.path.slice(1))) }));
  const actions = postinst === undefined ? [] : postinstActions(postinst, jinfo.length > 0, pkg);
  return { actions, alternatives, jinfo, jvmFiles };
}

/** True when the facts say nothing (most packages): not recorded. */
export function isEmptyFacts(f: MaintainerFacts): boolean {
  return f.actions.length === 0 && f.alternatives.length === 0 && f.jinfo.length === 0 && f.jvmFiles.length === 0;
}

/** A symlink the alternatives layer holds (layer path, absolute target). */
export interface AlternativeLink {
  path: string;
  target: string;
}

/**
 * The links update-alternatives would make in auto mode for the image's packages: for each name,
 * the registered alternative of highest priority whose target is in the image (ties: the smaller
 * target path, so the choice never depends on package order); `LINK → /etc/alternatives/NAME →
 * PATH`, and the same for each slave whose target is in the image. Sorted by path.
 */
export function chooseAlternatives(facts: readonly { name: string; facts: MaintainerFacts }[]): {
  links: AlternativeLink[];
  chosen: Alternative[];
} {
  const present = new Set(facts.flatMap((f) => f.facts.jvmFiles));
  const candidates = facts.flatMap(({ name, facts: f }) => [
    ...f.alternatives,
    ...f.jinfo
      .flatMap((j) => jinfoAlternatives(j.text, name))
      .filter((a) => present.has(a.path))
      .map((a) => ({ ...a, slaves: a.slaves.filter((s) => present.has(s.path)) })),
  ]);
  const byName = new Map<string, Alternative>();
  for (const a of candidates) {
    const best = byName.get(a.name);
    if (best === undefined || a.priority > best.priority || (a.priority === best.priority && a.path < best.path)) byName.set(a.name, a);
  }
  const chosen = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const links = new Map<string, string>();
  for (const a of chosen) {
    links.set(a.link.slice(1), `/etc/alternatives/${a.name}`);
    links.set(`etc/alternatives/${a.name}`, a.path);
    for (const s of a.slaves) {
      links.set(s.link.slice(1), `/etc/alternatives/${s.name}`);
      links.set(`etc/alternatives/${s.name}`, s.path);
    }
  }
  return { links: [...links.entries()].map(([path, target]) => ({ path, target })).sort((a, b) => (a.path < b.path ? -1 : 1)), chosen };
}
