import { suite } from "uvu";
import * as assert from "uvu/assert";
import { CredentialsRejectedError } from "../../src/errors.ts";
import {
  FINISHED_WORK_MESSAGE,
  STATE_RESET_WORK_MESSAGE,
} from "../../src/opencti/run_work.ts";
import {
  FAILED_WORK_MESSAGE,
  STOPPED_WORK_MESSAGE,
} from "../../src/runtime/sync_run.ts";
import type { SyncDeletion } from "../../src/threathq/sync.ts";
import { runHarness, startSimulator } from "./run_fixture.ts";

const t = suite("runtime: sync run");

/** 23 threats in results of 5: five results with objects, then empty ones. */
const THREATS = 23;

function processedMessage(events: string[]): string | undefined {
  return events.find((event) => event.startsWith("toProcessed:"));
}

t("each result is saved after its delivery", async () => {
  const { simulator } = startSimulator(THREATS);
  try {
    const harness = runHarness(simulator);
    const outcome = await harness.run();

    assert.equal(outcome, { ok: true });
    const steps = harness.events.filter((event) =>
      event.startsWith("deliver") || event.startsWith("save")
    );
    assert.ok(steps.length >= 4);
    for (let index = 0; index < steps.length; index += 2) {
      assert.match(steps[index], /^deliver:/, `step ${index}`);
      assert.is(steps[index + 1], "save:saved", `step ${index + 1}`);
    }
    const report = harness.reports[0];
    assert.is(report.end, "completed");
    assert.is(report.totals.mapped, THREATS);
    assert.is(report.totals.deleted, 2);
    assert.equal(report.savedState, harness.states.saved.at(-1));
    assert.type(report.savedState?.next_position, "string");
  } finally {
    await simulator.close();
  }
});

t("second run from the saved state sends nothing", async () => {
  const { simulator } = startSimulator(THREATS);
  try {
    const harness = runHarness(simulator);
    await harness.run();
    const delivered = harness.delivery.delivered.length;
    const events = harness.events.length;

    const outcome = await harness.run();

    assert.equal(outcome, { ok: true });
    const again = harness.delivery.delivered.slice(delivered);
    assert.equal(again.map((objects) => objects.length), [0]);
    assert.is(harness.reports[1].totals.objectsSent, 0);
    const secondRun = harness.events.slice(events);
    assert.not.ok(secondRun.some((event) => event.startsWith("addWork")));
    const updates = simulator.requestsTo("threat/updates").at(-1)!;
    const saved = harness.states.saved.at(-2)!;
    assert.match(updates.query, `position=${saved.next_position}`);
  } finally {
    await simulator.close();
  }
});

t("completed run closes its work with the summary", async () => {
  const { simulator } = startSimulator(THREATS);
  try {
    const harness = runHarness(simulator);
    await harness.run();

    const message = processedMessage(harness.events);
    assert.ok(message?.startsWith("toProcessed:work-1:false:"));
    assert.match(message!, FINISHED_WORK_MESSAGE);
    assert.match(message!, `${THREATS} threats mapped, 0 skipped, 2 deleted`);
    assert.is(
      harness.metrics.threatsProcessed.get({ result: "mapped" }),
      THREATS,
    );
    assert.is(harness.metrics.threatsProcessed.get({ result: "deleted" }), 2);
    assert.is(harness.metrics.runs.get(), 1);
    assert.is(harness.status.healthReport().last_run_result, "succeeded");
  } finally {
    await simulator.close();
  }
});

t("failed delivery keeps the previous state", async () => {
  const { simulator } = startSimulator(THREATS);
  try {
    const harness = runHarness(simulator, { failOn: 2 });
    const outcome = await harness.run();

    assert.equal(outcome, { ok: false });
    assert.is(harness.states.saved.length, 1);
    const delivers = harness.events.flatMap((event, index) =>
      event.startsWith("deliver") ? [index] : []
    );
    assert.is(delivers.length, 2);
    const afterFailure = harness.events.slice(delivers[1]);
    assert.not.ok(afterFailure.some((event) => event.startsWith("save")));
    const report = harness.reports[0];
    assert.is(report.end, "failed");
    assert.is(report.totals.failed, 5);
    assert.equal(report.savedState, harness.states.saved[0]);
    const message = processedMessage(harness.events)!;
    assert.match(message, `toProcessed:work-1:true:${FAILED_WORK_MESSAGE}`);
    assert.match(message, "delivery 2 failed on purpose");
    const logged = harness.logger.records().find((record) =>
      String(record.message).startsWith("Connector run failed")
    );
    assert.ok(logged);
    const attributes = logged.attributes as Record<string, unknown>;
    assert.is(attributes.error, "delivery 2 failed on purpose");
    assert.is(attributes.result_part, 2);
    assert.is(harness.metrics.threatsProcessed.get({ result: "failed" }), 5);
    assert.is(harness.status.healthReport().last_run_result, "failed");
  } finally {
    await simulator.close();
  }
});

