import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ConfigError } from "../../src/config/load.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";
import {
  ConnectorMetrics,
  metricPrefix,
} from "../../src/health/connector_metrics.ts";
import { formatPrometheusText } from "../../src/health/prometheus_text.ts";
import { ThreatHqTimeoutError } from "../../src/threathq/errors.ts";
import type { ThreatHqObserver as ClientObserver } from "../../src/threathq/http_client.ts";
import { parseExposition, sampleValue } from "./prometheus_parser.ts";

const t = suite("health: connector metrics");

function newMetrics(namespace?: string, subsystem?: string) {
  return new ConnectorMetrics({
    logger: createMemoryLogger(),
    namespace,
    subsystem,
  });
}

function exposition(metrics: ConnectorMetrics) {
  return parseExposition(formatPrometheusText(metrics.registry.collect()));
}

/** The names and types pycti's OpenCTIMetricHandler exposes. */
const PYCTI_METRICS: Array<[string, string]> = [
  ["bundles_sent_total", "counter"],
  ["records_sent_total", "counter"],
  ["runs_total", "counter"],
  ["ping_api_total", "counter"],
  ["ping_api_errors_total", "counter"],
  ["errors_total", "counter"],
  ["client_errors_total", "counter"],
  ["state", "gauge"],
];

const THREATHQ_METRICS: Array<[string, string]> = [
  ["threathq_requests_total", "counter"],
  ["threathq_request_duration_seconds", "histogram"],
  ["threathq_retries_total", "counter"],
  ["threathq_rate_limit_waits_total", "counter"],
  ["threathq_rate_limit_wait_seconds_total", "counter"],
  ["threats_processed_total", "counter"],
  ["stix_objects_sent_total", "counter"],
  ["run_duration_seconds", "histogram"],
  ["last_success_timestamp_seconds", "gauge"],
  ["push_queue_size_bytes", "gauge"],
];

t("pycti metric names and types", () => {
  const families = exposition(newMetrics());

  for (const [name, type] of PYCTI_METRICS) {
    assert.is(families.get(name)?.type, type, name);
  }
});

t("ThreatHQ metric names and types", () => {
  const families = exposition(newMetrics());

  for (const [name, type] of THREATHQ_METRICS) {
    assert.is(families.get(name)?.type, type, name);
  }
  assert.is(families.size, PYCTI_METRICS.length + THREATHQ_METRICS.length);
});

t("namespace and subsystem prefix every name", () => {
  const families = exposition(newMetrics("opencti", "threathq"));

  for (const [name] of [...PYCTI_METRICS, ...THREATHQ_METRICS]) {
    assert.ok(families.has(`opencti_threathq_${name}`), name);
  }
  assert.not.ok(families.has("runs_total"));
});

t("prefix with one part only", () => {
  assert.is(metricPrefix(undefined, "sub"), "sub_");
  assert.is(metricPrefix("ns", undefined), "ns_");
  assert.is(metricPrefix(undefined, undefined), "");
  assert.is(metricPrefix("", ""), "");
});

t("invalid prefix names the setting", () => {
  let error: unknown;
  try {
    newMetrics("my-namespace");
  } catch (caught) {
    error = caught;
  }

  assert.instance(error, ConfigError);
  const problem = (error as ConfigError).problems[0];
  assert.is(problem.env, "CONNECTOR_METRICS_NAMESPACE");
  assert.match(problem.message, /"my-namespace" is invalid/);
  assert.throws(() => newMetrics("ok", "9sub"), /CONNECTOR_METRICS_SUBSYSTEM/);
});

t("state gauge is one-hot and starts idle", () => {
  const metrics = newMetrics();
  const stateOf = (state: string) =>
    sampleValue(exposition(metrics), "state", { state });

  assert.is(stateOf("idle"), 1);
  assert.is(stateOf("running"), 0);
  metrics.setState("buffering");
  assert.is(stateOf("idle"), 0);
  assert.is(stateOf("buffering"), 1);
  assert.is(stateOf("running"), 0);
  assert.is(stateOf("stopping"), 0);
});

t("threat results exist before the first threat", () => {
  const families = exposition(newMetrics());

  for (const result of ["mapped", "skipped", "deleted", "failed"]) {
    assert.is(
      sampleValue(families, "threats_processed_total", { result }),
      0,
      result,
    );
  }
});

