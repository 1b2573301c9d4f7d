/** True for the certificate files update-ca-certificates bundles: `usr/share/ca-certificates/**\/*.crt`. */
export function isCaCertificatePath(path: string): boolean {
  return path.startsWith('usr/share/ca-certificates/') && path.endsWith('.crt');
}

/**
 * The CA bundle (`etc/ssl/certs/ca-certificates.crt`) from the certificate files captured
 * while building the ca-certificates layer (buildDebLayer with `capture: isCaCertificatePath`):
 * certificates concatenated in sorted path order, each ending with a newline — what
 * update-ca-certificates writes with the default configuration (every certificate enabled).
 */
export function caBundle(certificates: ReadonlyMap<string, Buffer>): string {
  const paths = [...certificates.keys()].filter(isCaCertificatePath).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return paths
    .map((p) => {
      const text = (certificates.get(p) as Buffer).toString('utf8');
      return text.endsWith('\n') ? text : `${text}\n`;
    })
    .join('');
}

/** The certificates of a PEM text: the DER bytes of each `CERTIFICATE` block, in order, and the labels of other blocks. */
export function pemBlocks(text: string): { certificates: Buffer[]; others: string[] } {
  const certificates: Buffer[] = [];
  const others: string[] = [];
  for (const m of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)) {
    if (m[1] === 'CERTIFICATE') certificates.push(Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64'));
    else others.push(m[1]!);
  }
  return { certificates, others };
}

/** One certificate of the image's trust stores: its Java alias and DER bytes. */
export interface TrustedCa {
  alias: string;
  der: Buffer;
}

/**
 * The certificates of the bundle, in bundle order, with the aliases Debian's ca-certificates-java
 * gives them: `debian:<file>.pem` (the /etc/ssl/certs link name, lowercase), `-2`, `-3`… after
 * the second certificate of one file.
 */
export function packageCas(certificates: ReadonlyMap<string, Buffer>): TrustedCa[] {
  const paths = [...certificates.keys()].filter(isCaCertificatePath).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return paths.flatMap((p) => {
    const name = `debian:${p
      .slice(p.lastIndexOf('/') + 1)
      .replace(/\.crt$/, '.pem')
      .toLowerCase()}`;
    return pemBlocks((certificates.get(p) as Buffer).toString('utf8')).certificates.map((der, i) => ({
      alias: i === 0 ? name : `${name}-${i + 1}`,
      der,
    }));
  });
}
