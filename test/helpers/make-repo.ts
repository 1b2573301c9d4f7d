import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createCleartextMessage, createMessage, generateKey, sign, type PrivateKey } from 'openpgp';
import { compress, makeDeb, type DebSpec } from './make-deb.js';

/** A throwaway signing key and its public half in both keyring formats. */
export interface RepoKey {
  privateKey: PrivateKey;
  /** Binary public keyring (`.gpg`). */
  publicBinary: Uint8Array;
  /** ASCII-armored public key (`.asc`). */
  publicArmored: string;
}

/** A package of a fixture suite. */
export interface RepoPackage {
  deb: DebSpec;
  /** The binary-<arch> index listing it; `all` lists it in every architecture of the suite (as Debian does). */
  arch: string;
}

/** One suite of a fixture repository. */
export interface RepoSuite {
  name: string;
  /** The `Suite:` field (default: `name`). */
  suiteField?: string;
  codename?: string;
  /** Architectures with an index (default: those of the packages). */
  architectures?: string[];
  components: { name: string; packages: RepoPackage[] }[];
  date?: Date;
  validUntil?: Date;
}

/** What to build. */
export interface RepoOptions {
  suites: RepoSuite[];
  /** Signing key (default: a fresh one). */
  key?: RepoKey;
  /** Signed files to write (default both InRelease and Release.gpg; `none` = unsigned Release). */
  signing?: 'both' | 'inrelease' | 'release-gpg' | 'none';
  /** Compression of Packages (the plain file is always written too). */
  indexCompression?: 'xz' | 'gz';
  /** Changes an index file before the Release hashes it (e.g. truncate it: the Release then vouches for the damage). */
  tamperIndex?: (path: string, data: Buffer) => Buffer;
  /** Also write indexes under `by-hash/SHA256/<hex>` and say `Acquire-By-Hash: yes`, as Debian does. */
  byHash?: boolean;
}

/** A package as written into the pool. */
export interface RepoDeb {
  name: string;
  version: string;
  architecture: string;
  filename: string;
  size: number;
  sha256: string;
}

/** The written repository. */
export interface Repo {
  dir: string;
  key: RepoKey;
  /** Binary keyring file trusting `key`. */
  keyringPath: string;
  /** Armored keyring file trusting `key`. */
  armoredKeyringPath: string;
  debs: RepoDeb[];
}

/** Generates an Ed25519 signing key (fast). */
export async function makeRepoKey(name = 'alba test repository'): Promise<RepoKey> {
  const { privateKey, publicKey } = await generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name }], format: 'object' });
  return { privateKey, publicBinary: publicKey.write(), publicArmored: publicKey.armor() };
}

/** Writes a signed APT repository (pool/, dists/<suite>/{InRelease,Release,Release.gpg,<comp>/binary-<arch>/Packages*}) under `dir`. */
export async function makeRepo(dir: string, options: RepoOptions): Promise<Repo> {
  const key = options.key ?? (await makeRepoKey());
  const debs: RepoDeb[] = [];
  const write = async (path: string, data: string | Uint8Array): Promise<void> => {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), data);
  };
  for (const suite of options.suites) {
    const archs =
      suite.architectures ?? [...new Set(suite.components.flatMap((c) => c.packages.map((p) => p.arch)))].filter((a) => a !== 'all').sort();
    const indexFiles = new Map<string, Buffer>();
    for (const component of suite.components) {
      const stanzas = new Map<string, string[]>(archs.map((a) => [a, []]));
      for (const pkg of component.packages) {
        const { stanza, deb, data } = await poolEntry(component.name, pkg.deb);
        if (!debs.some((d) => d.filename === deb.filename)) {
          debs.push(deb);
          await write(deb.filename, data);
        }
        for (const arch of pkg.arch === 'all' ? archs : [pkg.arch]) stanzas.get(arch)?.push(stanza);
      }
      for (const arch of archs) {
        const text = Buffer.from((stanzas.get(arch) ?? []).join('\n'));
        const base = `${component.name}/binary-${arch}/Packages`;
        const kind = options.indexCompression ?? 'xz';
        indexFiles.set(base, text);
        indexFiles.set(`${base}.${kind}`, compress(text, kind));
      }
    }
    const sha256Lines: string[] = [];
    for (const [path, original] of indexFiles) {
      const data = options.tamperIndex?.(path, original) ?? original;
      await write(`dists/${suite.name}/${path}`, data);
      if (options.byHash === true) await write(`dists/${suite.name}/${dirname(path)}/by-hash/SHA256/${sha256(data)}`, data);
      sha256Lines.push(` ${sha256(data)} ${String(data.length).padStart(16)} ${path}`);
    }
    const fields: [string, string | undefined][] = [
      ['Origin', 'alba-test'],
      ['Label', 'alba-test'],
      ['Suite', suite.suiteField ?? suite.name],
      ['Codename', suite.codename ?? suite.name],
      ['Date', (suite.date ?? new Date()).toUTCString()],
      ['Valid-Until', suite.validUntil?.toUTCString()],
      ['Architectures', archs.join(' ')],
      ['Components', suite.components.map((c) => c.name).join(' ')],
      ['Acquire-By-Hash', options.byHash === true ? 'yes' : undefined],
      ['Description', 'alba fixture repository'],
    ];
    const release =
      fields
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}: ${v}\n`)
        .join('') + `SHA256:\n${sha256Lines.join('\n')}\n`;
    const signing = options.signing ?? 'both';
    await write(`dists/${suite.name}/Release`, release);
    if (signing === 'both' || signing === 'inrelease') {
      await write(
        `dists/${suite.name}/InRelease`,
        await sign({ message: await createCleartextMessage({ text: release }), signingKeys: key.privateKey }),
      );
    }
    if (signing === 'both' || signing === 'release-gpg') {
      const message = await createMessage({ binary: Buffer.from(release) });
      await write(`dists/${suite.name}/Release.gpg`, await sign({ message, signingKeys: key.privateKey, detached: true }));
    }
  }
  const keyringPath = join(dir, 'keyring.gpg');
  const armoredKeyringPath = join(dir, 'keyring.asc');
  await write('keyring.gpg', key.publicBinary);
  await write('keyring.asc', key.publicArmored);
  return { dir, key, keyringPath, armoredKeyringPath, debs };
}

async function poolEntry(component: string, spec: DebSpec): Promise<{ stanza: string; deb: RepoDeb; data: Buffer }> {
  const c = spec.control;
  const name = c['Package'] ?? 'unnamed';
  const version = c['Version'] ?? '1.0';
  const architecture = c['Architecture'] ?? 'all';
  const source = (c['Source'] ?? name).split(' ')[0] ?? name;
  const data = await makeDeb(spec);
  const prefix = source.startsWith('lib') ? source.slice(0, 4) : source.slice(0, 1);
  const filename = `pool/${component}/${prefix}/${source}/${name}_${version.replace(/^\d+:/, '')}_${architecture}.deb`;
  const deb: RepoDeb = { name, version, architecture, filename, size: data.length, sha256: sha256(data) };
  const { Description: description, ...rest } = c;
  const stanza =
    Object.entries(rest)
      .map(([k, v]) => `${k}: ${v}\n`)
      .join('') +
    `Filename: ${filename}\nSize: ${data.length}\nMD5sum: ${createHash('md5').update(data).digest('hex')}\nSHA256: ${deb.sha256}\n` +
    `Description: ${description ?? `${name} fixture`}\n`;
  return { stanza, deb, data };
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
