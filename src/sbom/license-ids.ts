/**
 * Debian copyright short names → SPDX licence and exception ids.
 * Only unambiguous mappings; anything else becomes a LicenseRef with the text from the file.
 */

/** SPDX ids recognised as written (case-insensitively) in a copyright file. */
const SPDX_IDS = [
  'Apache-1.0',
  'Apache-1.1',
  'Apache-2.0',
  'Artistic-1.0',
  'Artistic-1.0-Perl',
  'Artistic-2.0',
  'BSD-1-Clause',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'BSD-4-Clause',
  'BSL-1.0',
  'CC-BY-3.0',
  'CC-BY-4.0',
  'CC-BY-SA-3.0',
  'CC-BY-SA-4.0',
  'CC0-1.0',
  'curl',
  'EPL-1.0',
  'EPL-2.0',
  'FTL',
  'IJG',
  'ISC',
  'Libpng',
  'MIT',
  'MIT-0',
  'MPL-1.1',
  'MPL-2.0',
  'OFL-1.1',
  'OpenSSL',
  'PSF-2.0',
  'Python-2.0',
  'Unicode-DFS-2016',
  'Unlicense',
  'W3C',
  'WTFPL',
  'X11',
  'Zlib',
  '0BSD',
];

/** Debian names that differ from the SPDX id (lowercased key). */
const DEBIAN_ALIASES: Record<string, string> = {
  expat: 'MIT',
  artistic: 'Artistic-1.0-Perl',
  perl: 'Artistic-1.0-Perl OR GPL-1.0-or-later',
  'psf-2': 'PSF-2.0',
  'sil-ofl-1.1': 'OFL-1.1',
  'public-domain': 'LicenseRef-public-domain',
};

/** Versions that exist in SPDX for each GNU family. */
const GNU_FAMILIES: Record<string, { spdx: string; versions: string[] }> = {
  gpl: { spdx: 'GPL', versions: ['1.0', '2.0', '3.0'] },
  lgpl: { spdx: 'LGPL', versions: ['2.0', '2.1', '3.0'] },
  agpl: { spdx: 'AGPL', versions: ['1.0', '3.0'] },
  gfdl: { spdx: 'GFDL', versions: ['1.1', '1.2', '1.3'] },
  'gfdl-niv': { spdx: 'GFDL', versions: ['1.1', '1.2', '1.3'] },
};

const BY_LOWER = new Map(SPDX_IDS.map((id) => [id.toLowerCase(), id]));

/** `GPL-2+` → `GPL-2.0-or-later`, `LGPL-2.1` → `LGPL-2.1-only`, `GFDL-NIV-1.2+` → `GFDL-1.2-no-invariants-or-later`. */
function gnuId(name: string): string | undefined {
  const match = /^(gpl|lgpl|agpl|gfdl|gfdl-niv)-(\d+(?:\.\d+)?)(\+)?$/i.exec(name);
  if (!match) return undefined;
  const family = GNU_FAMILIES[(match[1] as string).toLowerCase()];
  const version = (match[2] as string).includes('.') ? (match[2] as string) : `${match[2]}.0`;
  if (family === undefined || !family.versions.includes(version)) return undefined;
  const niv = (match[1] as string).toLowerCase() === 'gfdl-niv' ? '-no-invariants' : '';
  return `${family.spdx}-${version}${niv}${match[3] ? '-or-later' : '-only'}`;
}

/** SPDX expression for one Debian licence short name, or undefined when it has no known SPDX id. */
export function spdxLicenseId(debianName: string): string | undefined {
  const lower = debianName.toLowerCase();
  const alias = DEBIAN_ALIASES[lower];
  if (alias !== undefined) return alias;
  const gnu = gnuId(debianName);
  if (gnu !== undefined) return gnu;
  const exact = BY_LOWER.get(lower);
  if (exact !== undefined) return exact;
  const plus = lower.endsWith('+') ? BY_LOWER.get(lower.slice(0, -1)) : undefined;
  return plus === undefined ? undefined : `${plus}+`;
}

/** SPDX exception ids, and the Debian words naming them before `exception` (lowercased key). */
const EXCEPTIONS: Record<string, string> = {
  'autoconf-exception-2.0': 'Autoconf-exception-2.0',
  'autoconf-exception-3.0': 'Autoconf-exception-3.0',
  'bison-exception-2.2': 'Bison-exception-2.2',
  'bison-2.2': 'Bison-exception-2.2',
  'classpath-exception-2.0': 'Classpath-exception-2.0',
  classpath: 'Classpath-exception-2.0',
  'font-exception-2.0': 'Font-exception-2.0',
  font: 'Font-exception-2.0',
  'gcc-exception-3.1': 'GCC-exception-3.1',
  'libtool-exception': 'Libtool-exception',
  libtool: 'Libtool-exception',
  'llvm-exception': 'LLVM-exception',
  llvm: 'LLVM-exception',
  'linux-syscall-note': 'Linux-syscall-note',
};

/** SPDX exception id for the words of `with <words> exception`, or undefined when unknown. */
export function spdxExceptionId(words: string): string | undefined {
  return EXCEPTIONS[words.toLowerCase()];
}

/** `LicenseRef-<name>` with every character outside [A-Za-z0-9.-] replaced (`+` → `-plus`). */
export function licenseRef(name: string): string {
  const body = name
    .replace(/\+/g, '-plus')
    .replace(/[^A-Za-z0-9.-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  return `LicenseRef-${body === '' ? 'unnamed' : body}`;
}
