/** `alba sbom LAYOUT`: not wired yet. */
export async function sbomCommand(_argv: string[]): Promise<void> {
  throw new Error('not implemented');
}
