/**
 * The wait before a retry: exponential backoff with full jitter, capped at
 * `api_backoff`, unless the server sent `Retry-After`, which wins up to
 * `MAX_RETRY_AFTER_MS`.
 */

/** The upper bound of the first retry's wait, before the cap. */
export const FIRST_RETRY_MAX_MS = 1000;

/**
 * The longest `Retry-After` obeyed, 15 minutes. A longer one would stall the
 * run with no sign of life, so the wait is cut to this, and the retry fails
 * again if the server still refuses.
 */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;

export interface RetryDelayInput {
  /** 1 for the first retry, 2 for the second, and so on. */
  retry: number;
  /** The cap of the computed wait (`api_backoff`), in milliseconds. */
  maxDelayMs: number;
  /** The response's `Retry-After` header, if any. */
  retryAfter?: string | null;
  /** Current time in epoch milliseconds, to resolve an HTTP date. */
  nowMs: number;
  /** A number in [0, 1); `Math.random` outside tests. */
  random: () => number;
}

/**
 * Parses `Retry-After` as delta seconds or as an HTTP date. Returns the
 * wait in milliseconds (0 for a date in the past), or undefined when the
 * header is absent or invalid.
 */
export function parseRetryAfterMs(
  header: string | null | undefined,
  nowMs: number,
): number | undefined {
  if (header === null || header === undefined) return undefined;

  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;

  // An HTTP date always names its weekday and its time zone (GMT), which
  // keeps Date.parse from accepting a bare number or a local date here.
  if (!/^[A-Za-z]{3}/.test(text) || !/GMT$/i.test(text)) return undefined;
  const epochMs = Date.parse(text);
  if (Number.isNaN(epochMs)) return undefined;
  return Math.max(0, epochMs - nowMs);
}

/** Computes the wait before a retry, in whole milliseconds. */
export function retryDelayMs(input: RetryDelayInput): number {
  const serverWait = parseRetryAfterMs(input.retryAfter, input.nowMs);
  if (serverWait !== undefined) return Math.min(serverWait, MAX_RETRY_AFTER_MS);

  const exponent = Math.max(0, input.retry - 1);
  const ceiling = Math.min(
    input.maxDelayMs,
    FIRST_RETRY_MAX_MS * 2 ** exponent,
  );
  return Math.floor(input.random() * ceiling);
}
