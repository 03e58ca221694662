import { suite } from "uvu";
import * as assert from "uvu/assert";
import { brokerAvailable } from "../support/amqp.ts";
import { parseExposition, sampleValue } from "../health/prometheus_parser.ts";
import {
  createWorld,
  freePort,
  recordsWith,
  runInProcess,
  savedState,
  worksOf,
} from "./e2e_support.ts";

const t = suite("e2e: run loop");
const queueTest = await brokerAvailable() ? t : t.skip;

t("loop goes on after a failed run", async () => {
  const world = await createWorld({ malware: 10 });
  try {
    world.simulator.injectFault({
      kind: "status",
      status: 503,
      match: { endpoint: "threat/updates" },
      times: 2,
    });
    const controller = new AbortController();
    const run = await runInProcess(
      world,
      world.env({
        CONNECTOR_RUN_AND_TERMINATE: "false",
        CONNECTOR_DURATION_PERIOD: "PT1S",
      }),
      {
        signal: controller.signal,
        onRunFinished: (report) => {
          if (report.end === "completed") controller.abort("SIGTERM");
        },
      },
    );

    assert.is(run.status, 0);
    assert.equal(run.reports.map((report) => report.end), [
      "failed",
      "completed",
    ]);
    const failure = recordsWith(
      run.records,
      "Connector run failed; the next run resumes from the last saved position",
    );
    assert.is(failure.length, 1);
    const attributes = failure[0].attributes as Record<string, unknown>;
    assert.is(attributes.error_type, "ThreatHqServerError");
    assert.is(run.reports[1].totals.mapped > 0, true);
  } finally {
    await world.close();
  }
});

queueTest("reset between runs restarts the next", async () => {
  const world = await createWorld({ platform: true, malware: 10 });
  try {
    const controller = new AbortController();
    let resetDone: Promise<void> | undefined;
    const run = await runInProcess(
      world,
      world.env({
        CONNECTOR_RUN_AND_TERMINATE: "false",
        CONNECTOR_DURATION_PERIOD: "PT1S",
      }),
      {
        signal: controller.signal,
        onRunFinished: () => {
          if (resetDone === undefined) {
            resetDone = world.platform!.standin.resetState(world.connectorId);
          } else {
            controller.abort("SIGTERM");
          }
        },
      },
    );

    assert.is(run.status, 0);
    assert.equal(run.reports.map((report) => report.end), [
      "completed",
      "completed",
    ]);
    assert.is(run.reports[1].totals.mapped, run.reports[0].totals.mapped);
    const reads = world.simulator.requestsTo("threat/updates")
      .filter((request) => request.query.startsWith("?timestamp="));
    assert.is(reads.length, 2);
    assert.is(worksOf(world).length, 2);
    assert.type(savedState(world)?.next_position, "string");
  } finally {
    await world.close();
  }
});

queueTest("health server reports the run", async () => {
  const world = await createWorld({ platform: true, malware: 10 });
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  try {
    const controller = new AbortController();
    const pages: Record<string, { status: number; text: string }> = {};
    const read = async () => {
      for (const path of ["/metrics", "/healthz", "/readyz"]) {
        const response = await fetch(base + path);
        pages[path] = { status: response.status, text: await response.text() };
      }
    };
    const run = await runInProcess(
      world,
      world.env({
        CONNECTOR_RUN_AND_TERMINATE: "false",
        CONNECTOR_EXPOSE_METRICS: "true",
        CONNECTOR_METRICS_PORT: String(port),
      }),
      {
        signal: controller.signal,
        onRunFinished: () => void read().finally(() => controller.abort()),
      },
    );

    assert.is(run.status, 0);
    const totals = run.reports[0].totals;
    const metrics = parseExposition(pages["/metrics"].text);
    assert.is(sampleValue(metrics, "runs_total"), 1);
    assert.is(
      sampleValue(metrics, "threats_processed_total", { result: "mapped" }),
      totals.mapped,
    );
    assert.is(sampleValue(metrics, "bundles_sent_total"), totals.messages);
    assert.is(sampleValue(metrics, "records_sent_total"), totals.objectsSent);
    assert.is(
      sampleValue(metrics, "stix_objects_sent_total", { type: "report" }),
      totals.objectTypes.report,
    );
    assert.ok(sampleValue(metrics, "ping_api_total")! >= 2);
    assert.is(sampleValue(metrics, "push_queue_size_bytes"), 0);
    assert.ok(
      sampleValue(metrics, "threathq_requests_total", {
        endpoint: "threat/updates",
        method: "POST",
        status: "200",
      })! >= 1,
    );

    assert.is(pages["/healthz"].status, 200);
    const health = JSON.parse(pages["/healthz"].text);
    assert.is(health.last_run_result, "succeeded");
    assert.is(health.last_run_counts.mapped, totals.mapped);
    assert.is(health.saved_position, savedState(world)?.next_position);
    assert.is(pages["/readyz"].status, 200);
    const ready = JSON.parse(pages["/readyz"].text);
    assert.equal(ready.checks.registration, { ok: true });
    assert.equal(ready.checks.broker, { ok: true });

    const stopped = await fetch(base + "/healthz").then(
      () => "served",
      () => "refused",
    );
    assert.is(stopped, "refused");
  } finally {
    await world.close();
  }
});

t.run();
