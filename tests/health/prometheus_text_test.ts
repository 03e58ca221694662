import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { MetricRegistry } from "../../src/health/metrics.ts";
import {
  escapeLabelValue,
  formatPrometheusText,
  formatValue,
} from "../../src/health/prometheus_text.ts";
import { parseExposition, sampleValue } from "./prometheus_parser.ts";

const t = suite("health: prometheus text");

function newRegistry() {
  return new MetricRegistry({ logger: createMemoryLogger() });
}

t("empty registry writes empty text", () => {
  assert.is(formatPrometheusText([]), "");
});

t("each family has HELP then TYPE", () => {
  const metrics = newRegistry();
  metrics.counter({ name: "runs_total", help: "Runs started." });
  metrics.gauge({ name: "queue_bytes", help: "Queue size." });

  const text = formatPrometheusText(metrics.collect());
  assert.is(
    text,
    "# HELP runs_total Runs started.\n" +
      "# TYPE runs_total counter\n" +
      "runs_total 0\n" +
      "# HELP queue_bytes Queue size.\n" +
      "# TYPE queue_bytes gauge\n" +
      "queue_bytes 0\n",
  );
});

t("label values with escapes read back", () => {
  const metrics = newRegistry();
  const counter = metrics.counter({
    name: "odd_total",
    help: "Odd labels.",
    labelNames: ["value"],
  });
  const values = ["back\\slash", 'quote"d', "line\nfeed", 'all\\"\n', "ü €"];
  for (const value of values) counter.inc({ value });

  const text = formatPrometheusText(metrics.collect());
  const families = parseExposition(text);

  assert.ok(text.includes('odd_total{value="quote\\"d"} 1'));
  assert.ok(text.includes('odd_total{value="line\\nfeed"} 1'));
  assert.ok(text.includes('odd_total{value="back\\\\slash"} 1'));
  for (const value of values) {
    assert.is(sampleValue(families, "odd_total", { value }), 1, value);
  }
});

t("HELP escapes backslash and newline", () => {
  const metrics = newRegistry();
  metrics.counter({ name: "h_total", help: 'Two\nlines \\ and "quotes".' });

  const text = formatPrometheusText(metrics.collect());
  const families = parseExposition(text);

  assert.ok(text.includes('# HELP h_total Two\\nlines \\\\ and "quotes".\n'));
  assert.is(families.get("h_total")!.help, 'Two\nlines \\ and "quotes".');
});

t("escapeLabelValue covers the three escapes", () => {
  assert.is(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.is(escapeLabelValue("plain"), "plain");
});

t("special values are spelled out", () => {
  assert.is(formatValue(Number.NaN), "NaN");
  assert.is(formatValue(Infinity), "+Inf");
  assert.is(formatValue(-Infinity), "-Inf");
  assert.is(formatValue(0.25), "0.25");
  assert.is(formatValue(1e-7), "1e-7");
  assert.is(formatValue(1_700_000_000.5), "1700000000.5");
});

t("histogram output passes the strict parser", () => {
  const metrics = newRegistry();
  const histogram = metrics.histogram({
    name: "d_seconds",
    help: "D.",
    labelNames: ["endpoint"],
    buckets: [1e-7, 0.5, 2],
  });
  histogram.observe({ endpoint: "/x" }, 1);
  histogram.observe({ endpoint: "/x" }, 100);

  const families = parseExposition(formatPrometheusText(metrics.collect()));
  const family = families.get("d_seconds")!;

  assert.is(family.type, "histogram");
  assert.equal(
    family.samples.map((sample) => sample.labels.le ?? sample.name),
    ["1e-7", "0.5", "2", "+Inf", "d_seconds_sum", "d_seconds_count"],
  );
});

// The parser must reject what the format forbids, or the tests above that
// rely on it could not fail.
const INVALID: Array<[string, string, RegExp]> = [
  ["no final newline", "# TYPE a gauge\na 1", /no final newline/],
  ["sample before TYPE", "a 1\n", /has no TYPE/],
  ["unknown escape", '# TYPE a gauge\na{l="\\t"} 1\n', /invalid label escape/],
  ["unescaped quote", '# TYPE a gauge\na{l="x"y"} 1\n', /expected , or }/],
  ["bad value", "# TYPE a gauge\na one\n", /invalid value/],
  ["duplicate series", "# TYPE a gauge\na 1\na 2\n", /duplicate series/],
  ["blank line", "# TYPE a gauge\n\na 1\n", /unexpected line/],
  [
    "split family",
    '# TYPE a gauge\na{x="1"} 1\n# TYPE b gauge\nb 1\na{x="2"} 1\n',
    /out of group/,
  ],
  [
    "buckets not cumulative",
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    /decreases/,
  ],
  [
    "missing +Inf",
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    /le="\+Inf"/,
  ],
  [
    "count differs from +Inf",
    '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n',
    /differs from _count/,
  ],
];

for (const [name, text, error] of INVALID) {
  t(`parser rejects ${name}`, () => {
    assert.throws(() => parseExposition(text), error);
  });
}

t.run();
