import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { MetricRegistry } from "../../src/health/metrics.ts";
import { formatPrometheusText } from "../../src/health/prometheus_text.ts";
import { parseExposition, sampleValue } from "./prometheus_parser.ts";

const t = suite("health: metrics registry");

function registry(maxSeriesPerMetric?: number) {
  const logger = createMemoryLogger();
  return {
    logger,
    registry: new MetricRegistry({ logger, maxSeriesPerMetric }),
  };
}

function exposition(metrics: MetricRegistry) {
  return parseExposition(formatPrometheusText(metrics.collect()));
}

t("counter starts at zero and adds", () => {
  const { registry: metrics } = registry();
  const runs = metrics.counter({ name: "runs_total", help: "Runs." });

  assert.is(sampleValue(exposition(metrics), "runs_total"), 0);
  runs.inc();
  runs.inc(2.5);
  assert.is(runs.get(), 3.5);
  assert.is(sampleValue(exposition(metrics), "runs_total"), 3.5);
});

t("counter rejects negative and non-finite amounts", () => {
  const { registry: metrics } = registry();
  const runs = metrics.counter({ name: "runs_total", help: "Runs." });

  assert.throws(() => runs.inc(-1), /cannot decrease/);
  assert.throws(() => runs.inc(Number.NaN), /not finite/);
  assert.throws(() => runs.inc(Infinity), /not finite/);
  assert.is(runs.get(), 0);
});

t("labelled counter keeps one series per label set", () => {
  const { registry: metrics } = registry();
  const requests = metrics.counter({
    name: "requests_total",
    help: "Requests.",
    labelNames: ["endpoint", "status"],
  });

  requests.inc({ endpoint: "/a", status: "200" });
  requests.inc({ status: "200", endpoint: "/a" }, 2);
  requests.inc({ endpoint: "/b", status: "500" });
  const families = exposition(metrics);

  assert.is(families.get("requests_total")!.samples.length, 2);
  assert.is(
    sampleValue(families, "requests_total", { endpoint: "/a", status: "200" }),
    3,
  );
  assert.is(requests.get({ endpoint: "/b", status: "500" }), 1);
  assert.is(requests.get({ endpoint: "/c", status: "200" }), 0);
});

t("labelled metric before first use has no samples", () => {
  const { registry: metrics } = registry();
  metrics.counter({ name: "x_total", help: "X.", labelNames: ["kind"] });

  const family = exposition(metrics).get("x_total")!;
  assert.is(family.type, "counter");
  assert.is(family.samples.length, 0);
});

t("label values must match the declared labels", () => {
  const { registry: metrics } = registry();
  const requests = metrics.counter({
    name: "requests_total",
    help: "Requests.",
    labelNames: ["endpoint"],
  });
  const untyped = requests as unknown as { inc(...args: unknown[]): void };

  assert.throws(() => untyped.inc({}), /label "endpoint" must be a string/);
  assert.throws(
    () => untyped.inc({ endpoint: "/a", extra: "1" }),
    /has no label "extra"/,
  );
  assert.throws(() => untyped.inc(), /needs label values for endpoint/);
  assert.throws(() => untyped.inc({ endpoint: 200 }), /must be a string/);
});

t("initial labels create zero series", () => {
  const { registry: metrics } = registry();
  metrics.counter({
    name: "threats_total",
    help: "Threats.",
    labelNames: ["result"],
    initialLabels: [{ result: "mapped" }, { result: "failed" }],
  });
  const families = exposition(metrics);

  assert.is(sampleValue(families, "threats_total", { result: "mapped" }), 0);
  assert.is(sampleValue(families, "threats_total", { result: "failed" }), 0);
  assert.is(families.get("threats_total")!.samples.length, 2);
});

t("gauge sets, adds and subtracts", () => {
  const { registry: metrics } = registry();
  const queue = metrics.gauge({ name: "queue_bytes", help: "Queue." });
  const state = metrics.gauge({
    name: "state",
    help: "State.",
    labelNames: ["state"],
  });

  queue.set(10);
  queue.inc();
  queue.dec(4);
  state.set({ state: "idle" }, 1);
  state.set({ state: "running" }, 0);
  const families = exposition(metrics);

  assert.is(queue.get(), 7);
  assert.is(sampleValue(families, "queue_bytes"), 7);
  assert.is(families.get("queue_bytes")!.type, "gauge");
  assert.is(sampleValue(families, "state", { state: "idle" }), 1);
  assert.is(sampleValue(families, "state", { state: "running" }), 0);
  assert.throws(() => queue.set(Number.NaN), /not finite/);
});

