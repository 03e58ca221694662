/** A sleep that an AbortSignal ends early, and the clock type that goes with it. */

/** Waits `ms` milliseconds; rejects with the signal's reason when aborted. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Milliseconds from a fixed origin; only differences matter. */
export type Clock = () => number;

export const monotonicClock: Clock = () => performance.now();

export const abortableSleep: Sleep = (ms, signal) => {
  if (signal?.aborted) return Promise.reject(signal.reason);

  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const onAbort = () => {
    clearTimeout(timer);
    reject(signal?.reason);
  };
  const timer = setTimeout(() => {
    signal?.removeEventListener("abort", onAbort);
    resolve();
  }, ms);
  signal?.addEventListener("abort", onAbort, { once: true });
  return promise;
};
