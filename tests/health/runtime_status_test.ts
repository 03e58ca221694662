import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { ConnectorMetrics } from "../../src/health/connector_metrics.ts";
import { createFakeClock } from "../../src/runtime/clock.ts";
import { runMainLoop } from "../../src/runtime/main_loop.ts";
import {
  DEFAULT_LIVENESS_TIMEOUT_MS,
  describeError,
  RuntimeStatus,
  type RuntimeStatusOptions,
} from "../../src/health/runtime_status.ts";

const t = suite("health: runtime status");

const START = Date.UTC(2026, 0, 1, 12, 0, 0);

/** Creates a status on a clock that moves only when the test sets `clock.time`. */
function newStatus(options: Partial<RuntimeStatusOptions> = {}) {
  const clock = { time: START };
  const metrics = new ConnectorMetrics({ logger: createMemoryLogger() });
  const status = new RuntimeStatus({
    now: () => clock.time,
    metrics,
    requiresRegistration: false,
    requiresBroker: false,
    ...options,
  });
  return { clock, metrics, status };
}

t("new status is idle and alive", () => {
  const { status } = newStatus();
  const report = status.healthReport();

  assert.is(report.state, "idle");
  assert.is(report.alive, true);
  assert.is(report.last_tick_at, "2026-01-01T12:00:00.000Z");
  assert.is(report.liveness_timeout_ms, DEFAULT_LIVENESS_TIMEOUT_MS);
  assert.is(report.last_run_started_at, null);
  assert.is(report.last_error, null);
  assert.is(report.last_run_counts, null);
});

t("liveness ends after the timeout without a tick", () => {
  const { clock, status } = newStatus({ livenessTimeoutMs: 1_000 });

  clock.time = START + 1_000;
  assert.is(status.isAlive(), true);
  clock.time = START + 1_001;
  assert.is(status.isAlive(), false);
  assert.is(status.healthReport().alive, false);

  status.tick();
  assert.is(status.isAlive(), true);
});

t("default liveness timeout is five minutes", () => {
  const { clock, status } = newStatus();

  clock.time = START + 5 * 60_000;
  assert.is(status.isAlive(), true);
  clock.time = START + 5 * 60_000 + 1;
  assert.is(status.isAlive(), false);
});

t("every update counts as a tick", () => {
  const { clock, status } = newStatus({ livenessTimeoutMs: 1_000 });
  const updates: Array<() => void> = [
    () => status.runStarted(),
    () => status.runFinished(),
    () => status.runFailed(new Error("x")),
    () => status.errorOccurred("x"),
    () => status.scheduleUpdated({ buffering: false }),
    () => status.positionSaved("1"),
    () => status.settingsValidated(),
    () => status.connectorRegistered(),
    () => status.brokerConnected(),
    () => status.brokerDisconnected("x"),
  ];

  updates.forEach((update, index) => {
    clock.time = START + (index + 1) * 10_000;
    update();
    assert.is(status.isAlive(), true, `update ${index}`);
  });
});

t("finished run records times and counts", () => {
  const { clock, metrics, status } = newStatus();

  status.runStarted();
  assert.is(status.state, "running");
  clock.time = START + 90_000;
  status.runFinished({ mapped: 3, skipped: 1, objectsSent: 40 });
  const report = status.healthReport();

  assert.is(report.state, "idle");
  assert.is(report.last_run_started_at, "2026-01-01T12:00:00.000Z");
  assert.is(report.last_run_finished_at, "2026-01-01T12:01:30.000Z");
  assert.is(report.last_success_at, "2026-01-01T12:01:30.000Z");
  assert.is(report.last_run_result, "succeeded");
  assert.equal(report.last_run_counts, {
    mapped: 3,
    skipped: 1,
    deleted: 0,
    failed: 0,
    objects_sent: 40,
    bundles_sent: 0,
  });
  assert.is(metrics.runs.get(), 1);
  assert.equal(metrics.runDuration.get(), { count: 1, sum: 90 });
  assert.is(metrics.lastSuccessTimestamp.get(), (START + 90_000) / 1_000);
  assert.is(metrics.state.get({ state: "idle" }), 1);
});

t("failed run records the error", () => {
  const { clock, metrics, status } = newStatus();

  status.runStarted();
  clock.time = START + 5_000;
  status.runFailed(new Error("ThreatHQ returned 500"), { failed: 2 });
  const report = status.healthReport();

  assert.is(report.last_run_result, "failed");
  assert.is(report.last_success_at, null);
  assert.equal(report.last_error, {
    message: "ThreatHQ returned 500",
    at: "2026-01-01T12:00:05.000Z",
  });
  assert.is(report.last_run_counts!.failed, 2);
  assert.is(metrics.errors.get(), 1);
  assert.is(metrics.lastSuccessTimestamp.get(), 0);
  assert.equal(metrics.runDuration.get(), { count: 1, sum: 5 });
});

t("new run clears the previous end", () => {
  const { status } = newStatus();

  status.runStarted();
  status.runFinished();
  status.scheduleUpdated({ buffering: false, nextRunMs: START + 3_600_000 });
  assert.is(status.healthReport().next_run_at, "2026-01-01T13:00:00.000Z");
  status.runStarted();
  const report = status.healthReport();

  assert.is(report.last_run_finished_at, null);
  assert.is(report.next_run_at, null);
  assert.is(report.last_success_at, "2026-01-01T12:00:00.000Z");
});

