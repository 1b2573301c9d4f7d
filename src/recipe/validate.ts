import { resolve } from 'node:path';
import { isMap, isScalar, isSeq } from 'yaml';
import { ARCHS, findArch, type TargetArch } from '../debian/arch.js';
import type { PackageRequest } from '../debian/types.js';
import type { Recipe } from './types.js';
import { didYouMean } from './suggest.js';
import { Unique } from './unique.js';
import { readAccounts } from './validate-accounts.js';
import { readImageConfig } from './validate-config.js';
import { readFiles } from './validate-files.js';
import { readPaths } from './validate-paths.js';
import { readSources } from './validate-sources.js';
import { localCaName } from '../layer/additional-cas.js';
import type { Located, YamlReader } from './yaml-reader.js';
import { DEBIAN_ARCHIVE_KEYRING } from '../debian/archive-keyring.js';
import { REPOSITORY_RE, TAG_RE, userTagProblem } from '../oci/names.js';

/** Every top-level key a recipe may have. */
export const RECIPE_KEYS = [
  'name',
  'tag',
  'archs',
  'snapshot',
  'dist',
  'sources',
  'keyring',
  'packages',
  'resolve',
  'exclude',
  'files',
  'accounts',
  'run-as',
  'entrypoint',
  'cmd',
  'env',
  'workdir',
  'labels',
  'annotations',
  'stop-signal',
  'source-date-epoch',
  'max-layers',
  'ca-certificates',
  'paths',
  'additional-ca-certificates',
] as const;

/** Layers an image may have when the recipe does not say (`max-layers`). */
export const DEFAULT_MAX_LAYERS = 100;

/**
 * Bounds of `max-layers`: at least a package layer, the base layer and the user-files layer;
 * at most 125, below the layer limits of runtimes (overlayfs and containerd).
 */
const MAX_LAYERS_RANGE = [3, 125] as const;

/** An OCI distribution repository name (lowercase components separated by `/`). */
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const PACKAGE_VERSION = /^([0-9]+:)?[0-9][A-Za-z0-9.+~-]*$/;
const RESOLVE_MODES = ['dependencies', 'explicit'] as const;
const CA_MODES = ['bundle', 'package'] as const;

/**
 * Validates a parsed recipe document. Returns the recipe when no issue was recorded, undefined otherwise;
 * every problem found is in `r.issues`.
 */
export function validateRecipe(r: YamlReader, root: Located, path: string, baseDir: string): Recipe | undefined {
  const fields = r.map(root, RECIPE_KEYS);
  if (fields === undefined) return undefined;
  const need = (key: string): Located | undefined => {
    const value = fields.get(key);
    if (value === undefined) r.issues.at(root.at, `missing required key "${key}"`);
    return value;
  };
  const nameAt = need('name');
  const archsAt = need('archs');
  const packagesAt = need('packages');
  const tagAt = fields.get('tag');
  const name = nameAt && readName(r, nameAt);
  const tag = tagAt === undefined ? 'latest' : readTag(r, tagAt);
  const archs = archsAt && readArchs(r, archsAt);
  const { sources, snapshot } = readSources(
    r,
    { snapshot: fields.get('snapshot'), dist: fields.get('dist'), sources: fields.get('sources') },
    root,
  );
  const keyringAt = fields.get('keyring');
  const keyrings = keyringAt === undefined ? [DEBIAN_ARCHIVE_KEYRING] : readKeyrings(r, keyringAt, baseDir);
  const packages = packagesAt && readPackages(r, packagesAt);
  const resolveAt = fields.get('resolve');
  const resolveMode = resolveAt === undefined ? 'dependencies' : readChoice(r, resolveAt, RESOLVE_MODES);
  const excludeAt = fields.get('exclude');
  const exclude = excludeAt === undefined ? [] : readExclude(r, excludeAt, packages ?? []);
  const filesAt = fields.get('files');
  const files = filesAt === undefined ? [] : readFiles(r, filesAt, baseDir);
  const pathsAt = fields.get('paths');
  const paths = pathsAt === undefined ? [] : readPaths(r, pathsAt, files);
  const accounts = readAccounts(r, fields.get('accounts'));
  const config = readImageConfig(r, fields, accounts);
  const maxLayersAt = fields.get('max-layers');
  const maxLayers = maxLayersAt === undefined ? DEFAULT_MAX_LAYERS : r.integer(maxLayersAt, ...MAX_LAYERS_RANGE);
  const caAt = fields.get('ca-certificates');
  const caCertificates = caAt === undefined ? 'bundle' : readChoice(r, caAt, CA_MODES);
  const extraCasAt = fields.get('additional-ca-certificates');
  const additionalCas = extraCasAt === undefined ? [] : readAdditionalCas(r, extraCasAt, baseDir);
  checkNulCharacters(r, root.node, '');
  if (r.issues.items.length > 0) return undefined;
  if (name === undefined || tag === undefined || archs === undefined || packages === undefined) return undefined;
  if (
    keyrings === undefined ||
    resolveMode === undefined ||
    exclude === undefined ||
    maxLayers === undefined ||
    caCertificates === undefined
  )
    return undefined;
  const recipe: Recipe = {
    path,
    name,
    tag,
    archs,
    sources,
    keyrings,
    packages,
    resolve: resolveMode,
    exclude,
    files,
    paths,
    users: accounts.users,
    groups: accounts.groups,
    ...config,
    maxLayers,
    caCertificates,
  };
  if (snapshot !== undefined) recipe.snapshot = snapshot;
  if (additionalCas.length > 0) recipe.additionalCaCertificates = additionalCas;
  return recipe;
}

