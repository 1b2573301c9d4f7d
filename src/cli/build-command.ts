/** `alba build RECIPE`: not wired yet. */
export async function buildCommand(_argv: string[]): Promise<void> {
  throw new Error('not implemented');
}
