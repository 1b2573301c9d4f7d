import type { Key } from 'openpgp';
import { AlbaError } from '../errors.js';
import { readSmallFile, type Refusal } from '../util/regular-file.js';
import { DEBIAN_ARCHIVE_KEYRING } from './archive-keyring.js';

/** The largest keyring file read (Debian's archive keyring is ~100 KiB). */
const MAX_KEYRING_BYTES = 64 * 1024 * 1024;

/** Public keys trusted to sign Release files, with the files they came from (for messages). */
export interface Keyring {
  keys: Key[];
  paths: string[];
}

/**
 * Loads OpenPGP public keys from keyring files: binary keyrings holding several keys (`.gpg`, as in
 * /usr/share/keyrings) or ASCII-armored ones (`.asc`), told apart by content, not name.
 * A missing or unparseable file is KEYRING_MISSING.
 */
export async function loadKeyring(paths: readonly string[]): Promise<Keyring> {
  const keys: Key[] = [];
  for (const path of paths) keys.push(...(await loadKeyFile(path)));
  return { keys, paths: [...paths] };
}

async function loadKeyFile(path: string): Promise<Key[]> {
  const refuse: Refusal = (why, cause) =>
    new AlbaError('KEYRING_MISSING', `keyring ${path} ${why}`, {
      hint:
        path === DEBIAN_ARCHIVE_KEYRING
          ? 'install it (apt-get install debian-archive-keyring), or set `keyring:` in the recipe'
          : 'check the `keyring:` path in the recipe (Debian keys: apt-get install debian-archive-keyring)',
      ...(cause === undefined ? {} : { cause }),
    });
  let data: Buffer;
  try {
    // a keyring is a few KiB to a few MiB: a FIFO or /dev/zero named here is refused, never read without end
    data = await readSmallFile(path, MAX_KEYRING_BYTES, refuse);
  } catch (err) {
    throw err instanceof AlbaError ? err : refuse(`cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
  }
  // OpenPGP is loaded when first needed: a build from a lock never verifies a Release
  const { readKeys } = await import('../vendor/openpgp.js');
  try {
    const armored = data.subarray(0, 64).toString('latin1').includes('-----BEGIN PGP');
    const keys = armored ? await readKeys({ armoredKeys: data.toString('utf8') }) : await readKeys({ binaryKeys: data });
    if (keys.length === 0) throw new Error('no keys in the file');
    return keys;
  } catch (err) {
    throw new AlbaError('KEYRING_MISSING', `cannot load keyring ${path}: ${(err as Error).message}`, {
      hint: 'give a binary (.gpg) or ASCII-armored (.asc) OpenPGP public keyring, e.g. from `gpg --export KEYID`',
      cause: err,
    });
  }
}
