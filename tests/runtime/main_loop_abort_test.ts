import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { createFakeClock } from "../../src/runtime/clock.ts";
import { type LoopHooks, runMainLoop } from "../../src/runtime/main_loop.ts";

const t = suite("runtime: main loop abort");

function hooksAbortingInRun(controller: AbortController, events: string[]) {
  const hooks: LoopHooks = {
    runOnce() {
      events.push("run");
      controller.abort("SIGTERM");
      return Promise.resolve({ ok: true });
    },
    queueSizeMb: () => Promise.resolve(0),
    onSchedule: (info) =>
      events.push(`schedule:next=${info.nextRunMs !== undefined}`),
    finish() {
      events.push("finish");
      return Promise.resolve();
    },
  };
  return hooks;
}

t("abort during a run schedules no next run", async () => {
  const controller = new AbortController();
  const events: string[] = [];
  const logger = createMemoryLogger();
  const clock = createFakeClock(0);

  const status = await runMainLoop(
    hooksAbortingInRun(controller, events),
    { periodMs: 3_600_000, runAndTerminate: false, queueThresholdMb: 500 },
    { clock, logger, signal: controller.signal },
  );

  assert.is(status, 0);
  assert.equal(events, [
    "schedule:next=false",
    "run",
    "schedule:next=false",
    "finish",
  ]);
  const scheduled = logger.records().filter((record) =>
    record.message === "Schedule next run of connector"
  );
  assert.equal(scheduled, []);
  assert.equal(clock.sleeps, []);
});

t.run();
