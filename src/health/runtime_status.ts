/**
 * The health model that the main loop updates and the health server reads:
 * the connector's state, its last runs and errors, and the readiness checks.
 *
 * Liveness: the main loop ticks at least every 15 seconds while it waits. The
 * ThreatHQ client's observer ticks on every request, retry and rate-limit
 * wait when it is created with `onActivity: () => status.tick()`. Every update
 * method below also counts as a tick. `/healthz` reports the loop dead
 * when the last tick is older than `livenessTimeoutMs` (default 5 minutes),
 * which leaves room for one ThreatHQ request attempt (60 s default timeout)
 * plus its backoff (30 s default maximum) several times over.
 */
import type { ConnectorMetrics } from "./connector_metrics.ts";
import { redactSecrets } from "./redact.ts";

export const CONNECTOR_STATES = [
  "idle",
  "running",
  "buffering",
  "stopping",
] as const;
export type ConnectorState = typeof CONNECTOR_STATES[number];

export const DEFAULT_LIVENESS_TIMEOUT_MS = 5 * 60_000;

/** The maximum length of a stored error message, in characters. */
const MAX_ERROR_LENGTH = 500;

/** The counts of one run. Every count defaults to 0. */
export interface RunCounts {
  mapped: number;
  skipped: number;
  deleted: number;
  failed: number;
  objectsSent: number;
  bundlesSent: number;
}

export interface RuntimeStatusOptions {
  /** Current time in epoch milliseconds. */
  now: () => number;
  /** Updated on every state change and run; optional for tests. */
  metrics?: ConnectorMetrics;
  livenessTimeoutMs?: number;
  /** Whether readiness waits for the registration with OpenCTI. */
  requiresRegistration: boolean;
  /** Whether readiness waits for the RabbitMQ connection. */
  requiresBroker: boolean;
  /** Values removed from recorded error messages. */
  secrets?: readonly string[];
}

/** The `/healthz` body; times are ISO 8601 UTC, null when unknown. */
export interface HealthReport {
  alive: boolean;
  state: ConnectorState;
  last_tick_at: string;
  liveness_timeout_ms: number;
  last_run_started_at: string | null;
  last_run_finished_at: string | null;
  last_run_result: "succeeded" | "failed" | null;
  last_success_at: string | null;
  last_error: { message: string; at: string } | null;
  next_run_at: string | null;
  saved_position: string | null;
  last_run_counts: {
    mapped: number;
    skipped: number;
    deleted: number;
    failed: number;
    objects_sent: number;
    bundles_sent: number;
  } | null;
}

export interface ReadinessCheck {
  ok: boolean;
  /** The reason the check fails; absent when it passes. */
  reason?: string;
}

/** The `/readyz` body. Checks that do not apply in this mode are left out. */
export interface ReadinessReport {
  ready: boolean;
  /** The reasons of the failing checks, joined; absent when ready. */
  reason?: string;
  checks: Record<string, ReadinessCheck>;
}

function isoOrNull(epochMs: number | undefined): string | null {
  return epochMs === undefined ? null : new Date(epochMs).toISOString();
}

/**
 * Returns the message of an error without stack frames, secrets or URL
 * credentials, cut to 500 characters.
 */
export function describeError(
  error: unknown,
  secrets: readonly string[] = [],
): string {
  const raw = error instanceof Error ? error.message : String(error);
  const withoutFrames = raw
    .split("\n")
    .filter((line) => !/^\s*at\s/.test(line))
    .join("\n")
    .trim();
  const clean = redactSecrets(withoutFrames, secrets);
  return clean.length > MAX_ERROR_LENGTH
    ? `${clean.slice(0, MAX_ERROR_LENGTH)}...`
    : clean;
}

/** The connector's health, updated by the main loop through small calls. */
export class RuntimeStatus {
  readonly livenessTimeoutMs: number;
  #options: RuntimeStatusOptions;
  #state: ConnectorState = "idle";
  #lastTick: number;
  #runStart?: number;
  #runEnd?: number;
  #runResult?: "succeeded" | "failed";
  #lastSuccess?: number;
  #lastError?: { message: string; at: number };
  #nextRun?: number;
  #position?: string;
  #counts?: RunCounts;
  #settingsValid = false;
  #registered = false;
  #broker: ReadinessCheck = { ok: false, reason: "not connected yet" };

  constructor(options: RuntimeStatusOptions) {
    this.#options = options;
    this.livenessTimeoutMs = options.livenessTimeoutMs ??
      DEFAULT_LIVENESS_TIMEOUT_MS;
    this.#lastTick = options.now();
    options.metrics?.setState("idle");
  }

  get state(): ConnectorState {
    return this.#state;
  }

  /** Marks the main loop alive. */
  tick(): void {
    this.#lastTick = this.#options.now();
  }

  settingsValidated(): void {
    this.#settingsValid = true;
    this.tick();
  }

  connectorRegistered(): void {
    this.#registered = true;
    this.tick();
  }

  brokerConnected(): void {
    this.#broker = { ok: true };
    this.tick();
  }

