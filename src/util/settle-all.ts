/**
 * Promise.all that waits for every one of `work` to settle before it throws the first failure (in
 * the list's order): nothing keeps running behind the caller's back.
 */
export async function settleAll<T extends readonly unknown[]>(work: { [K in keyof T]: Promise<T[K]> | T[K] }): Promise<T> {
  const settled = await Promise.allSettled(work);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
