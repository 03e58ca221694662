/**
 * The connector's metrics. The first eight keep the names that pycti's
 * `OpenCTIMetricHandler` exposes, so dashboards built for OpenCTI's Python
 * connectors keep working; the rest describe the ThreatHQ side. Every name
 * gets the `CONNECTOR_METRICS_NAMESPACE` and `CONNECTOR_METRICS_SUBSYSTEM`
 * prefixes when they are set, joined with `_` as prometheus_client joins
 * them.
 */
import { ConfigError } from "../config/load.ts";
import type { Logger } from "../log/logger.ts";
import {
  type Counter,
  type Gauge,
  type Histogram,
  MetricRegistry,
} from "./metrics.ts";
import { CONNECTOR_STATES, type ConnectorState } from "./runtime_status.ts";

/** One finished ThreatHQ request attempt, as the HTTP client reports it. */
export interface ThreatHqRequestInfo {
  /** A fixed name without ids, such as `threat/malware/{id}`. */
  endpoint: string;
  method: string;
  /** The HTTP status; absent when no response arrived (network error). */
  status?: number;
  durationMs: number;
}

/** One retry of a ThreatHQ request. */
export interface ThreatHqRetryInfo {
  endpoint?: string;
}

/** The callbacks the ThreatHQ HTTP client calls. */
export interface ThreatHqObserver {
  onRequest(info: ThreatHqRequestInfo): void;
  onRetry(info: ThreatHqRetryInfo): void;
  /** Called with the time in milliseconds that a request waited for the rate limit. */
  onRateLimitWait(ms: number): void;
}

export const THREAT_RESULTS = [
  "mapped",
  "skipped",
  "deleted",
  "failed",
] as const;
export type ThreatResult = typeof THREAT_RESULTS[number];

/** Bucket bounds in seconds; one request attempt is cut off at 60 s by default. */
const REQUEST_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Bucket bounds in seconds, from 1 second to 4 hours. */
const RUN_DURATION_BUCKETS = [
  1,
  5,
  15,
  30,
  60,
  120,
  300,
  600,
  1_800,
  3_600,
  7_200,
  14_400,
];

const PREFIX_PART = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export interface ConnectorMetricsOptions {
  logger: Logger;
  /** `connector.metrics_namespace`. */
  namespace?: string;
  /** `connector.metrics_subsystem`. */
  subsystem?: string;
}

/** Builds the prefix from the namespace and subsystem settings. */
export function metricPrefix(namespace?: string, subsystem?: string): string {
  const parts: Array<[string, string, string | undefined]> = [
    ["connector.metrics_namespace", "CONNECTOR_METRICS_NAMESPACE", namespace],
    ["connector.metrics_subsystem", "CONNECTOR_METRICS_SUBSYSTEM", subsystem],
  ];
  let prefix = "";
  for (const [path, env, value] of parts) {
    if (value === undefined || value === "") continue;
    if (!PREFIX_PART.test(value)) {
      throw new ConfigError([{
        path,
        env,
        message: `${
          JSON.stringify(value)
        } is invalid: a metric name prefix contains only letters, digits, _ and :, and does not start with a digit`,
      }]);
    }
    prefix += `${value}_`;
  }
  return prefix;
}

/**
 * The connector's metrics, created on one registry. Fields are public so the
 * main loop and the clients update them directly, such as
 * `metrics.threatsProcessed.inc({ result: "mapped" })`.
 */
export class ConnectorMetrics {
  readonly registry: MetricRegistry;

  /** pycti `bundle_send`: messages (split bundles) sent to the platform. */
  readonly bundlesSent: Counter;
  /** pycti `record_send`: STIX objects sent to the platform. */
  readonly recordsSent: Counter;
  /** pycti `run_count`. */
  readonly runs: Counter;
  /** pycti `ping_api_count`: successful pings. */
  readonly pingApi: Counter;
  /** pycti `ping_api_error`. */
  readonly pingApiErrors: Counter;
  /** pycti `error_count`. */
  readonly errors: Counter;
  /** pycti `client_error_count`: failed ThreatHQ request attempts. */
  readonly clientErrors: Counter;
  /** pycti `state`: 1 for the current state, 0 for the others. */
  readonly state: Gauge<"state">;

  readonly threathqRequests: Counter<"endpoint" | "method" | "status">;
  readonly threathqRequestDuration: Histogram<"endpoint">;
  readonly threathqRetries: Counter<"endpoint">;
  readonly threathqRateLimitWaits: Counter;
  readonly threathqRateLimitWaitSeconds: Counter;
  readonly threatsProcessed: Counter<"result">;
  readonly stixObjectsSent: Counter<"type">;
  readonly runDuration: Histogram;
  readonly lastSuccessTimestamp: Gauge;
  readonly pushQueueSize: Gauge;