t("histogram buckets are cumulative with +Inf", () => {
  const { registry: metrics } = registry();
  const duration = metrics.histogram({
    name: "duration_seconds",
    help: "Duration.",
    buckets: [0.1, 1, 10],
  });

  for (const value of [0.05, 0.1, 0.5, 3, 60]) duration.observe(value);
  const families = exposition(metrics);
  const bucket = (le: string) =>
    sampleValue(
      families,
      "duration_seconds",
      { le },
      "duration_seconds_bucket",
    );

  assert.is(bucket("0.1"), 2);
  assert.is(bucket("1"), 3);
  assert.is(bucket("10"), 4);
  assert.is(bucket("+Inf"), 5);
  assert.is(
    sampleValue(families, "duration_seconds", {}, "duration_seconds_sum"),
    63.65,
  );
  assert.is(
    sampleValue(families, "duration_seconds", {}, "duration_seconds_count"),
    5,
  );
  assert.equal(duration.get(), { count: 5, sum: 63.65 });
});

t("histogram with labels writes buckets per series", () => {
  const { registry: metrics } = registry();
  const duration = metrics.histogram({
    name: "request_seconds",
    help: "Duration.",
    labelNames: ["endpoint"],
    buckets: [1],
  });

  duration.observe({ endpoint: "/a" }, 0.5);
  duration.observe({ endpoint: "/b" }, 2);
  const families = exposition(metrics);
  const bucket = (endpoint: string, le: string) =>
    sampleValue(
      families,
      "request_seconds",
      { endpoint, le },
      "request_seconds_bucket",
    );

  assert.is(bucket("/a", "1"), 1);
  assert.is(bucket("/a", "+Inf"), 1);
  assert.is(bucket("/b", "1"), 0);
  assert.is(bucket("/b", "+Inf"), 1);
  assert.is(families.get("request_seconds")!.samples.length, 8);
});

t("histogram rejects bad buckets and le label", () => {
  const { registry: metrics } = registry();

  assert.throws(
    () => metrics.histogram({ name: "a", help: "A.", buckets: [1, 1] }),
    /strictly ascending/,
  );
  assert.throws(
    () => metrics.histogram({ name: "b", help: "B.", buckets: [] }),
    /strictly ascending/,
  );
  assert.throws(
    () => metrics.histogram({ name: "c", help: "C.", buckets: [Infinity] }),
    /finite/,
  );
  assert.throws(
    () =>
      metrics.histogram({
        name: "d",
        help: "D.",
        labelNames: ["le"],
        buckets: [1],
      }),
    /cannot declare the label "le"/,
  );
});

t("names are validated", () => {
  const { registry: metrics } = registry();

  assert.throws(
    () => metrics.counter({ name: "1bad", help: "X." }),
    /Metric name "1bad" is invalid/,
  );
  assert.throws(
    () => metrics.counter({ name: "bad-name", help: "X." }),
    /is invalid/,
  );
  assert.throws(
    () => metrics.counter({ name: "ok", help: "X.", labelNames: ["__x"] }),
    /Label name "__x"/,
  );
  assert.throws(
    () => metrics.counter({ name: "ok2", help: "X.", labelNames: ["a-b"] }),
    /Label name "a-b"/,
  );
  assert.throws(
    () => metrics.counter({ name: "ok3", help: "X.", labelNames: ["a", "a"] }),
    /declares a label twice/,
  );
});

t("registering a name twice fails", () => {
  const { registry: metrics } = registry();
  metrics.counter({ name: "runs_total", help: "Runs." });

  assert.throws(
    () => metrics.gauge({ name: "runs_total", help: "Runs." }),
    /already registered/,
  );
});

t("prefix goes before every name", () => {
  const logger = createMemoryLogger();
  const metrics = new MetricRegistry({ logger, prefix: "ns_sub_" });
  const runs = metrics.counter({ name: "runs_total", help: "Runs." });

  assert.is(runs.name, "ns_sub_runs_total");
  assert.ok(exposition(metrics).has("ns_sub_runs_total"));
});

t("series limit drops new series and logs once", () => {
  const { registry: metrics, logger } = registry(2);
  const requests = metrics.counter({
    name: "requests_total",
    help: "Requests.",
    labelNames: ["endpoint"],
  });

  requests.inc({ endpoint: "/a" });
  requests.inc({ endpoint: "/b" });
  requests.inc({ endpoint: "/c" });
  requests.inc({ endpoint: "/d" });
  requests.inc({ endpoint: "/a" });
  const warnings = logger.records().filter((record) =>
    record.level === "WARNING"
  );

  assert.is(requests.get({ endpoint: "/a" }), 2);
  assert.is(requests.get({ endpoint: "/c" }), 0);
  assert.is(exposition(metrics).get("requests_total")!.samples.length, 2);
  assert.is(warnings.length, 1);
  assert.equal(warnings[0].attributes, {
    metric: "requests_total",
    max_series: 2,
  });
});

t.run();
