/**
 * The time limit of each `check`: one abort signal per check that fires
 * after the limit or when the command is interrupted, and a race for calls
 * that take no signal, such as the AMQP handshake.
 */

/** Time limit of one check, in milliseconds. */
export const CHECK_TIMEOUT_MS = 10_000;

/** Returns a signal that aborts after `timeoutMs` or when `parent` aborts. */
export function deadlineSignal(
  timeoutMs: number,
  parent: AbortSignal,
): AbortSignal {
  return AbortSignal.any([parent, AbortSignal.timeout(timeoutMs)]);
}

/** Returns whether the signal aborted because its time limit passed. */
export function timedOut(signal: AbortSignal): boolean {
  const reason: unknown = signal.reason;
  return signal.aborted && reason instanceof DOMException &&
    reason.name === "TimeoutError";
}

/**
 * Resolves or rejects as the promise does, or rejects with the signal's
 * reason when it aborts first. The promise keeps running after an abort,
 * so the caller releases what it eventually returns.
 */
export function raceSignal<T>(
  promise: Promise<T>,
  signal: AbortSignal,
): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);

  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", onAbort)
    );
  });
}
