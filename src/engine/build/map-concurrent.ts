/**
 * `work` over `items` with at most `limit` running at once, results in the items' order. A directory's entries are
 * stat'ed and hashed this way: one at a time, each file costs several thread-pool round trips in a row, which a busy
 * host stretches to milliseconds each.
 */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