t("bundle sent counts bundles, records and types", () => {
  const metrics = newMetrics();
  metrics.recordBundleSent(["report", "indicator", "indicator"]);
  metrics.recordBundleSent(["report"]);
  const families = exposition(metrics);

  assert.is(sampleValue(families, "bundles_sent_total"), 2);
  assert.is(sampleValue(families, "records_sent_total"), 4);
  assert.is(
    sampleValue(families, "stix_objects_sent_total", { type: "indicator" }),
    2,
  );
  assert.is(
    sampleValue(families, "stix_objects_sent_total", { type: "report" }),
    2,
  );
});

t("observer records requests by endpoint and status", () => {
  const metrics = newMetrics();
  const observer = metrics.threathqObserver();

  observer.onRequest({
    endpoint: "/threat/updates",
    method: "post",
    status: 200,
    durationMs: 120,
  });
  observer.onRequest({
    endpoint: "/threat/updates",
    method: "POST",
    status: 503,
    durationMs: 40,
  });
  observer.onRequest({
    endpoint: "/threat/search",
    method: "GET",
    durationMs: 5,
  });
  const families = exposition(metrics);
  const requests = (status: string, endpoint = "/threat/updates") =>
    sampleValue(families, "threathq_requests_total", {
      endpoint,
      method: endpoint === "/threat/updates" ? "POST" : "GET",
      status,
    });

  assert.is(requests("200"), 1);
  assert.is(requests("503"), 1);
  assert.is(requests("error", "/threat/search"), 1);
  assert.is(sampleValue(families, "client_errors_total"), 2);
  assert.is(
    sampleValue(
      families,
      "threathq_request_duration_seconds",
      { endpoint: "/threat/updates" },
      "threathq_request_duration_seconds_count",
    ),
    2,
  );
  assert.is(
    sampleValue(
      families,
      "threathq_request_duration_seconds",
      { endpoint: "/threat/updates" },
      "threathq_request_duration_seconds_sum",
    ),
    0.16,
  );
  assert.is(
    sampleValue(
      families,
      "threathq_request_duration_seconds",
      { endpoint: "/threat/updates", le: "0.05" },
      "threathq_request_duration_seconds_bucket",
    ),
    1,
  );
});

t("observer records retries and rate-limit waits", () => {
  const metrics = newMetrics();
  const observer = metrics.threathqObserver();

  observer.onRetry({ endpoint: "/threat/updates" });
  observer.onRetry({});
  observer.onRateLimitWait(250);
  observer.onRateLimitWait(1_750);
  const families = exposition(metrics);

  assert.is(
    sampleValue(families, "threathq_retries_total", {
      endpoint: "/threat/updates",
    }),
    1,
  );
  assert.is(
    sampleValue(families, "threathq_retries_total", { endpoint: "unknown" }),
    1,
  );
  assert.is(sampleValue(families, "threathq_rate_limit_waits_total"), 2);
  assert.is(sampleValue(families, "threathq_rate_limit_wait_seconds_total"), 2);
});

t("observer reports activity on every callback", () => {
  const metrics = newMetrics();
  let activity = 0;
  const observer = metrics.threathqObserver({ onActivity: () => activity++ });

  observer.onRequest({
    endpoint: "/a",
    method: "GET",
    status: 200,
    durationMs: 1,
  });
  observer.onRetry({ endpoint: "/a" });
  observer.onRateLimitWait(10);

  assert.is(activity, 3);
});

t("observer fits the ThreatHQ client", () => {
  const metrics = newMetrics();
  // Type-checked against the client's interface by `deno check`.
  const observer: ClientObserver = metrics.threathqObserver();
  const attempt = {
    endpoint: "threat/malware/{id}",
    method: "GET",
    status: undefined,
    durationMs: 30_000,
  };

  observer.onRequest?.(attempt);
  observer.onRetry?.({
    ...attempt,
    path: "/apiv1/threat/malware/6435",
    retry: 1,
    delayMs: 1_000,
    error: new ThreatHqTimeoutError({
      method: "GET",
      path: "/apiv1/threat/malware/6435",
    }, 30_000),
  });
  const families = exposition(metrics);

  assert.is(
    sampleValue(families, "threathq_requests_total", {
      endpoint: "threat/malware/{id}",
      method: "GET",
      status: "error",
    }),
    1,
  );
  assert.is(
    sampleValue(families, "threathq_retries_total", {
      endpoint: "threat/malware/{id}",
    }),
    1,
  );
});

t.run();