t("reset signal stops before the save", async () => {
  const { simulator } = startSimulator(THREATS);
  try {
    let harness: ReturnType<typeof runHarness> | undefined = undefined;
    harness = runHarness(simulator, {
      onDeliver: (call) => {
        if (call === 2) harness!.states.reset.abort();
      },
    });
    const outcome = await harness.run();

    assert.equal(outcome, { ok: true });
    assert.is(harness.states.saved.length, 1);
    assert.is(harness.delivery.delivered.length, 2);
    assert.is(harness.reports[0].end, "reset");
    const message = processedMessage(harness.events)!;
    assert.is(message, `toProcessed:work-1:false:${STATE_RESET_WORK_MESSAGE}`);
  } finally {
    await simulator.close();
  }
});

t("save reporting a reset stops the run", async () => {
  const { simulator } = startSimulator(THREATS);
  try {
    const harness = runHarness(simulator);
    harness.states.saveOutcome = (index) => index === 1 ? "reset" : "saved";
    await harness.run();

    assert.is(harness.delivery.delivered.length, 2);
    assert.is(harness.reports[0].end, "reset");
    assert.equal(harness.reports[0].savedState, harness.states.saved[0]);
  } finally {
    await simulator.close();
  }
});

t("abort stops without saving further", async () => {
  const { simulator } = startSimulator(THREATS);
  try {
    const controller = new AbortController();
    const harness = runHarness(simulator, {
      onDeliver: (call) => {
        if (call === 2) controller.abort("SIGTERM");
      },
    });
    const outcome = await harness.run(controller.signal);

    assert.equal(outcome, { ok: true });
    assert.is(harness.reports[0].end, "stopped");
    assert.ok(harness.states.saved.length <= 2);
    assert.is(harness.delivery.delivered.length, 2);
    const message = processedMessage(harness.events)!;
    assert.match(message, `toProcessed:work-1:false:${STOPPED_WORK_MESSAGE}`);
  } finally {
    await simulator.close();
  }
});

t("rejected ThreatHQ credentials end the process", async () => {
  const { simulator } = startSimulator(3);
  try {
    const harness = runHarness(simulator, { password: "wrong" });
    try {
      await harness.run();
      assert.unreachable("the run did not throw");
    } catch (error) {
      assert.instance(error, CredentialsRejectedError);
    }
    assert.equal(harness.states.saved, []);
    assert.is(harness.reports.length, 0);
    assert.is(harness.status.healthReport().last_run_result, "failed");
  } finally {
    await simulator.close();
  }
});

t("deletions reach the handler before the save", async () => {
  const { simulator } = startSimulator(THREATS);
  try {
    const seen: SyncDeletion[] = [];
    let harness: ReturnType<typeof runHarness> | undefined = undefined;
    harness = runHarness(simulator, {
      withdrawals: {
        handle(deletions) {
          seen.push(...deletions);
          harness!.events.push(`withdraw:${deletions.length}`);
          return Promise.resolve(undefined as never);
        },
      },
    });
    await harness.run();

    assert.is(seen.length, 2);
    assert.ok(seen.every((deletion) => deletion.threatType === "malware"));
    const steps = harness.events.filter((event) =>
      /^(deliver|withdraw|save)/.test(event)
    );
    for (let index = 0; index < steps.length; index += 3) {
      assert.match(steps[index], /^deliver:/, `step ${index}`);
      assert.match(steps[index + 1], /^withdraw:/, `step ${index + 1}`);
      assert.is(steps[index + 2], "save:saved", `step ${index + 2}`);
    }
    assert.is(steps[1], "withdraw:2");
  } finally {
    await simulator.close();
  }
});

t("run that sends nothing opens no work", async () => {
  const { simulator } = startSimulator(0);
  try {
    const harness = runHarness(simulator);
    await harness.run();

    assert.not.ok(harness.events.some((event) => event.startsWith("addWork")));
    assert.is(processedMessage(harness.events), undefined);
    assert.is(harness.reports[0].end, "completed");
  } finally {
    await simulator.close();
  }
});

t.run();