  constructor(options: ConnectorMetricsOptions) {
    const registry = new MetricRegistry({
      logger: options.logger,
      prefix: metricPrefix(options.namespace, options.subsystem),
    });
    this.registry = registry;

    this.bundlesSent = registry.counter({
      name: "bundles_sent_total",
      help: "Bundles (messages) sent to the OpenCTI platform.",
    });
    this.recordsSent = registry.counter({
      name: "records_sent_total",
      help: "STIX objects sent to the OpenCTI platform.",
    });
    this.runs = registry.counter({
      name: "runs_total",
      help: "Runs started.",
    });
    this.pingApi = registry.counter({
      name: "ping_api_total",
      help: "Successful pings of the OpenCTI platform.",
    });
    this.pingApiErrors = registry.counter({
      name: "ping_api_errors_total",
      help: "Failed pings of the OpenCTI platform.",
    });
    this.errors = registry.counter({
      name: "errors_total",
      help: "Errors the connector recorded (failed runs and other errors).",
    });
    this.clientErrors = registry.counter({
      name: "client_errors_total",
      help:
        "ThreatHQ request attempts that failed: HTTP status 400 or higher, or no response.",
    });
    this.state = registry.gauge({
      name: "state",
      help: "The connector's state: 1 for the current state, 0 for the others.",
      labelNames: ["state"],
      initialLabels: CONNECTOR_STATES.map((state) => ({ state })),
    });
    this.state.set({ state: "idle" }, 1);

    this.threathqRequests = registry.counter({
      name: "threathq_requests_total",
      help:
        "ThreatHQ request attempts by endpoint, method and HTTP status (error: no response).",
      labelNames: ["endpoint", "method", "status"],
    });
    this.threathqRequestDuration = registry.histogram({
      name: "threathq_request_duration_seconds",
      help: "Duration of one ThreatHQ request attempt, in seconds.",
      labelNames: ["endpoint"],
      buckets: REQUEST_DURATION_BUCKETS,
    });
    this.threathqRetries = registry.counter({
      name: "threathq_retries_total",
      help: "Retried ThreatHQ requests.",
      labelNames: ["endpoint"],
    });
    this.threathqRateLimitWaits = registry.counter({
      name: "threathq_rate_limit_waits_total",
      help: "Times a ThreatHQ request waited for the client's rate limit.",
    });
    this.threathqRateLimitWaitSeconds = registry.counter({
      name: "threathq_rate_limit_wait_seconds_total",
      help: "Time spent waiting for the ThreatHQ rate limit, in seconds.",
    });
    this.threatsProcessed = registry.counter({
      name: "threats_processed_total",
      help: "ThreatHQ threats processed, by result.",
      labelNames: ["result"],
      initialLabels: THREAT_RESULTS.map((result) => ({ result })),
    });
    this.stixObjectsSent = registry.counter({
      name: "stix_objects_sent_total",
      help: "STIX objects sent to the OpenCTI platform, by STIX type.",
      labelNames: ["type"],
    });
    this.runDuration = registry.histogram({
      name: "run_duration_seconds",
      help: "Duration of one run, in seconds.",
      buckets: RUN_DURATION_BUCKETS,
    });
    this.lastSuccessTimestamp = registry.gauge({
      name: "last_success_timestamp_seconds",
      help:
        "End of the last successful run, in seconds since the Unix epoch (0: none yet).",
    });
    this.pushQueueSize = registry.gauge({
      name: "push_queue_size_bytes",
      help:
        "Size of the platform's push queue for this connector, in bytes, as last checked.",
    });
  }

  /** Sets the state gauge to 1 for `current` and 0 for the other states. */
  setState(current: ConnectorState): void {
    for (const state of CONNECTOR_STATES) {
      this.state.set({ state }, state === current ? 1 : 0);
    }
  }

  /** Counts one message sent to the platform with objects of these types. */
  recordBundleSent(objectTypes: readonly string[]): void {
    this.bundlesSent.inc();
    this.recordObjects(objectTypes);
  }

  /**
   * Counts objects that reached their destination without a platform
   * message, as in directory-only mode; `bundles_sent_total` stays for
   * platform messages.
   */
  recordObjects(objectTypes: readonly string[]): void {
    this.recordsSent.inc(objectTypes.length);
    for (const type of objectTypes) this.stixObjectsSent.inc({ type });
  }

  /**
   * Returns callbacks for the ThreatHQ HTTP client that update the request
   * metrics. `onActivity` runs after each callback, so the caller can mark
   * the main loop alive while a slow request is retried.
   */
  threathqObserver(
    options: { onActivity?: () => void } = {},
  ): ThreatHqObserver {
    const activity = options.onActivity ?? (() => {});
    return {
      onRequest: (info) => {
        this.#recordRequest(info);
        activity();
      },
      onRetry: (info) => {
        this.threathqRetries.inc({ endpoint: info.endpoint ?? "unknown" });
        activity();
      },
      onRateLimitWait: (ms) => {
        this.threathqRateLimitWaits.inc();
        this.threathqRateLimitWaitSeconds.inc(Math.max(0, ms) / 1_000);
        activity();
      },
    };
  }

  #recordRequest(info: ThreatHqRequestInfo): void {
    const answered = info.status !== undefined && info.status > 0;
    const status = answered ? String(info.status) : "error";
    this.threathqRequests.inc({
      endpoint: info.endpoint,
      method: info.method.toUpperCase(),
      status,
    });
    this.threathqRequestDuration.observe(
      { endpoint: info.endpoint },
      Math.max(0, info.durationMs) / 1_000,
    );
    if (!answered || info.status! >= 400) this.clientErrors.inc();
  }
}
