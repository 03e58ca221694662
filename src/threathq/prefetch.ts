/**
 * Wraps an async generator so that, while the consumer handles item N, the
 * generator already produces item N+1, and never more than that one.
 */

/**
 * Returns an iterator that starts the next item as soon as one is handed
 * out. Call `next()` one at a time. `return()` (a `break` out of
 * `for await`) calls `stop` first, which should abort work in flight.
 */
export function prefetchOne<T>(
  source: AsyncGenerator<T, void, undefined>,
  stop: () => void,
): AsyncIterableIterator<T> {
  let pending: Promise<IteratorResult<T, void>> | undefined;

  const pull = () => {
    const next = source.next();
    // The rejection is read by the next `next()`; until then it is handled.
    next.catch(() => {});
    return next;
  };

  return {
    [Symbol.asyncIterator]() {
      return this;
    },

    async next() {
      const current = pending ?? pull();
      pending = undefined;
      const result = await current;
      if (!result.done) pending = pull();
      return result;
    },

    async return() {
      stop();
      pending = undefined;
      await source.return(undefined).catch(() => {});
      return { done: true, value: undefined };
    },
  };
}