/**
 * Every string of the recipe, keys included, that holds a NUL character (`"\0"`, `"\u0000"` in
 * YAML): a problem at its position. No path, argument, variable, label or annotation may hold one (a
 * NUL ends a C string: the runtime, the kernel and tar would each read another value than the
 * image config and the layers record). A value another check refused at the same place is not
 * reported twice. Aliases are walked where their anchor is.
 */
function checkNulCharacters(r: YamlReader, node: unknown, what: string): void {
  const report = (value: unknown, at: number | undefined, name: string, text: string): void => {
    const before = r.issues.items.length;
    r.problem(
      { node: value, at: at ?? 0, what: name },
      `${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)} holds a NUL character (\\0)`,
      'remove it: no path, argument, variable, label or annotation of an image may hold one',
    );
    const added = r.issues.items[before];
    const refused = r.issues.items.slice(0, before).some((i) => i.line === added?.line && i.col === added.col);
    if (refused) r.issues.items.splice(before, 1);
  };
  if (isScalar(node)) {
    if (typeof node.value === 'string' && node.value.includes('\0')) report(node, node.range?.[0], what, node.value);
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => checkNulCharacters(r, item, `${what}[${i}]`));
  } else if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key;
      if (!isScalar(key) || typeof key.value !== 'string') continue;
      const name = what === '' ? key.value : `${what}.${key.value}`;
      if (key.value.includes('\0')) report(key, key.range?.[0], `${what === '' ? 'recipe' : what} key`, key.value);
      else checkNulCharacters(r, pair.value, name);
    }
  }
}

/** `additional-ca-certificates`: PEM file paths, relative to the recipe, each with its own image name (`<name>.crt`). */
function readAdditionalCas(r: YamlReader, value: Located, baseDir: string): string[] {
  const items = r.stringList(value) ?? [];
  const names = new Map<string, number>();
  const out: string[] = [];
  for (const { value: file, at } of items) {
    if (file === '' || file.endsWith('/')) {
      r.problem(at, `"${file}" is not a file path`, 'name a PEM file, e.g. certs/company-ca.pem');
      continue;
    }
    const name = localCaName(file);
    const first = names.get(name);
    if (first !== undefined) {
      r.problem(
        at,
        `"${file}" would be /usr/local/share/ca-certificates/${name}, as the file of line ${r.issues.lineOf(first)}`,
        'give each CA file its own base name',
      );
      continue;
    }
    names.set(name, at.at);
    out.push(resolve(baseDir, file));
  }
  return out;
}

function readName(r: YamlReader, value: Located): string | undefined {
  const name = r.string(value);
  if (name !== undefined && !REPOSITORY_RE.test(name)) {
    r.problem(value, `"${name}" is not a repository name`, 'lowercase letters, digits, and . _ - / between them, e.g. distroless/static');
    return undefined;
  }
  return name;
}

