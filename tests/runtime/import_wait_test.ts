import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { createFakeClock } from "../../src/runtime/clock.ts";
import { waitForEmptyPushQueue } from "../../src/runtime/import_wait.ts";

const t = suite("runtime: import wait");

/** Returns an API whose queue reports these message counts, then 0. */
function queueApi(counts: number[]) {
  const reads: string[] = [];
  return {
    reads,
    fetchQueueDetails(connectorId: string) {
      reads.push(connectorId);
      const messagesNumber = counts.shift() ?? 0;
      return Promise.resolve({ messagesNumber, messagesSize: 0 });
    },
  };
}

t("empty queue returns at once", async () => {
  const api = queueApi([0]);
  const clock = createFakeClock(0);
  const wait = waitForEmptyPushQueue({
    api,
    connectorId: "connector-1",
    clock,
    logger: createMemoryLogger(),
  });

  await wait();

  assert.equal(api.reads, ["connector-1"]);
  assert.equal(clock.sleeps, []);
});

t("queue is polled until empty", async () => {
  const api = queueApi([5, 2, 0]);
  const clock = createFakeClock(0);
  const wait = waitForEmptyPushQueue({
    api,
    connectorId: "connector-1",
    clock,
    logger: createMemoryLogger(),
    pollMs: 500,
  });

  await wait();

  assert.is(api.reads.length, 3);
  assert.equal(clock.sleeps, [500, 500]);
});

t("maximum wait gives up with a warning", async () => {
  const api = queueApi(new Array(100).fill(7));
  const clock = createFakeClock(0);
  const logger = createMemoryLogger();
  const wait = waitForEmptyPushQueue({
    api,
    connectorId: "connector-1",
    clock,
    logger,
    pollMs: 1_000,
    maxWaitMs: 3_000,
  });

  await wait();

  assert.equal(clock.sleeps, [1_000, 1_000, 1_000]);
  const warnings = logger.records().filter((record) =>
    record.level === "WARNING"
  );
  assert.is(warnings.length, 1);
  assert.equal(warnings[0].attributes, { messages: 7, waited_ms: 3_000 });
});

t("abort ends the wait", async () => {
  const controller = new AbortController();
  controller.abort("SIGTERM");
  const wait = waitForEmptyPushQueue({
    api: queueApi([4]),
    connectorId: "connector-1",
    clock: createFakeClock(0),
    logger: createMemoryLogger(),
  });

  try {
    await wait(controller.signal);
    assert.unreachable("the wait ignored the abort");
  } catch (error) {
    assert.is(error, "SIGTERM");
  }
});

t.run();
