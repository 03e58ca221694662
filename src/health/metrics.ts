/**
 * A small in-process metrics registry: counters, gauges and histograms with
 * labels, collected into families that `prometheus_text.ts` writes in the
 * Prometheus text exposition format.
 *
 * Label values are kept per series in the order the labels were declared.
 * Each metric keeps at most `maxSeriesPerMetric` series, so a label fed with
 * unbounded values (an id instead of an endpoint template) cannot grow memory
 * without limit. Samples for new series past the limit are dropped, and the
 * drop is logged once per metric.
 */
import type { Logger } from "../log/logger.ts";

export type MetricType = "counter" | "gauge" | "histogram";

/** One line of output: the family name plus `suffix`, labels and a value. */
export interface Sample {
  suffix: "" | "_bucket" | "_sum" | "_count";
  labels: ReadonlyArray<readonly [name: string, value: string]>;
  value: number;
}

/** Every sample of one metric, with the metadata of its HELP and TYPE lines. */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

/** The value of every declared label of a metric. */
export type LabelValues<L extends string> = { readonly [K in L]: string };

/** Arguments of a method that takes the labels first unless there are none. */
type WithLabels<L extends string, Rest extends unknown[]> = [L] extends [never]
  ? Rest
  : [labels: LabelValues<L>, ...Rest];

export interface MetricOptions<L extends string> {
  /** The name without prefixes, such as `runs_total`. */
  name: string;
  help: string;
  labelNames?: readonly L[];
  /** Label sets whose series exist, at zero, before the first update. */
  initialLabels?: ReadonlyArray<LabelValues<L>>;
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds of the buckets, ascending; `+Inf` is always added. */
  buckets: readonly number[];
}

export interface RegistryOptions {
  logger: Logger;
  /** Prepended to every metric name, such as `opencti_threathq_`. */
  prefix?: string;
  maxSeriesPerMetric?: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DEFAULT_MAX_SERIES = 1_000;

interface SeriesLimit {
  max: number;
  logger: Logger;
}

interface Series<State> {
  labels: string[];
  state: State;
}

/** The state shared by every metric type: name, labels and series. */
abstract class Metric<L extends string, State> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  protected readonly series = new Map<string, Series<State>>();
  #limit: SeriesLimit;
  #limitLogged = false;

  constructor(options: MetricOptions<L>, prefix: string, limit: SeriesLimit) {
    this.name = prefix + options.name;
    this.help = options.help;
    this.labelNames = options.labelNames ?? [];
    this.#limit = limit;
    validateNames(this.name, this.labelNames);
  }

  abstract readonly type: MetricType;

  protected abstract initialState(): State;

  abstract collect(): MetricFamily;

  /** Creates the series of every initial label set, at zero. */
  protected seed(initialLabels: ReadonlyArray<LabelValues<L>> = []): void {
    for (const labels of initialLabels) this.seriesOf([labels]);
  }

  /**
   * Returns the series named by the label argument, creating it on first
   * use, or undefined when the series limit drops it.
   */
  protected seriesOf(args: readonly unknown[]): Series<State> | undefined {
    const values = this.#labelValuesOf(args[0]);
    const key = JSON.stringify(values);
    const existing = this.series.get(key);
    if (existing !== undefined) return existing;

    if (this.series.size >= this.#limit.max) {
      this.#logLimitOnce();
      return undefined;
    }
    const created = { labels: values, state: this.initialState() };
    this.series.set(key, created);
    return created;
  }

  /** Returns the state of an existing series without creating it. */
  protected peek(args: readonly unknown[]): State | undefined {
    const key = JSON.stringify(this.#labelValuesOf(args[0]));
    return this.series.get(key)?.state;
  }

  /** Number of leading label arguments: 1 when labels are declared, else 0. */
  protected get labelArity(): number {
    return this.labelNames.length === 0 ? 0 : 1;
  }

  protected pairs(values: string[]): Array<readonly [string, string]> {
    return this.labelNames.map((name, index) => [name, values[index]]);
  }

  #logLimitOnce(): void {
    if (this.#limitLogged) return;
    this.#limitLogged = true;
    this.#limit.logger.warn(
      "Metric series limit reached; samples of new label values are dropped",
      { metric: this.name, max_series: this.#limit.max },
    );
  }

  #labelValuesOf(raw: unknown): string[] {
    if (this.labelNames.length === 0) return [];

    if (typeof raw !== "object" || raw === null) {
      throw new TypeError(
        `Metric ${this.name} needs label values for ${
          this.labelNames.join(", ")
        }; pass them as the first argument`,
      );
    }
    const labels = raw as Record<string, unknown>;
    for (const key of Object.keys(labels)) {
      if (!(this.labelNames as readonly string[]).includes(key)) {
        throw new TypeError(
          `Metric ${this.name} has no label "${key}"; its labels are ${
            this.labelNames.join(", ")
          }`,
        );
      }
    }
    return this.labelNames.map((name) => {
      const value = labels[name];
      if (typeof value !== "string") {
        throw new TypeError(
          `Metric ${this.name}: label "${name}" must be a string, got ${typeof value}`,
        );
      }
      return value;
    });
  }
}

