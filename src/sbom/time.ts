/** Epoch seconds (SOURCE_DATE_EPOCH) as `YYYY-MM-DDThh:mm:ssZ`, the form SPDX and OCI annotations use. */
export function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
