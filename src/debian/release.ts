import { createHash } from 'node:crypto';
import type { Key, KeyID, Signature, VerifyMessageResult } from 'openpgp';
import { AlbaError, redactUrl } from '../errors.js';
import { field, parseDeb822 } from './deb822.js';
import { fetchBytes, fetchBytesIfFound } from './http.js';
import type { Keyring } from './keyring.js';

/** Size and SHA256 of one file listed in a Release file. */
export interface ReleaseEntry {
  size: number;
  sha256: string;
}

/** The fields alba uses from a Release file's text. */
export interface ReleaseInfo {
  /** `Suite:` (e.g. `stable`), when present. */
  suiteName?: string;
  codename?: string;
  /** `Date:` as ISO 8601. */
  date?: string;
  /** `Valid-Until:` as ISO 8601. */
  validUntil?: string;
  architectures: string[];
  components: string[];
  /** `Acquire-By-Hash: yes`: indexes can be fetched as `by-hash/SHA256/<hex>`, immune to mirror update races. */
  acquireByHash: boolean;
  /** The SHA256 list, keyed by path relative to `dists/<suite>/`. */
  files: Map<string, ReleaseEntry>;
}

/** A fetched, checked Release file of one suite. */
export interface Release extends ReleaseInfo {
  /** Canonical repository URL (as in the recipe). */
  url: string;
  /** Suite as requested: the directory under `dists/`. */
  suite: string;
  file: 'InRelease' | 'Release';
  /** SHA256 (hex) of the file fetched: InRelease, or Release for the detached-signature layout. */
  sha256: string;
  /** True when a trusted key signed it; false only with allowInsecure. */
  verified: boolean;
  /** Hex ids of the keys whose signatures verified. */
  signedBy: string[];
  /** Repository URL the files were actually fetched from (the mirror, or `url`). */
  fetchedFrom: string;
}

/** What to fetch and how strictly to check it. */
export interface FetchReleaseOptions {
  /** Canonical repository URL: the directory holding `dists/`. */
  url: string;
  suite: string;
  /** Fetch from this repository URL instead of `url` (same content, e.g. a local mirror). */
  mirror?: string;
  /** The trusted keys, or their loading (awaited once the Release is fetched, so the two overlap). */
  keyring: Keyring | Promise<Keyring>;
  /** Accept an unsigned or badly signed Release (the result says `verified: false`). */
  allowInsecure?: boolean;
  /** The source is a snapshot (snapshot.debian.org): its Release is old by nature, so Valid-Until is not enforced. */
  snapshot?: boolean;
  /** Clock used for Valid-Until (tests). */
  now?: Date;
  timeoutMs?: number;
  /** Told of what is odd but harmless (text outside the signed block of an InRelease). */
  log?: (line: string) => void;
}

const SIGNATURE_HINT =
  'the file was altered or the keyring does not hold the repository key: set `keyring:` in the recipe to the key that signs ' +
  'this repository (Debian: /usr/share/keyrings/debian-archive-keyring.gpg), or pass --allow-insecure to skip the check (unsafe)';

/**
 * Fetches `<repo>/dists/<suite>/InRelease`, or `Release` + `Release.gpg` when InRelease is absent
 * (404), and requires at least one valid signature by a key of `keyring` (SIGNATURE_INVALID
 * naming the URL and key ids otherwise, unless `allowInsecure`). Enforces `Valid-Until`
 * (RELEASE_INVALID) except for snapshot sources, whose Release files are expired by design:
 * they are pinned by time and protected by their signature and the lock's hashes instead.
 */
