import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import {
  ConnectorHelper,
  formatRunDatetime,
  PING_INTERVAL_MS,
} from "../../src/opencti/connector_helper.ts";
import { type Clock, createFakeClock } from "../../src/runtime/clock.ts";
import {
  helperSettings,
  type PlatformFixture,
  startPlatform,
} from "../support/platform_fixture.ts";

const t = suite("opencti: helper ping and state");

let platform: PlatformFixture;

t.before.each(async () => {
  platform = await startPlatform();
});

t.after.each(async () => {
  await platform.stop();
});

async function registerHelper(
  options: { clock?: Clock; logger?: ReturnType<typeof createMemoryLogger> } =
    {},
) {
  return await ConnectorHelper.register({
    api: platform.api,
    settings: platform.settings,
    logger: options.logger ?? createMemoryLogger(),
    clock: options.clock ?? createFakeClock(),
  });
}

function pings() {
  return platform.standin.callsOf("PingConnector");
}

function savedState() {
  return platform.standin.connectors.get(platform.connectorId)
    ?.connector_state;
}

t("first ping sends null and info", async () => {
  const helper = await registerHelper();

  await helper.ping();

  const [ping] = pings();
  assert.is(ping.variables.id, platform.connectorId);
  assert.is(ping.variables.state, "null");
  assert.equal(ping.variables.connectorInfo, {
    run_and_terminate: false,
    buffering: false,
    queue_threshold: 500,
    queue_messages_size: 0,
    next_run_datetime: null,
    last_run_datetime: null,
  });
  assert.is(ping.status, 200);
});

t("ping loop pings at once then every 40 s", async () => {
  const controller = new AbortController();
  const clock = createFakeClock();
  const sleep = clock.sleep;
  clock.sleep = (ms, signal) => {
    if (clock.sleeps.length === 2) controller.abort();
    return sleep(ms, signal);
  };
  const helper = await registerHelper({ clock });

  await helper.runPingLoop(controller.signal);

  assert.is(pings().length, 3);
  assert.equal(clock.sleeps, [
    PING_INTERVAL_MS,
    PING_INTERVAL_MS,
    PING_INTERVAL_MS,
  ]);
  assert.is(PING_INTERVAL_MS, 40_000);
});

t("run-once mode is reported", async () => {
  const helper = await ConnectorHelper.register({
    api: platform.api,
    settings: helperSettings(platform.connectorId, { duration_period: 0 }),
    logger: createMemoryLogger(),
    clock: createFakeClock(),
  });

  await helper.ping();

  const info = pings()[0].variables.connectorInfo as Record<string, unknown>;
  assert.is(info.run_and_terminate, true);
});

t("schedule reaches the next ping", async () => {
  const helper = await registerHelper();
  const lastRunMs = Date.UTC(2024, 0, 15, 10, 30, 0, 456);

  helper.recordSchedule({
    buffering: true,
    queueSizeMb: 612.5,
    lastRunMs,
    nextRunMs: lastRunMs + 5 * 3_600_000,
  });
  await helper.ping();

  assert.equal(pings()[0].variables.connectorInfo, {
    run_and_terminate: false,
    buffering: true,
    queue_threshold: 500,
    queue_messages_size: 612.5,
    next_run_datetime: "2024-01-15T15:30:00Z",
    last_run_datetime: "2024-01-15T10:30:00Z",
  });
  assert.is(formatRunDatetime(0), "1970-01-01T00:00:00Z");
});

t("setAndPing saves at once", async () => {
  const helper = await registerHelper();

  const outcome = await helper.setAndPing({ next_position: "p-1" });

  assert.is(outcome, "saved");
  assert.is(savedState(), '{"next_position":"p-1"}');
  assert.equal(helper.getState(), { next_position: "p-1" });
  assert.is(pings().length, 1);
});

t("failed ping keeps the state pending", async () => {
  const logger = createMemoryLogger();
  const helper = await registerHelper({ logger });
  platform.standin.failNext("PingConnector", { status: 503, body: "down" });

  const outcome = await helper.setAndPing({ next_position: "p-2" });
  const savedAfterFailure = savedState();
  await helper.ping();

  assert.is(outcome, "pending");
  assert.is(savedAfterFailure, null);
  assert.is(savedState(), '{"next_position":"p-2"}');
  const messages = logger.records().map((record) => record.message);
  assert.ok(messages.includes("Error pinging the API"));
  assert.ok(messages.includes("API Ping back to normal"));
});

