import { AlbaError } from '../errors.js';

/** Where dpkg-aware scanners (syft, trivy, grype) look for the packages of a distroless image. */
export const STATUS_DIR = 'var/lib/dpkg/status.d';

/** The status line distroless writes for every installed package. */
export const STATUS_LINE = 'Status: install ok installed';

const PACKAGE_NAME_RE = /^[a-z0-9][a-z0-9+.-]+$/;

/** Layer paths of a package's status.d entries (the stanza and its md5sums). */
export function statusPaths(packageName: string): { stanza: string; md5sums: string } {
  if (!PACKAGE_NAME_RE.test(packageName)) {
    throw new AlbaError('DEB_INVALID', `not a Debian package name: ${JSON.stringify(packageName)}`, {
      hint: 'package names use lowercase letters, digits, "+", "-" and "."',
    });
  }
  return { stanza: `${STATUS_DIR}/${packageName}`, md5sums: `${STATUS_DIR}/${packageName}.md5sums` };
}

/**
 * The status.d stanza of a package: its control file with `Status: install ok installed`
 * inserted right after the `Package:` line (as distroless does), any Status field of the
 * control file dropped, trailing blank lines removed and one final newline.
 * The control file must name `packageName`, else DEB_INVALID naming `what`.
 */
export function statusStanza(control: string, packageName: string, what: string): string {
  const lines = control.replace(/\r\n/g, '\n').replace(/\s+$/, '').split('\n');
  const out: string[] = [];
  let found = false;
  for (const line of lines) {
    if (/^status\s*:/i.test(line)) continue;
    out.push(line);
    const m = /^package\s*:\s*(\S*)\s*$/i.exec(line);
    if (m === null || found) continue;
    if (m[1] !== packageName) {
      throw new AlbaError('DEB_INVALID', `${what}: its control file says "Package: ${m[1]}", expected ${packageName}`, {
        hint: 'the cached file is not the package the lock names; delete it from the cache and fetch it again',
      });
    }
    found = true;
    out.push(STATUS_LINE);
  }
  if (!found) {
    throw new AlbaError('DEB_INVALID', `${what}: its control file has no Package field`, {
      hint: 'the .deb is corrupt; delete it from the cache and fetch it again',
    });
  }
  return `${out.join('\n')}\n`;
}