export async function fetchRelease(options: FetchReleaseOptions): Promise<Release> {
  const fetchedFrom = trimSlash(options.mirror ?? options.url);
  const dists = `${fetchedFrom}/dists/${options.suite}`;
  const http = { timeoutMs: options.timeoutMs };
  const inRelease = await fetchBytesIfFound(`${dists}/InRelease`, http);
  let file: Release['file'];
  let fileUrl: string;
  let bytes: Buffer;
  let check: SignatureCheck;
  if (inRelease !== undefined) {
    [file, fileUrl, bytes] = ['InRelease', `${dists}/InRelease`, inRelease];
    check = await verifyInRelease(inRelease.toString('utf8'), await options.keyring);
  } else {
    [file, fileUrl] = ['Release', `${dists}/Release`];
    bytes = await fetchBytes(fileUrl, http);
    const signature = await fetchBytesIfFound(`${dists}/Release.gpg`, http);
    check =
      signature === undefined
        ? { text: bytes.toString('utf8'), signedBy: [], problem: 'is not signed (neither InRelease nor Release.gpg exists)' }
        : await verifyDetached(bytes, signature, await options.keyring);
  }
  if (check.problem !== undefined && options.allowInsecure !== true) {
    throw new AlbaError('SIGNATURE_INVALID', `${redactUrl(fileUrl)} ${check.problem}`, { hint: SIGNATURE_HINT });
  }
  if (check.outside !== undefined)
    options.log?.(`note: ${redactUrl(fileUrl)} holds ${check.outside} bytes outside its signed block: ignored, never read`);
  const info = parseRelease(check.text, redactUrl(fileUrl));
  checkSuite(info, options.suite, redactUrl(fileUrl));
  if (options.snapshot !== true) checkValidUntil(info, redactUrl(fileUrl), options.now ?? new Date());
  return {
    ...info,
    url: trimSlash(options.url),
    suite: options.suite,
    file,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    verified: check.problem === undefined,
    signedBy: check.signedBy,
    fetchedFrom,
  };
}

/** Outcome of a signature check: the signed text, who signed it, and what is wrong when nobody trusted did. */
export interface SignatureCheck {
  text: string;
  signedBy: string[];
  problem?: string;
  /** Bytes of an InRelease before its `BEGIN PGP SIGNED MESSAGE` line or after its signature, when not only blank. */
  outside?: number;
}

/** Verifies a cleartext-signed InRelease; `problem` says why no trusted signature was found. */
export async function verifyInRelease(armored: string, keyring: Keyring): Promise<SignatureCheck> {
  const { readCleartextMessage, verify } = await import('../vendor/openpgp.js');
  let message;
  try {
    message = await readCleartextMessage({ cleartextMessage: armored });
  } catch (err) {
    return { text: armored, signedBy: [], problem: `is not an OpenPGP cleartext-signed file (${(err as Error).message})` };
  }
  const result = await verify({ message, verificationKeys: keyring.keys });
  const outside = unsignedBytes(armored);
  return { text: message.getText(), ...(await judge(result.signatures, keyring)), ...(outside > 0 ? { outside } : {}) };
}

/** Verifies a Release file against its detached signature (Release.gpg, armored or binary). */
export async function verifyDetached(data: Uint8Array, signatureData: Uint8Array, keyring: Keyring): Promise<SignatureCheck> {
  const { createMessage, readSignature, verify } = await import('../vendor/openpgp.js');
  const text = Buffer.from(data).toString('utf8');
  let signature: Signature;
  try {
    const armored = Buffer.from(signatureData.subarray(0, 64)).toString('latin1').includes('-----BEGIN PGP');
    signature = armored
      ? await readSignature({ armoredSignature: Buffer.from(signatureData).toString('utf8') })
      : await readSignature({ binarySignature: signatureData });
  } catch (err) {
    return { text, signedBy: [], problem: `has an unreadable signature file Release.gpg (${(err as Error).message})` };
  }
  const message = await createMessage({ binary: data });
  const result = await verify({ message, signature, verificationKeys: keyring.keys, format: 'binary' });
  return { text, ...(await judge(result.signatures, keyring)) };
}

/** Awaits every signature's verdict; trusted = verified by a key of the keyring. */
async function judge(signatures: VerifyMessageResult['signatures'], keyring: Keyring): Promise<Omit<SignatureCheck, 'text'>> {
  const signedBy: string[] = [];
  const unknown: string[] = [];
  const bad: string[] = [];
  for (const sig of signatures) {
    const id = sig.keyID.toHex();
    try {
      await sig.verified;
      signedBy.push(id);
    } catch (err) {
      if (isKnown(keyring.keys, sig.keyID)) bad.push(`${id} (${(err as Error).message})`);
      else unknown.push(id);
    }
  }
  if (signedBy.length > 0) return { signedBy };
  const keyrings = keyring.paths.length > 0 ? keyring.paths.join(', ') : 'no keyring';
  const problems: string[] = [];
  if (signatures.length === 0) problems.push('carries no signature');
  if (bad.length > 0) problems.push(`has a signature that does not verify: key ${bad.join(', key ')}`);
  if (unknown.length > 0) problems.push(`is signed by unknown key ${unknown.join(', ')} (not in ${keyrings})`);
  return { signedBy, problem: problems.join('; and ') };
}

function isKnown(keys: readonly Key[], keyID: KeyID): boolean {
  return keys.some((k) => k.getKeys(keyID).length > 0);
}