function validateNames(name: string, labelNames: readonly string[]): void {
  if (!METRIC_NAME.test(name)) {
    throw new TypeError(
      `Metric name "${name}" is invalid: use letters, digits, _ and :, not starting with a digit`,
    );
  }
  for (const label of labelNames) {
    if (!LABEL_NAME.test(label) || label.startsWith("__")) {
      throw new TypeError(
        `Label name "${label}" of metric ${name} is invalid: use letters, digits and _, not starting with a digit or __`,
      );
    }
  }
  if (new Set(labelNames).size !== labelNames.length) {
    throw new TypeError(`Metric ${name} declares a label twice`);
  }
}

function requireFinite(metric: string, value: number): void {
  if (!Number.isFinite(value)) {
    throw new RangeError(`Metric ${metric}: value ${value} is not finite`);
  }
}

/** A count that only goes up, such as requests sent. */
export class Counter<L extends string = never> extends Metric<L, number> {
  readonly type = "counter";

  constructor(options: MetricOptions<L>, prefix: string, limit: SeriesLimit) {
    super(options, prefix, limit);
    if (this.labelNames.length === 0) this.seriesOf([]);
    this.seed(options.initialLabels);
  }

  protected initialState(): number {
    return 0;
  }

  /** Adds `amount` (default 1, never negative) to the series. */
  inc(...args: WithLabels<L, [amount?: number]>): void {
    const amount = (args[this.labelArity] as number | undefined) ?? 1;
    requireFinite(this.name, amount);
    if (amount < 0) {
      throw new RangeError(
        `Counter ${this.name} cannot decrease: amount ${amount} is negative; use a gauge for values that go down`,
      );
    }

    const series = this.seriesOf(args);
    if (series !== undefined) series.state += amount;
  }

  /** Returns the current value of the series, 0 when it does not exist. */
  get(...args: WithLabels<L, []>): number {
    return this.peek(args) ?? 0;
  }

  collect(): MetricFamily {
    const samples: Sample[] = [];
    for (const { labels, state } of this.series.values()) {
      samples.push({ suffix: "", labels: this.pairs(labels), value: state });
    }
    return { name: this.name, help: this.help, type: "counter", samples };
  }
}

/** A value that goes up and down, such as a queue size. */
export class Gauge<L extends string = never> extends Metric<L, number> {
  readonly type = "gauge";

  constructor(options: MetricOptions<L>, prefix: string, limit: SeriesLimit) {
    super(options, prefix, limit);
    if (this.labelNames.length === 0) this.seriesOf([]);
    this.seed(options.initialLabels);
  }

  protected initialState(): number {
    return 0;
  }

  /** Sets the series to `value`. */
  set(...args: WithLabels<L, [value: number]>): void {
    const value = args[this.labelArity] as number;
    requireFinite(this.name, value);
    this.#update(args, () => value);
  }

  /** Adds `amount` (default 1) to the series. */
  inc(...args: WithLabels<L, [amount?: number]>): void {
    const amount = (args[this.labelArity] as number | undefined) ?? 1;
    requireFinite(this.name, amount);
    this.#update(args, (current) => current + amount);
  }

  /** Subtracts `amount` (default 1) from the series. */
  dec(...args: WithLabels<L, [amount?: number]>): void {
    const amount = (args[this.labelArity] as number | undefined) ?? 1;
    requireFinite(this.name, amount);
    this.#update(args, (current) => current - amount);
  }

  /** Returns the current value of the series, 0 when it does not exist. */
  get(...args: WithLabels<L, []>): number {
    return this.peek(args) ?? 0;
  }

  #update(args: readonly unknown[], next: (current: number) => number): void {
    const series = this.seriesOf(args);
    if (series !== undefined) series.state = next(series.state);
  }

  collect(): MetricFamily {
    const samples: Sample[] = [];
    for (const { labels, state } of this.series.values()) {
      samples.push({ suffix: "", labels: this.pairs(labels), value: state });
    }
    return { name: this.name, help: this.help, type: "gauge", samples };
  }
}