function readTag(r: YamlReader, value: Located): string | undefined {
  const tag = r.text(value);
  if (tag !== undefined && !TAG_RE.test(tag)) {
    r.problem(value, `"${tag}" is not a tag`, 'letters, digits, _ . -, at most 128, not starting with . or -');
    return undefined;
  }
  const referrers = tag === undefined ? undefined : userTagProblem(tag);
  if (referrers !== undefined) {
    r.problem(value, referrers.problem, referrers.hint);
    return undefined;
  }
  return tag;
}

function readArchs(r: YamlReader, value: Located): TargetArch[] | undefined {
  const items = r.list(value);
  if (items === undefined) return undefined;
  if (items.length === 0) {
    r.problem(value, 'must list at least one arch', 'e.g. archs: [amd64, arm64]');
    return undefined;
  }
  const out: TargetArch[] = [];
  let ok = true;
  for (const item of items) {
    const text = r.text(item);
    const arch = text === undefined ? undefined : findArch(text);
    if (text !== undefined && arch === undefined) {
      const known = ARCHS.map((a) => a.name);
      r.problem(
        item,
        `unknown arch "${text}"${didYouMean(text, [...known, ...ARCHS.map((a) => a.debian)])}`,
        `known archs: ${known.join(', ')}`,
      );
    }
    if (arch === undefined) ok = false;
    else if (!out.includes(arch)) out.push(arch);
  }
  return ok ? out : undefined;
}

function readKeyrings(r: YamlReader, value: Located, baseDir: string): string[] | undefined {
  const items = r.stringList(value);
  if (items === undefined) return undefined;
  if (items.length === 0) {
    r.problem(value, 'must list at least one keyring', `remove keyring: to use ${DEBIAN_ARCHIVE_KEYRING}`);
    return undefined;
  }
  return items.map((i) => resolve(baseDir, i.value));
}

function readPackages(r: YamlReader, value: Located): PackageRequest[] | undefined {
  const items = r.stringList(value);
  if (items === undefined) return undefined;
  if (items.length === 0) r.problem(value, 'must list at least one package');
  const seen = new Unique<string>(r, 'package');
  const out: PackageRequest[] = [];
  for (const { value: spec, at } of items) {
    const request = parsePackageSpec(spec);
    if (request === undefined) {
      r.problem(at, `"${spec}" is not a package spec`, 'write name or name=version, e.g. libc6 or libc6=2.36-9+deb12u10');
    } else if (seen.check(request.name, at)) out.push(request);
  }
  return out;
}

/** Parses `name` or `name=version`; undefined when either part is malformed. */
export function parsePackageSpec(spec: string): PackageRequest | undefined {
  const eq = spec.indexOf('=');
  const name = eq === -1 ? spec : spec.slice(0, eq);
  if (!PACKAGE_NAME.test(name)) return undefined;
  if (eq === -1) return { name };
  const version = spec.slice(eq + 1);
  return PACKAGE_VERSION.test(version) ? { name, version } : undefined;
}

/** One of `choices`; an unknown word is a problem with a suggestion. */
function readChoice<T extends string>(r: YamlReader, value: Located, choices: readonly T[]): T | undefined {
  const text = r.string(value);
  if (text === undefined) return undefined;
  const mode = choices.find((m) => m === text);
  if (mode === undefined) r.problem(value, `unknown mode "${text}"${didYouMean(text, choices)}`, `use ${choices.join(' or ')}`);
  return mode;
}

function readExclude(r: YamlReader, value: Located, packages: readonly PackageRequest[]): string[] | undefined {
  const items = r.stringList(value);
  if (items === undefined) return undefined;
  const seen = new Unique<string>(r, 'excluded package');
  for (const { value: name, at } of items) {
    if (!PACKAGE_NAME.test(name)) r.problem(at, `"${name}" is not a package name`);
    else if (packages.some((p) => p.name === name))
      r.problem(at, `"${name}" is both in packages and in exclude`, 'remove it from one of them');
    else seen.check(name, at);
  }
  return items.map((i) => i.value);
}
