import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createFakeClock } from "../../src/runtime/clock.ts";
import {
  type LoopHooks,
  runMainLoop,
  type RunOutcome,
} from "../../src/runtime/main_loop.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";

const t = suite("runtime: main loop");

const HOUR = 3_600_000;

interface Recorder {
  hooks: LoopHooks;
  events: string[];
  controller: AbortController;
}

/** Hooks that record each call; the run outcomes and queue sizes are scripted. */
function recorder(
  outcomes: Array<RunOutcome | Error>,
  queueSizes: number[] = [],
  clock = createFakeClock(),
): Recorder {
  const events: string[] = [];
  const controller = new AbortController();
  let runs = 0;
  const hooks: LoopHooks = {
    runOnce() {
      const outcome = outcomes[runs++];
      events.push(`run@${clock.now()}`);
      if (runs >= outcomes.length) controller.abort();
      if (outcome instanceof Error) return Promise.reject(outcome);
      return Promise.resolve(outcome);
    },
    queueSizeMb: () => Promise.resolve(queueSizes.shift()),
    onSchedule: (info) => events.push(`schedule:${info.buffering}`),
    finish() {
      events.push("finish");
      return Promise.resolve();
    },
  };
  return { hooks, events, controller };
}

t("run and terminate runs once and exits 0", async () => {
  const clock = createFakeClock(0);
  const { hooks, events } = recorder([{ ok: true }, { ok: true }], [], clock);
  const status = await runMainLoop(
    hooks,
    { periodMs: HOUR, runAndTerminate: true, queueThresholdMb: 500 },
    {
      clock,
      logger: createMemoryLogger(),
      signal: new AbortController().signal,
    },
  );
  assert.is(status, 0);
  assert.equal(events, ["schedule:false", "run@0", "finish"]);
});

t("a failed single run exits 1", async () => {
  const clock = createFakeClock(0);
  const { hooks } = recorder([{ ok: false }], [], clock);
  const status = await runMainLoop(
    hooks,
    { periodMs: 0, runAndTerminate: false, queueThresholdMb: 500 },
    {
      clock,
      logger: createMemoryLogger(),
      signal: new AbortController().signal,
    },
  );
  assert.is(status, 1);
});

t("the period counts from the end of a run", async () => {
  const clock = createFakeClock(0);
  const { hooks, events, controller } = recorder(
    [{ ok: true }, { ok: false }, { ok: true }],
    [],
    clock,
  );
  const status = await runMainLoop(
    hooks,
    { periodMs: HOUR, runAndTerminate: false, queueThresholdMb: 500 },
    { clock, logger: createMemoryLogger(), signal: controller.signal },
  );
  assert.is(status, 0);
  const runs = events.filter((event) => event.startsWith("run@"));
  assert.equal(runs, ["run@0", `run@${HOUR}`, `run@${2 * HOUR}`]);
  assert.is(events.at(-1), "finish");
});

t("liveness ticks at least every tick interval", async () => {
  const clock = createFakeClock(0);
  const { hooks, controller } = recorder(
    [{ ok: true }, { ok: true }],
    [],
    clock,
  );
  let ticks = 0;
  hooks.onTick = () => ticks++;
  await runMainLoop(
    hooks,
    {
      periodMs: HOUR,
      runAndTerminate: false,
      queueThresholdMb: 500,
      tickMs: 15_000,
    },
    { clock, logger: createMemoryLogger(), signal: controller.signal },
  );
  assert.ok(clock.sleeps.every((ms) => ms <= 15_000));
  assert.ok(ticks >= HOUR / 15_000);
});

t("a full queue waits a minute and checks again", async () => {
  const clock = createFakeClock(0);
  const { hooks, events } = recorder([{ ok: true }], [600, 501, 499], clock);
  const logger = createMemoryLogger();
  const status = await runMainLoop(
    hooks,
    { periodMs: HOUR, runAndTerminate: true, queueThresholdMb: 500 },
    { clock, logger, signal: new AbortController().signal },
  );
  assert.is(status, 0);
  assert.equal(events, [
    "schedule:true",
    "schedule:true",
    "schedule:false",
    "run@120000",
    "finish",
  ]);
  const buffering = logger.records().filter((r) =>
    String(r.message).startsWith("Connector will not run")
  );
  assert.is(buffering.length, 2);
});

t("an error that must end the process still finishes", async () => {
  const clock = createFakeClock(0);
  const fatal = new Error("credentials rejected");
  const { hooks, events } = recorder([fatal], [], clock);
  try {
    await runMainLoop(
      hooks,
      { periodMs: HOUR, runAndTerminate: false, queueThresholdMb: 500 },
      {
        clock,
        logger: createMemoryLogger(),
        signal: new AbortController().signal,
      },
    );
    assert.unreachable("the error was swallowed");
  } catch (error) {
    assert.is(error, fatal);
  }
  assert.is(events.at(-1), "finish");
});

t("an abort during the wait stops the loop", async () => {
  const clock = createFakeClock(0);
  const controller = new AbortController();
  const { hooks, events } = recorder([{ ok: true }, { ok: true }], [], clock);
  hooks.onTick = () => controller.abort();
  const status = await runMainLoop(
    hooks,
    { periodMs: HOUR, runAndTerminate: false, queueThresholdMb: 500 },
    { clock, logger: createMemoryLogger(), signal: controller.signal },
  );
  assert.is(status, 0);
  assert.is(events.filter((e) => e.startsWith("run@")).length, 1);
  assert.is(events.at(-1), "finish");
});

t.run();
