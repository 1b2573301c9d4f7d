/**
 * Maps `items` through `fn` with at most `limit` calls in flight; results keep the input order.
 * After the first failure no new item starts; once the calls already in flight have settled (so
 * nothing keeps running behind the caller's back) the call rejects with the failure of the
 * earliest item among those that failed, so the error reported does not depend on timing.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const failures: { err: unknown; index: number }[] = [];
  const worker = async (): Promise<void> => {
    while (failures.length === 0 && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (err) {
        failures.push({ err, index });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  const earliest = failures.sort((a, b) => a.index - b.index)[0];
  if (earliest !== undefined) throw earliest.err;
  return results;
}