t("reset clears state and stops the run", async () => {
  const logger = createMemoryLogger();
  const helper = await registerHelper({ logger });
  await helper.setAndPing({ next_position: "p-3" });
  const run = helper.beginRun();
  const events: Array<string | null> = [];
  helper.onStateReset((event) => events.push(event.returnedState));

  await platform.standin.resetState(platform.connectorId);
  await helper.ping();

  assert.is(helper.getState(), undefined);
  assert.is(run.resetSignal.aborted, true);
  assert.equal(events, [""]);
  assert.is(await run.save({ next_position: "p-4" }), "reset");
  assert.is(savedState(), "");
  const warning = logger.records().find((record) =>
    record.message === "Connector state has been remotely reset"
  );
  assert.ok(warning);
});

t("save that meets the reset is dropped", async () => {
  const helper = await registerHelper();
  await helper.setAndPing({ next_position: "p-5" });
  const run = helper.beginRun();

  await platform.standin.resetState(platform.connectorId);
  const outcome = await run.save({ next_position: "p-6" });

  assert.is(outcome, "reset");
  assert.is(helper.getState(), undefined);
  assert.is(run.resetSignal.aborted, true);
  assert.is(savedState(), "");
  assert.is(pings().at(-1)?.variables.state, '{"next_position":"p-6"}');
});

t("save queued behind a reset ping never undoes it", async () => {
  const helper = await registerHelper();
  await helper.setAndPing({ next_position: "p-7" });
  const run = helper.beginRun();

  // A periodic ping is on its way when the UI resets the state, and the
  // run requests a save of its next position before that ping returns.
  const paused = platform.standin.pause("PingConnector");
  const periodic = helper.ping();
  await paused.reached;
  await platform.standin.resetState(platform.connectorId);
  const save = run.save({ next_position: "p-8" });
  paused.release();
  await periodic;
  const outcome = await save;

  assert.is(outcome, "reset");
  assert.is(savedState(), "");
  assert.is(pings().length, 2);
  assert.is(helper.getState(), undefined);
  assert.is(run.resetSignal.aborted, true);

  // The next ping carries no state, so the platform keeps none.
  await helper.ping();
  assert.is(pings().at(-1)?.variables.state, "null");
  assert.is(savedState(), "null");
});

t("setAndPing during a reset ping is dropped", async () => {
  const helper = await registerHelper();
  await helper.setAndPing({ next_position: "p-9" });

  const paused = platform.standin.pause("PingConnector");
  const periodic = helper.ping();
  await paused.reached;
  await platform.standin.resetState(platform.connectorId);
  const save = helper.setAndPing({ next_position: "p-10" });
  paused.release();
  await periodic;

  assert.is(await save, "reset");
  assert.is(savedState(), "");
});

t("run after a reset saves again", async () => {
  const helper = await registerHelper();
  await helper.setAndPing({ next_position: "p-11" });
  await platform.standin.resetState(platform.connectorId);
  await helper.ping();

  const run = helper.beginRun();
  const outcome = await run.save({ next_position: "p-12" });

  assert.is(run.initialState, undefined);
  assert.is(run.resetSignal.aborted, false);
  assert.is(outcome, "saved");
  assert.is(savedState(), '{"next_position":"p-12"}');
});

t("saves go out in call order", async () => {
  const helper = await registerHelper();

  await Promise.all([
    helper.setAndPing({ page: 1 }),
    helper.setAndPing({ page: 2 }),
    helper.setAndPing({ page: 3 }),
  ]);

  const states = pings().map((ping) => ping.variables.state);
  assert.equal(states, ['{"page":1}', '{"page":2}', '{"page":3}']);
  assert.is(savedState(), '{"page":3}');
});

t("queue size is read in MB", async () => {
  const helper = await registerHelper();
  platform.standin.setQueueMessagesSize(platform.connectorId, 612_500_000);

  assert.is(await helper.queueSizeMb(), 612.5);
});

t("unreadable queue size is undefined", async () => {
  const logger = createMemoryLogger();
  const helper = await registerHelper({ logger });
  platform.standin.failNext("GetConnector", { status: 502 });

  assert.is(await helper.queueSizeMb(), undefined);
  const warning = logger.records().find((record) =>
    record.message === "Failed to read the push queue size"
  );
  assert.ok(warning);
});

t.run();
