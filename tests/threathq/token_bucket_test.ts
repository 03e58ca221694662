import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createTokenBucket } from "../../src/threathq/token_bucket.ts";
import { rejectionOf } from "../support/threathq_harness.ts";

const t = suite("threathq: token bucket");

/** Creates a fake clock that moves only when a sleep ends. */
function fakeTime() {
  let time = 0;
  const timers: Array<{ at: number; resolve: () => void }> = [];
  return {
    now: () => time,
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        timers.push({ at: time + ms, resolve });
      }),
    /** Runs the earliest timer; returns false when none is left. */
    step() {
      timers.sort((a, b) => a.at - b.at);
      const timer = timers.shift();
      if (timer === undefined) return false;
      time = Math.max(time, timer.at);
      timer.resolve();
      return true;
    },
  };
}

async function settle() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

t("burst then sustained rate", async () => {
  const time = fakeTime();
  const bucket = createTokenBucket({
    capacity: 10,
    ratePerSecond: 10,
    now: time.now,
    sleep: time.sleep,
  });
  const grantedAt: number[] = [];
  const takes = Array.from(
    { length: 30 },
    () => bucket.take().then(() => grantedAt.push(time.now())),
  );

  await settle();
  while (time.step()) await settle();
  await Promise.all(takes);

  assert.is(grantedAt.length, 30);
  assert.equal(grantedAt.slice(0, 10), Array(10).fill(0));
  for (let i = 10; i < 30; i++) {
    assert.ok(
      Math.abs(grantedAt[i] - (i - 9) * 100) < 1e-6,
      `take ${i} at ${grantedAt[i]}`,
    );
  }
});

t("no one-second window exceeds rate plus capacity", async () => {
  const time = fakeTime();
  const bucket = createTokenBucket({
    capacity: 5,
    ratePerSecond: 20,
    now: time.now,
    sleep: time.sleep,
  });
  const grantedAt: number[] = [];
  const takes = Array.from(
    { length: 200 },
    () => bucket.take().then(() => grantedAt.push(time.now())),
  );
  await settle();
  while (time.step()) await settle();
  await Promise.all(takes);

  for (const start of grantedAt) {
    const inWindow = grantedAt.filter((at) => at >= start && at < start + 1000);
    assert.ok(inWindow.length <= 25, `${inWindow.length} from ${start}`);
  }
});

t("refills while idle up to capacity", async () => {
  let time = 0;
  const waits: number[] = [];
  const bucket = createTokenBucket({
    capacity: 2,
    ratePerSecond: 1,
    now: () => time,
    sleep: (ms) => {
      waits.push(ms);
      time += ms;
      return Promise.resolve();
    },
  });
  await bucket.take();
  await bucket.take();
  time += 60_000;
  assert.is(await bucket.take(), 0);
  assert.is(await bucket.take(), 0);
  assert.is(await bucket.take(), 1000);
  assert.equal(waits, [1000]);
});

t("aborted waiter gives its token back", async () => {
  const time = fakeTime();
  const bucket = createTokenBucket({
    capacity: 1,
    ratePerSecond: 1,
    now: time.now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        signal?.addEventListener("abort", () => reject(signal.reason));
        time.sleep(ms).then(resolve);
      }),
  });
  await bucket.take();
  const controller = new AbortController();
  const waiting = bucket.take(controller.signal);
  controller.abort(new Error("stop"));
  const error = await rejectionOf(waiting);
  assert.instance(error, Error);
  assert.is((error as Error).message, "stop");

  const next = bucket.take();
  await settle();
  time.step();
  time.step();
  assert.is(await next, 1000);
});

t("invalid settings throw", () => {
  assert.throws(
    () => createTokenBucket({ capacity: 0, ratePerSecond: 1 }),
    /capacity 0/,
  );
  assert.throws(
    () => createTokenBucket({ capacity: 1, ratePerSecond: 0 }),
    /rate 0/,
  );
});

t.run();
