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
