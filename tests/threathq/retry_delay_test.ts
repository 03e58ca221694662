import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  MAX_RETRY_AFTER_MS,
  parseRetryAfterMs,
  retryDelayMs,
} from "../../src/threathq/retry_delay.ts";

const t = suite("threathq: retry delay");

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

const cases: Array<{
  name: string;
  retry: number;
  random: number;
  retryAfter?: string;
  maxDelayMs?: number;
  expected: number;
}> = [
  {
    name: "first retry, top of jitter",
    retry: 1,
    random: 0.999,
    expected: 999,
  },
  { name: "first retry, no jitter", retry: 1, random: 0, expected: 0 },
  { name: "second retry doubles", retry: 2, random: 0.5, expected: 1000 },
  { name: "fourth retry", retry: 4, random: 0.5, expected: 4000 },
  { name: "cap at api_backoff", retry: 10, random: 0.5, expected: 15_000 },
  {
    name: "small cap",
    retry: 3,
    random: 0.5,
    maxDelayMs: 1000,
    expected: 500,
  },
  {
    name: "Retry-After seconds wins",
    retry: 1,
    random: 0.5,
    retryAfter: "7",
    expected: 7000,
  },
  {
    name: "Retry-After over the cap wins",
    retry: 1,
    random: 0.5,
    retryAfter: "120",
    expected: 120_000,
  },
  {
    name: "Retry-After HTTP date",
    retry: 1,
    random: 0.5,
    retryAfter: "Wed, 01 Jan 2025 12:00:09 GMT",
    expected: 9000,
  },
  {
    name: "Retry-After date in the past",
    retry: 1,
    random: 0.5,
    retryAfter: "Wed, 01 Jan 2025 11:00:00 GMT",
    expected: 0,
  },
  {
    name: "invalid Retry-After ignored",
    retry: 2,
    random: 0.5,
    retryAfter: "soon",
    expected: 1000,
  },
  {
    name: "negative Retry-After ignored",
    retry: 2,
    random: 0.5,
    retryAfter: "-5",
    expected: 1000,
  },
];

for (const item of cases) {
  t(item.name, () => {
    const delay = retryDelayMs({
      retry: item.retry,
      maxDelayMs: item.maxDelayMs ?? 30_000,
      retryAfter: item.retryAfter,
      nowMs: NOW,
      random: () => item.random,
    });
    assert.is(delay, item.expected);
  });
}

t("Retry-After is cut to fifteen minutes", () => {
  const day = retryDelayMs({
    retry: 1,
    maxDelayMs: 30_000,
    retryAfter: "86400",
    nowMs: 0,
    random: () => 0.5,
  });
  assert.is(day, MAX_RETRY_AFTER_MS);
  assert.is(MAX_RETRY_AFTER_MS, 900_000);
});

t("full jitter stays within the bound", () => {
  for (let retry = 1; retry <= 8; retry++) {
    for (const random of [0, 0.25, 0.5, 0.75, 0.9999]) {
      const delay = retryDelayMs({
        retry,
        maxDelayMs: 30_000,
        nowMs: NOW,
        random: () => random,
      });
      const bound = Math.min(30_000, 1000 * 2 ** (retry - 1));
      assert.ok(delay >= 0, `retry ${retry}: ${delay} is negative`);
      assert.ok(delay < bound, `retry ${retry}: ${delay} >= ${bound}`);
    }
  }
});

t("Retry-After parsing rejects bare dates", () => {
  assert.is(parseRetryAfterMs("2025-01-01", NOW), undefined);
  assert.is(parseRetryAfterMs(null, NOW), undefined);
  assert.is(parseRetryAfterMs(" 3 ", NOW), 3000);
});

t.run();
