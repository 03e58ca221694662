/**
 * A token bucket shared by every ThreatHQ request of the process: at most
 * `capacity` requests in a burst, then `ratePerSecond` sustained. Waiters
 * are served in the order they called `take`, because each one reserves
 * its token before it sleeps.
 */
import {
  abortableSleep,
  type Clock,
  monotonicClock,
  type Sleep,
} from "./sleep.ts";

export interface TokenBucketOptions {
  capacity: number;
  ratePerSecond: number;
  now?: Clock;
  sleep?: Sleep;
}

export interface TokenBucket {
  /**
   * Takes one token, waiting for it when the bucket is empty. Resolves to
   * the milliseconds waited; rejects with the signal's reason when aborted.
   */
  take(signal?: AbortSignal): Promise<number>;
}

export function createTokenBucket(options: TokenBucketOptions): TokenBucket {
  if (!(options.capacity >= 1) || !(options.ratePerSecond > 0)) {
    throw new RangeError(
      `invalid token bucket: capacity ${options.capacity} must be 1 or more and rate ${options.ratePerSecond} greater than 0`,
    );
  }

  const now = options.now ?? monotonicClock;
  const sleep = options.sleep ?? abortableSleep;
  const perMs = options.ratePerSecond / 1000;
  let tokens = options.capacity;
  let updatedAt = now();

  const refill = () => {
    const time = now();
    tokens = Math.min(options.capacity, tokens + (time - updatedAt) * perMs);
    updatedAt = time;
  };

  return {
    async take(signal) {
      signal?.throwIfAborted();
      refill();

      // A negative balance is the queue of reserved tokens; this caller's
      // token arrives once the balance climbs back to zero.
      tokens -= 1;
      if (tokens >= 0) return 0;

      const waitMs = -tokens / perMs;
      try {
        await sleep(waitMs, signal);
      } catch (error) {
        tokens += 1;
        throw error;
      }
      return waitMs;
    },
  };
}