  /** Records that the broker connection is lost, with the reason shown. */
  brokerDisconnected(reason: unknown): void {
    const detail = describeError(reason, this.#options.secrets);
    this.#broker = { ok: false, reason: `disconnected: ${detail}` };
    this.tick();
  }

  /** Starts a run: state running, `runs_total` + 1. */
  runStarted(): void {
    this.#runStart = this.#options.now();
    this.#runEnd = undefined;
    this.#nextRun = undefined;
    this.#setState("running");
    this.#options.metrics?.runs.inc();
  }

  /**
   * Ends a run that succeeded: state idle, run duration and last success
   * time recorded. The counts are only shown in `/healthz`: the per-threat
   * and per-object counters are incremented as the run goes.
   */
  runFinished(counts: Partial<RunCounts> = {}): void {
    const now = this.#endRun("succeeded", counts);
    this.#lastSuccess = now;
    this.#options.metrics?.lastSuccessTimestamp.set(now / 1_000);
  }

  /** Ends a run that failed: the error is recorded and `errors_total` + 1. */
  runFailed(error: unknown, counts: Partial<RunCounts> = {}): void {
    this.#endRun("failed", counts);
    this.errorOccurred(error);
  }

  /** Records an error that did not end the run; `errors_total` + 1. */
  errorOccurred(error: unknown): void {
    this.#lastError = {
      message: describeError(error, this.#options.secrets),
      at: this.#options.now(),
    };
    this.#options.metrics?.errors.inc();
    this.tick();
  }

  /**
   * Takes what the main loop reports before and after each run: whether it
   * waits for the push queue (state buffering), the next run time and the
   * queue size in MB (10^6 bytes, as pycti computes it).
   */
  scheduleUpdated(
    info: { buffering: boolean; nextRunMs?: number; queueSizeMb?: number },
  ): void {
    if (info.buffering) this.#setState("buffering");
    else if (this.#state === "buffering") this.#setState("idle");
    if (info.nextRunMs !== undefined) this.#nextRun = info.nextRunMs;
    if (info.queueSizeMb !== undefined) {
      this.#options.metrics?.pushQueueSize.set(info.queueSizeMb * 1_000_000);
    }
    this.tick();
  }

  /** Records the changelog position last saved to the platform. */
  positionSaved(position: string): void {
    this.#position = position;
    this.tick();
  }

  /** Enters the stopping state, which no later update leaves. */
  stopRequested(): void {
    this.#setState("stopping");
  }

  /** Returns whether the main loop ticked within the liveness timeout. */
  isAlive(): boolean {
    return this.#options.now() - this.#lastTick <= this.livenessTimeoutMs;
  }

  healthReport(): HealthReport {
    const counts = this.#counts;
    return {
      alive: this.isAlive(),
      state: this.#state,
      last_tick_at: new Date(this.#lastTick).toISOString(),
      liveness_timeout_ms: this.livenessTimeoutMs,
      last_run_started_at: isoOrNull(this.#runStart),
      last_run_finished_at: isoOrNull(this.#runEnd),
      last_run_result: this.#runResult ?? null,
      last_success_at: isoOrNull(this.#lastSuccess),
      last_error: this.#lastError === undefined ? null : {
        message: this.#lastError.message,
        at: new Date(this.#lastError.at).toISOString(),
      },
      next_run_at: isoOrNull(this.#nextRun),
      saved_position: this.#position ?? null,
      last_run_counts: counts === undefined ? null : {
        mapped: counts.mapped,
        skipped: counts.skipped,
        deleted: counts.deleted,
        failed: counts.failed,
        objects_sent: counts.objectsSent,
        bundles_sent: counts.bundlesSent,
      },
    };
  }

  readinessReport(): ReadinessReport {
    const checks: Record<string, ReadinessCheck> = {
      settings: this.#settingsValid
        ? { ok: true }
        : { ok: false, reason: "settings not validated yet" },
    };
    if (this.#options.requiresRegistration) {
      checks.registration = this.#registered
        ? { ok: true }
        : { ok: false, reason: "not registered with OpenCTI yet" };
    }
    if (this.#options.requiresBroker) checks.broker = this.#broker;
    checks.shutdown = this.#state === "stopping"
      ? { ok: false, reason: "the connector is stopping" }
      : { ok: true };

    const failing = Object.entries(checks)
      .filter(([, check]) => !check.ok)
      .map(([name, check]) => `${name}: ${check.reason}`);
    return failing.length === 0
      ? { ready: true, checks }
      : { ready: false, reason: failing.join("; "), checks };
  }

  #endRun(result: "succeeded" | "failed", counts: Partial<RunCounts>): number {
    const now = this.#options.now();
    this.#runEnd = now;
    this.#runResult = result;
    this.#counts = {
      mapped: counts.mapped ?? 0,
      skipped: counts.skipped ?? 0,
      deleted: counts.deleted ?? 0,
      failed: counts.failed ?? 0,
      objectsSent: counts.objectsSent ?? 0,
      bundlesSent: counts.bundlesSent ?? 0,
    };
    if (this.#runStart !== undefined) {
      this.#options.metrics?.runDuration.observe(
        (now - this.#runStart) / 1_000,
      );
    }
    if (this.#state === "running") this.#setState("idle");
    this.tick();
    return now;
  }

  #setState(state: ConnectorState): void {
    if (this.#state === "stopping") return;
    this.#state = state;
    this.#options.metrics?.setState(state);
    this.tick();
  }
}