interface HistogramState {
  /** Observations per bucket, not cumulative; the last entry is `+Inf`. */
  counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into buckets, such as request durations. */
export class Histogram<L extends string = never>
  extends Metric<L, HistogramState> {
  readonly type = "histogram";
  readonly buckets: readonly number[];

  constructor(
    options: HistogramOptions<L>,
    prefix: string,
    limit: SeriesLimit,
  ) {
    super(options, prefix, limit);
    this.buckets = validateBuckets(this.name, options.buckets);
    if ((this.labelNames as readonly string[]).includes("le")) {
      throw new TypeError(
        `Histogram ${this.name} cannot declare the label "le": it names the bucket bound`,
      );
    }
    if (this.labelNames.length === 0) this.seriesOf([]);
    this.seed(options.initialLabels);
  }

  protected initialState(): HistogramState {
    return {
      counts: new Array(this.buckets.length + 1).fill(0),
      sum: 0,
      count: 0,
    };
  }

  /** Counts one observation into the first bucket whose bound is >= value. */
  observe(...args: WithLabels<L, [value: number]>): void {
    const value = args[this.labelArity] as number;
    requireFinite(this.name, value);

    const series = this.seriesOf(args);
    if (series === undefined) return;

    const state = series.state;
    let index = this.buckets.findIndex((bound) => value <= bound);
    if (index === -1) index = this.buckets.length;
    state.counts[index] += 1;
    state.sum += value;
    state.count += 1;
  }

  /** Returns the observation count and sum of the series. */
  get(...args: WithLabels<L, []>): { count: number; sum: number } {
    const state = this.peek(args);
    return { count: state?.count ?? 0, sum: state?.sum ?? 0 };
  }

  collect(): MetricFamily {
    const samples: Sample[] = [];
    for (const { labels, state } of this.series.values()) {
      const pairs = this.pairs(labels);
      let cumulative = 0;
      const bounds = [...this.buckets.map(formatBound), "+Inf"];
      bounds.forEach((bound, index) => {
        cumulative += state.counts[index];
        samples.push({
          suffix: "_bucket",
          labels: [...pairs, ["le", bound]],
          value: cumulative,
        });
      });
      samples.push({ suffix: "_sum", labels: pairs, value: state.sum });
      samples.push({ suffix: "_count", labels: pairs, value: state.count });
    }
    return { name: this.name, help: this.help, type: "histogram", samples };
  }
}

function validateBuckets(name: string, buckets: readonly number[]): number[] {
  const sorted = buckets.every((bound, index) =>
    Number.isFinite(bound) && (index === 0 || bound > buckets[index - 1])
  );
  if (buckets.length === 0 || !sorted) {
    throw new TypeError(
      `Histogram ${name}: buckets [${buckets}] must be finite numbers in strictly ascending order`,
    );
  }
  return [...buckets];
}

/** Formats a bucket bound in JavaScript's shortest form: `1`, `0.25`, `1e-7`. */
function formatBound(bound: number): string {
  return String(bound);
}

/** Creates metrics with a shared name prefix and collects them in order. */
export class MetricRegistry {
  readonly prefix: string;
  #metrics: Array<Metric<string, unknown>> = [];
  #limit: SeriesLimit;

  constructor(options: RegistryOptions) {
    this.prefix = options.prefix ?? "";
    this.#limit = {
      max: options.maxSeriesPerMetric ?? DEFAULT_MAX_SERIES,
      logger: options.logger,
    };
  }

  counter<L extends string = never>(options: MetricOptions<L>): Counter<L> {
    return this.#register(new Counter(options, this.prefix, this.#limit));
  }

  gauge<L extends string = never>(options: MetricOptions<L>): Gauge<L> {
    return this.#register(new Gauge(options, this.prefix, this.#limit));
  }

  histogram<L extends string = never>(
    options: HistogramOptions<L>,
  ): Histogram<L> {
    return this.#register(new Histogram(options, this.prefix, this.#limit));
  }

  /** Returns every metric's samples, in registration order. */
  collect(): MetricFamily[] {
    return this.#metrics.map((metric) => metric.collect());
  }

  #register<M extends Metric<string, unknown>>(metric: M): M {
    if (this.#metrics.some((existing) => existing.name === metric.name)) {
      throw new TypeError(`Metric ${metric.name} is already registered`);
    }
    this.#metrics.push(metric);
    return metric;
  }
}