t("buffering state follows the schedule", () => {
  const { metrics, status } = newStatus();

  status.scheduleUpdated({ buffering: true, queueSizeMb: 612.5 });
  assert.is(status.state, "buffering");
  assert.is(metrics.state.get({ state: "buffering" }), 1);
  assert.is(metrics.pushQueueSize.get(), 612_500_000);

  status.scheduleUpdated({ buffering: false, queueSizeMb: 0 });
  assert.is(status.state, "idle");
  assert.is(metrics.pushQueueSize.get(), 0);
});

t("stopping is never left", () => {
  const { metrics, status } = newStatus();

  status.runStarted();
  status.stopRequested();
  status.runFinished();
  status.scheduleUpdated({ buffering: true });
  status.runStarted();

  assert.is(status.state, "stopping");
  assert.is(metrics.state.get({ state: "stopping" }), 1);
  assert.is(metrics.state.get({ state: "running" }), 0);
});

t("saved position is reported", () => {
  const { status } = newStatus();

  status.positionSaved("1767268800000");
  assert.is(status.healthReport().saved_position, "1767268800000");
});

t("error description drops frames and secrets", () => {
  const error = new Error(
    "push failed for amqp://opencti:brokerpass@rabbit:5672/ with token s3cr3t\n" +
      "    at publish (file:///app/src/opencti/amqp.ts:10:5)\n" +
      "    at async run (file:///app/src/run.ts:3:1)",
  );
  const message = describeError(error, ["s3cr3t"]);

  assert.is(message, "push failed for amqp://***@rabbit:5672/ with token ***");
});

t("error description is cut to 500 characters", () => {
  const message = describeError("x".repeat(2_000));

  assert.is(message.length, 503);
  assert.ok(message.endsWith("..."));
  assert.is(describeError(42), "42");
});

t("recorded errors are redacted", () => {
  const { status } = newStatus({ secrets: ["tok-123"] });

  status.errorOccurred(new Error("rejected tok-123"));
  assert.is(status.healthReport().last_error!.message, "rejected ***");
});

t("directory-only readiness needs settings only", () => {
  const { status } = newStatus();

  const before = status.readinessReport();
  assert.is(before.ready, false);
  assert.is(before.reason, "settings: settings not validated yet");
  assert.equal(Object.keys(before.checks), ["settings", "shutdown"]);

  status.settingsValidated();
  assert.equal(status.readinessReport(), {
    ready: true,
    checks: { settings: { ok: true }, shutdown: { ok: true } },
  });
});

t("queue-mode readiness needs registration and broker", () => {
  const { status } = newStatus({
    requiresRegistration: true,
    requiresBroker: true,
    secrets: ["mq-pass"],
  });

  status.settingsValidated();
  assert.is(
    status.readinessReport().reason,
    "registration: not registered with OpenCTI yet; broker: not connected yet",
  );

  status.connectorRegistered();
  status.brokerConnected();
  assert.is(status.readinessReport().ready, true);

  status.brokerDisconnected(new Error("socket closed, password mq-pass"));
  const report = status.readinessReport();
  assert.is(report.ready, false);
  assert.is(report.reason, "broker: disconnected: socket closed, password ***");

  status.brokerConnected();
  assert.is(status.readinessReport().ready, true);
});

t("API-protocol readiness skips the broker", () => {
  const { status } = newStatus({ requiresRegistration: true });

  status.settingsValidated();
  status.connectorRegistered();
  const report = status.readinessReport();

  assert.is(report.ready, true);
  assert.equal(Object.keys(report.checks), [
    "settings",
    "registration",
    "shutdown",
  ]);
});

t("stopping connector is not ready", () => {
  const { status } = newStatus();

  status.settingsValidated();
  status.stopRequested();
  const report = status.readinessReport();

  assert.is(report.ready, false);
  assert.is(report.reason, "shutdown: the connector is stopping");
});

t("main loop keeps the status alive", async () => {
  const fake = createFakeClock(START);
  const metrics = new ConnectorMetrics({ logger: createMemoryLogger() });
  const status = new RuntimeStatus({
    now: fake.now,
    metrics,
    requiresRegistration: false,
    requiresBroker: false,
  });
  const aliveAfterSleep: boolean[] = [];
  const states = new Set<string>();
  const clock = {
    now: fake.now,
    async sleep(ms: number, signal?: AbortSignal) {
      await fake.sleep(ms, signal);
      aliveAfterSleep.push(status.isAlive());
      states.add(status.state);
    },
  };
  const controller = new AbortController();
  const queueSizes = [600, 0, 0];
  let runs = 0;

  const exitStatus = await runMainLoop(
    {
      async runOnce() {
        status.runStarted();
        await clock.sleep(120_000);
        status.runFinished({ mapped: 1 });
        if (++runs === 2) controller.abort();
        return { ok: true };
      },
      queueSizeMb: () => Promise.resolve(queueSizes.shift()),
      onSchedule: (info) => status.scheduleUpdated(info),
      onTick: () => status.tick(),
      finish() {
        status.stopRequested();
        return Promise.resolve();
      },
    },
    { periodMs: 3_600_000, runAndTerminate: false, queueThresholdMb: 500 },
    {
      clock,
      logger: createMemoryLogger(),
      signal: controller.signal,
    },
  );

  assert.is(exitStatus, 0);
  assert.ok(aliveAfterSleep.length > 200);
  assert.ok(aliveAfterSleep.every((alive) => alive));
  assert.equal([...states].sort(), ["buffering", "idle", "running"]);
  assert.is(status.state, "stopping");
  assert.is(metrics.runs.get(), 2);
  assert.is(metrics.pushQueueSize.get(), 0);
  assert.is(status.healthReport().last_run_counts!.mapped, 1);
});

t.run();
