/**
 * The recipe's `additional-ca-certificates`: PEM files of CA certificates (a company CA) added to
 * the image's trust, as Debian's `update-ca-certificates` adds the `.crt` files of
 * /usr/local/share/ca-certificates: each file is placed there as `<name>.crt`, its certificates
 * are appended to the PEM bundle after the package's (in the recipe's order) and go into the Java
 * trust store as `local:<name>.crt` (`-2`, `-3`… for further certificates of one file).
 *
 * A file holding anything but CERTIFICATE blocks (a private key above all) or a certificate that
 * does not parse is refused: CA_CERTIFICATE_INVALID, before anything is written.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { AlbaError } from '../errors.js';
import { pemBlocks, type TrustedCa } from './ca-bundle.js';

/** Where Debian keeps locally added CA certificates (update-ca-certificates reads `*.crt` there). */
export const LOCAL_CA_DIR = 'usr/local/share/ca-certificates';

/** Largest PEM file accepted (a bundle of a few hundred certificates is ~250 KiB). */
const MAX_PEM_BYTES = 4 * 1024 * 1024;

/** One additional CA file, read and checked. */
export interface AdditionalCa {
  /** Layer path: `usr/local/share/ca-certificates/<name>.crt`. */
  path: string;
  /** The text appended to the bundle (the file's, ending with a newline). */
  text: string;
  sha256: string;
  certificates: TrustedCa[];
}

/** The image file name of a recipe CA file: its base name, with `.pem`/`.crt` replaced by `.crt`. */
export function localCaName(file: string): string {
  return `${basename(file).replace(/\.(pem|crt|cer)$/i, '')}.crt`;
}

/** Reads and checks every file (see the module comment). */
export async function readAdditionalCas(files: readonly string[]): Promise<AdditionalCa[]> {
  const out: AdditionalCa[] = [];
  for (const file of files) {
    const info = await stat(file).catch((err: unknown) => {
      throw new AlbaError(
        'FILE_MISSING',
        `additional-ca-certificates: ${file} does not exist (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
        { hint: "fix the path (relative to the recipe's directory)", cause: err },
      );
    });
    if (!info.isFile() || info.size > MAX_PEM_BYTES)
      throw invalid(file, info.isFile() ? `is larger than ${MAX_PEM_BYTES} bytes` : 'is not a regular file');
    const bytes = await readFile(file);
    const text = bytes.toString('utf8');
    const { certificates, others } = pemBlocks(text);
    if (others.length > 0)
      throw invalid(
        file,
        `holds a ${others[0]} block, not only certificates`,
        'a trust store file must hold only CERTIFICATE blocks — never put a private key into an image',
      );
    if (certificates.length === 0) throw invalid(file, 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
    certificates.forEach((der, i) => {
      try {
        new X509Certificate(der);
      } catch (err) {
        throw invalid(file, `certificate ${i + 1} is not a valid X.509 certificate (${(err as Error).message})`);
      }
    });
    const name = localCaName(file);
    out.push({
      path: `${LOCAL_CA_DIR}/${name}`,
      text: text.endsWith('\n') ? text : `${text}\n`,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      certificates: certificates.map((der, i) => ({ alias: `local:${name.toLowerCase()}${i === 0 ? '' : `-${i + 1}`}`, der })),
    });
  }
  return out;
}

function invalid(
  file: string,
  why: string,
  hint = 'give a PEM file of CA certificates, as `openssl x509 -outform PEM` writes them',
): AlbaError {
  return new AlbaError('CA_CERTIFICATE_INVALID', `additional-ca-certificates: ${file} ${why}`, { hint });
}