/** Parses the text of a Release file (pure); `where` names it in errors. */
export function parseRelease(text: string, where: string): ReleaseInfo {
  const stanza = parseDeb822(text)[0];
  const sha256 = stanza === undefined ? undefined : field(stanza, 'SHA256');
  if (stanza === undefined || sha256 === undefined) {
    throw new AlbaError('RELEASE_INVALID', `${where} has no SHA256 file list`, {
      hint: 'alba needs the SHA256 list of a Debian Release file; check that the URL is an APT repository',
    });
  }
  const files = new Map<string, ReleaseEntry>();
  for (const line of sha256.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 3) continue;
    const [hash, size, path] = parts as [string, string, string];
    if (!/^[0-9a-f]{64}$/i.test(hash) || !/^\d+$/.test(size)) {
      throw new AlbaError('RELEASE_INVALID', `${where}: malformed SHA256 line ${JSON.stringify(line.trim())}`, {
        hint: 'each line must be `<sha256> <size> <path>`; the repository is broken',
      });
    }
    files.set(path, { size: Number(size), sha256: hash.toLowerCase() });
  }
  const words = (name: string): string[] => (field(stanza, name) ?? '').split(/\s+/).filter((w) => w !== '');
  const info: ReleaseInfo = {
    architectures: words('Architectures'),
    components: words('Components'),
    acquireByHash: (field(stanza, 'Acquire-By-Hash') ?? '').toLowerCase() === 'yes',
    files,
  };
  const suiteName = field(stanza, 'Suite');
  const codename = field(stanza, 'Codename');
  const date = isoDate(field(stanza, 'Date'), 'Date', where);
  const validUntil = isoDate(field(stanza, 'Valid-Until'), 'Valid-Until', where);
  if (suiteName !== undefined) info.suiteName = suiteName;
  if (codename !== undefined) info.codename = codename;
  if (date !== undefined) info.date = date;
  if (validUntil !== undefined) info.validUntil = validUntil;
  return info;
}

/** The non-blank bytes of a cleartext-signed file before its header line or after its signature block. */
function unsignedBytes(armored: string): number {
  const begin = armored.indexOf('-----BEGIN PGP SIGNED MESSAGE-----');
  const endMarker = '-----END PGP SIGNATURE-----';
  const end = armored.lastIndexOf(endMarker);
  const before = begin < 0 ? '' : armored.slice(0, begin);
  const after = end < 0 ? '' : armored.slice(end + endMarker.length);
  return Buffer.byteLength(before.trim()) + Buffer.byteLength(after.trim());
}

/**
 * Throws RELEASE_INVALID when the Release names another suite than the one asked for (as apt
 * refuses a `trixie` Release served at `dists/bookworm`): the suite must be its `Suite` or
 * `Codename` when it has either.
 */
export function checkSuite(info: ReleaseInfo, suite: string, where: string): void {
  if (info.suiteName === undefined && info.codename === undefined) return;
  if (suite === info.suiteName || suite === info.codename) return;
  const names = [
    info.suiteName === undefined ? undefined : `Suite: ${info.suiteName}`,
    info.codename === undefined ? undefined : `Codename: ${info.codename}`,
  ]
    .filter(Boolean)
    .join(', ');
  throw new AlbaError('RELEASE_INVALID', `${where} is the Release of another suite (${names}), not of ${suite}`, {
    hint: "the server serves another distribution under this name (a mirror mix-up or a downgrade attack); check the source's URL and suite",
  });
}

/** Throws RELEASE_INVALID when `now` is past the Release's Valid-Until. */
export function checkValidUntil(info: ReleaseInfo, where: string, now: Date): void {
  if (info.validUntil === undefined || Date.parse(info.validUntil) >= now.getTime()) return;
  throw new AlbaError('RELEASE_INVALID', `${where} expired: Valid-Until ${info.validUntil} is before now (${now.toISOString()})`, {
    hint: 'the mirror is stale or the clock is wrong: use an up-to-date mirror, fix the system time, or use a `snapshot:` source',
  });
}

function isoDate(value: string | undefined, name: string, where: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  // between 1970 and the end of 9999, as a lock's dates must be
  if (Number.isNaN(ms) || ms < 0 || ms > 253402300799_000) {
    throw new AlbaError('RELEASE_INVALID', `${where}: cannot read ${name} ${JSON.stringify(value)}`, {
      hint: 'dates in Release files look like `Sat, 10 May 2025 08:50:25 UTC`, between 1970 and 9999; the repository is broken',
    });
  }
  return new Date(ms).toISOString();
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
