import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { ConnectorHelper } from "../../src/opencti/connector_helper.ts";
import {
  FINISHED_WORK_MESSAGE,
  runWorkName,
  STATE_RESET_WORK_MESSAGE,
  WorkFinishedError,
} from "../../src/opencti/run_work.ts";
import { createFakeClock } from "../../src/runtime/clock.ts";
import {
  type PlatformFixture,
  startPlatform,
} from "../support/platform_fixture.ts";

const t = suite("opencti: helper works");

const WORK_OPERATIONS = [
  "workAdd",
  "addExpectations",
  "workToProcessed",
  "ConnectorWorksMutation",
];

let platform: PlatformFixture;
let helper: ConnectorHelper;
let clock: ReturnType<typeof createFakeClock>;

t.before.each(async () => {
  platform = await startPlatform();
  clock = createFakeClock(Date.UTC(2024, 0, 15, 10, 30, 0, 123));
  helper = await ConnectorHelper.register({
    api: platform.api,
    settings: platform.settings,
    logger: createMemoryLogger(),
    clock,
  });
});

t.after.each(async () => {
  await platform.stop();
});

function workCalls() {
  return platform.standin.calls.filter((call) =>
    WORK_OPERATIONS.includes(call.operationName)
  );
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

t("friendly name has the Python form", () => {
  assert.is(
    runWorkName(Date.UTC(2024, 0, 15, 10, 30, 0, 123)),
    "Cofense ThreatHQ - run @ 2024-01-15T10:30:00.123Z",
  );
});

t("run that sends nothing opens no work", async () => {
  const work = helper.createRunWork();

  await work.finish(FINISHED_WORK_MESSAGE, false);

  assert.equal(workCalls(), []);
  assert.is(platform.standin.works.size, 0);
  assert.is(work.finished, true);
});

t("empty open work is deleted", async () => {
  const work = helper.createRunWork();
  const id = await work.start();

  await work.finish(FINISHED_WORK_MESSAGE, false);

  const stored = platform.standin.works.get(id);
  assert.is(stored?.deleted, true);
  assert.is(stored?.processedCalls, 0);
  assert.equal(workCalls().map((call) => call.operationName), [
    "workAdd",
    "ConnectorWorksMutation",
  ]);
});

t("work lifecycle as the platform sees it", async () => {
  const work = helper.createRunWork();

  const id = await work.addExpectations(3);
  assert.is(await work.addExpectations(2), id);
  for (let i = 0; i < 5; i++) await platform.api.reportExpectation(id);
  await work.finish(FINISHED_WORK_MESSAGE, false);

  const stored = platform.standin.works.get(id);
  assert.is(stored?.name, "Cofense ThreatHQ - run @ 2024-01-15T10:30:00.123Z");
  assert.is(stored?.expected, 5);
  assert.is(stored?.processed, 5);
  assert.is(stored?.status, "complete");
  assert.is(stored?.processedCalls, 1);
  assert.equal(stored?.messages.map((entry) => entry.message), [
    FINISHED_WORK_MESSAGE,
  ]);
  assert.equal(stored?.callsAfterProcessed, []);
  assert.equal(workCalls().map((call) => call.operationName), [
    "workAdd",
    "addExpectations",
    "addExpectations",
    "workToProcessed",
  ]);
});

t("failed run is processed in error", async () => {
  const work = helper.createRunWork();
  const id = await work.addExpectations(1);

  await work.finish("ThreatHQ returned HTTP 500", true);

  const call = platform.standin.callsOf("workToProcessed")[0];
  assert.equal(call.variables, {
    id,
    message: "ThreatHQ returned HTTP 500",
    inError: true,
  });
  assert.is(platform.standin.works.get(id)?.errors.length, 1);
});

t("failed empty run still closes its work", async () => {
  const work = helper.createRunWork();
  const id = await work.start();

  await work.finish("ThreatHQ rejected the credentials", true);

  const stored = platform.standin.works.get(id);
  assert.is(stored?.deleted, false);
  assert.is(stored?.status, "complete");
});

t("reset run closes with the reason", async () => {
  const work = helper.createRunWork();
  const id = await work.addExpectations(2);

  await work.finish(STATE_RESET_WORK_MESSAGE, false);

  const stored = platform.standin.works.get(id);
  assert.match(String(stored?.messages[0].message), "state was reset");
  assert.match(String(stored?.messages[0].message), "import_start_date");
});

t("nothing is sent after toProcessed", async () => {
  const work = helper.createRunWork();
  await work.addExpectations(1);
  await work.finish(FINISHED_WORK_MESSAGE, false);
  const before = workCalls().length;

  const add = await rejection(work.addExpectations(1));
  const start = await rejection(work.start());
  await work.finish(FINISHED_WORK_MESSAGE, false);

  assert.instance(add, WorkFinishedError);
  assert.instance(start, WorkFinishedError);
  assert.is(workCalls().length, before);
  assert.throws(
    () => work.recordPushedBundle(),
    (error: unknown) => error instanceof WorkFinishedError,
  );
});

t("work calls never carry a null id", async () => {
  const first = helper.createRunWork();
  await first.addExpectations(2);
  await first.finish(FINISHED_WORK_MESSAGE, false);
  const second = helper.createRunWork();
  await second.start();
  await second.finish(FINISHED_WORK_MESSAGE, false);
  const third = helper.createRunWork();
  await third.finish(FINISHED_WORK_MESSAGE, true);

  for (const call of workCalls()) {
    if (call.operationName === "workAdd") continue;
    const id = call.variables.id ?? call.variables.workId;
    assert.type(id, "string", `${call.operationName} id`);
    assert.match(String(id), `work_${platform.connectorId}_`);
  }
});

t("pushed bundle keeps the work", async () => {
  const work = helper.createRunWork();
  const id = await work.start();
  const bundle = {
    type: "bundle",
    id: "bundle--1c8f0e4e-5b0a-4d7e-9f43-2d6a1b7c9e01",
    spec_version: "2.1",
    objects: [{
      type: "identity",
      spec_version: "2.1",
      id: "identity--69f1df30-eb2f-5845-88e0-64e2d05ab72e",
      name: "Example Corp",
      identity_class: "organization",
    }],
  };

  const pushed = await platform.api.pushBundle(
    platform.connectorId,
    JSON.stringify(bundle),
    id,
  );
  work.recordPushedBundle();
  await work.finish(FINISHED_WORK_MESSAGE, false);

  assert.is(pushed, true);
  const stored = platform.standin.works.get(id);
  assert.is(stored?.deleted, false);
  assert.is(stored?.expected, 1);
  assert.is(stored?.processedCalls, 1);
});

t("expectations must be positive whole numbers", async () => {
  const work = helper.createRunWork();

  for (const count of [0, -1, 1.5, Number.NaN]) {
    const error = await rejection(work.addExpectations(count));
    assert.instance(error, RangeError);
  }
  assert.equal(workCalls(), []);
});

t("toProcessed is retried after a failure", async () => {
  const work = helper.createRunWork();
  const id = await work.addExpectations(1);
  platform.standin.failNext("workToProcessed", { status: 502 });

  await work.finish(FINISHED_WORK_MESSAGE, false);

  assert.is(platform.standin.callsOf("workToProcessed").length, 2);
  assert.is(platform.standin.works.get(id)?.processedCalls, 1);
  assert.equal(clock.sleeps, [2_000]);
});

t("toProcessed gives up after three attempts", async () => {
  const work = helper.createRunWork();
  await work.addExpectations(1);
  platform.standin.failNext("workToProcessed", { status: 502 }, 3);

  const error = await rejection(work.finish(FINISHED_WORK_MESSAGE, false));

  assert.is((error as Error).name, "PlatformHttpError");
  assert.is(platform.standin.callsOf("workToProcessed").length, 3);
});

t.run();
