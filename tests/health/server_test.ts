import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { ConnectorMetrics } from "../../src/health/connector_metrics.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../../src/health/prometheus_text.ts";
import {
  RuntimeStatus,
  type RuntimeStatusOptions,
} from "../../src/health/runtime_status.ts";
import {
  createHealthApp,
  HealthServerError,
  startHealthServer,
} from "../../src/health/server.ts";
import { VERSION } from "../../src/version.ts";
import { parseExposition, sampleValue } from "./prometheus_parser.ts";

const t = suite("health: server");

const START = Date.UTC(2026, 0, 1, 12, 0, 0);
const SECRET = 'tok"en\\secret-42';

function setup(options: Partial<RuntimeStatusOptions> = {}) {
  const clock = { time: START };
  const logger = createMemoryLogger({ secrets: [SECRET] });
  const metrics = new ConnectorMetrics({ logger });
  const status = new RuntimeStatus({
    now: () => clock.time,
    metrics,
    requiresRegistration: false,
    requiresBroker: false,
    ...options,
  });
  const app = createHealthApp({
    status,
    registry: metrics.registry,
    logger,
    secrets: [SECRET],
  });
  return { app, clock, logger, metrics, status };
}

t("healthz returns 200 with the status", async () => {
  const { app, status } = setup();
  status.runStarted();
  status.runFinished({ mapped: 2 });
  status.positionSaved("1767268800000");

  const response = await app.request("/healthz");
  const body = await response.json();

  assert.is(response.status, 200);
  assert.is(
    response.headers.get("content-type"),
    "application/json; charset=utf-8",
  );
  assert.is(response.headers.get("cache-control"), "no-store");
  assert.is(body.alive, true);
  assert.is(body.state, "idle");
  assert.is(body.version, VERSION);
  assert.is(body.saved_position, "1767268800000");
  assert.is(body.last_run_counts.mapped, 2);
  assert.is(body.last_success_at, "2026-01-01T12:00:00.000Z");
  for (
    const key of [
      "last_run_started_at",
      "last_run_finished_at",
      "last_error",
      "next_run_at",
    ]
  ) {
    assert.ok(key in body, key);
  }
});

t("healthz returns 503 when the loop stalls", async () => {
  const { app, clock } = setup({ livenessTimeoutMs: 60_000 });
  clock.time = START + 60_001;

  const response = await app.request("/healthz");
  const body = await response.json();

  assert.is(response.status, 503);
  assert.is(body.alive, false);
  assert.is(body.last_tick_at, "2026-01-01T12:00:00.000Z");
});

t("readyz returns 503 with the reason", async () => {
  const { app, status } = setup({
    requiresRegistration: true,
    requiresBroker: true,
  });
  status.settingsValidated();
  status.connectorRegistered();

  const waiting = await app.request("/readyz");
  const waitingBody = await waiting.json();
  assert.is(waiting.status, 503);
  assert.is(waitingBody.ready, false);
  assert.is(waitingBody.reason, "broker: not connected yet");

  status.brokerConnected();
  const ready = await app.request("/readyz");
  assert.is(ready.status, 200);
  assert.is((await ready.json()).ready, true);
});

t("metrics returns valid Prometheus text", async () => {
  const { app, metrics, status } = setup();
  status.runStarted();
  metrics.threatsProcessed.inc({ result: "mapped" });
  metrics.threathqObserver().onRequest({
    endpoint: "/threat/updates",
    method: "POST",
    status: 200,
    durationMs: 300,
  });

  const response = await app.request("/metrics");
  const families = parseExposition(await response.text());

  assert.is(response.status, 200);
  assert.is(response.headers.get("content-type"), PROMETHEUS_CONTENT_TYPE);
  assert.is(sampleValue(families, "runs_total"), 1);
  assert.is(sampleValue(families, "state", { state: "running" }), 1);
  assert.is(
    sampleValue(families, "threats_processed_total", { result: "mapped" }),
    1,
  );
  assert.ok(families.has("threathq_request_duration_seconds"));
});

t("HEAD returns headers without a body", async () => {
  const { app } = setup();

  for (const path of ["/healthz", "/readyz", "/metrics"]) {
    const response = await app.request(path, { method: "HEAD" });
    assert.ok([200, 503].includes(response.status), path);
    assert.is(await response.text(), "", path);
  }
});

