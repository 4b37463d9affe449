// Runs async work over a list with a bound on how much is in flight, and keeps every
// outcome: one failed item never stops the others (registry save, sync and copy).

export type Settled<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: unknown };

export async function mapSettled<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<Array<Settled<R>>> {
  const results = new Array<Settled<R>>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { ok: true, value: await work(items[index]!, index) };
      } catch (error) {
        results[index] = { ok: false, error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** mapSettled, then the results in order; the first failure (by position) is thrown once all settled. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  return (await mapSettled(items, limit, work)).map((outcome) => {
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  });
}