t("other methods return 405", async () => {
  const { app } = setup();

  for (const path of ["/healthz", "/readyz", "/metrics"]) {
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const response = await app.request(path, { method });
      const body = await response.json();
      assert.is(response.status, 405, `${method} ${path}`);
      assert.is(response.headers.get("allow"), "GET, HEAD");
      assert.match(body.error, `method ${method} is not allowed`);
    }
  }
});

t("other paths return 404", async () => {
  const { app } = setup();

  for (const path of ["/", "/livez", "/healthz/", "/metrics/x", "/.env"]) {
    const response = await app.request(path);
    const body = await response.json();
    assert.is(response.status, 404, path);
    assert.match(body.error, "/healthz, /readyz, /metrics");
  }
  const post = await app.request("/unknown", { method: "POST" });
  assert.is(post.status, 404);
});

t("secrets never leave the server", async () => {
  const { app, metrics, status } = setup({
    requiresRegistration: true,
    requiresBroker: true,
  });
  status.errorOccurred(new Error(`ThreatHQ rejected ${SECRET}`));
  status.brokerDisconnected(
    new Error(`closed amqp://opencti:${SECRET}@127.0.0.1:5672 ${SECRET}`),
  );
  metrics.threathqObserver().onRequest({
    endpoint: `/threat/${SECRET}`,
    method: "GET",
    status: 401,
    durationMs: 1,
  });

  const bodies: string[] = [];
  for (const path of ["/healthz", "/readyz", "/metrics"]) {
    bodies.push(await (await app.request(path)).text());
  }
  const escapedInJson = JSON.stringify(SECRET).slice(1, -1);

  for (const body of bodies) {
    assert.not.ok(body.includes(SECRET), body);
    assert.not.ok(body.includes(escapedInJson), body);
    assert.not.ok(body.includes("secret-42"), body);
  }
  assert.match(bodies[0], "ThreatHQ rejected ***");
  assert.match(bodies[1], /amqp:\/\/\S*\*\*\*@127\.0\.0\.1:5672/);
  parseExposition(bodies[2]);
});

t("errors return 500 without a stack", async () => {
  const { app, logger, status } = setup();
  status.healthReport = () => {
    throw new Error(`boom with ${SECRET}`);
  };

  const response = await app.request("/healthz");
  const text = await response.text();
  const logged = logger.records().find((record) =>
    record.message === "Health server request failed"
  );

  assert.is(response.status, 500);
  assert.equal(JSON.parse(text), { error: "internal error; see the logs" });
  assert.not.ok(text.includes("boom"));
  assert.not.ok(text.includes(" at "));
  assert.ok(logged !== undefined);
  assert.not.ok(JSON.stringify(logged).includes("secret-42"));
});

t("server listens on a real port", async () => {
  const { app, logger } = setup();
  const server = startHealthServer({
    app,
    hostname: "127.0.0.1",
    port: 0,
    logger,
  });

  try {
    const base = `http://127.0.0.1:${server.port}`;
    const health = await fetch(`${base}/healthz`);
    const metrics = await fetch(`${base}/metrics`);
    const missing = await fetch(`${base}/nothing`);

    assert.is(health.status, 200);
    assert.is((await health.json()).state, "idle");
    assert.is(metrics.status, 200);
    parseExposition(await metrics.text());
    assert.is(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await server.shutdown();
  }

  const messages = logger.records().map((record) => record.message);
  assert.ok(messages.includes("Health server listening"));
  assert.ok(messages.includes("Health server stopped"));
  const refused = await fetch(`http://127.0.0.1:${server.port}/healthz`)
    .then(() => false, () => true);
  assert.ok(refused, "the port still accepts connections after shutdown");
});

t("abort signal stops the server", async () => {
  const { app, logger } = setup();
  const controller = new AbortController();
  const server = startHealthServer({
    app,
    hostname: "127.0.0.1",
    port: 0,
    logger,
    signal: controller.signal,
  });

  controller.abort();
  await server.finished;
  const refused = await fetch(`http://127.0.0.1:${server.port}/healthz`)
    .then(() => false, () => true);
  assert.ok(refused);
});

t("busy port names the setting", () => {
  const { app, logger } = setup();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });

  try {
    const port = (listener.addr as Deno.NetAddr).port;
    assert.throws(
      () => startHealthServer({ app, hostname: "127.0.0.1", port, logger }),
      (error: Error) =>
        error instanceof HealthServerError &&
        error.message.includes(`127.0.0.1 port ${port}`) &&
        error.message.includes("CONNECTOR_METRICS_PORT"),
    );
  } finally {
    listener.close();
  }
});

t.run();
