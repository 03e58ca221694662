/**
 * The `run` command's process: start the health server, connect to the
 * platform (unless in directory-only mode), build the destinations and the
 * ThreatHQ client, then hand the runs to the main loop until the signal
 * aborts, or once in run-and-terminate mode.
 *
 * On abort (SIGTERM or SIGINT) no new run or page starts, requests in
 * flight are aborted, nothing is saved past the last confirmed delivery,
 * the RabbitMQ connection is closed, the final state is pinged and the
 * health server stops. Each of these shutdown steps is bounded, so the
 * process ends within seconds even when a server stops responding.
 */
import type { LoadedSettings } from "../config/load.ts";
import { logSettingsSources, secretValues } from "../config/load.ts";
import type { Settings } from "../config/settings.ts";
import { EXIT_OK } from "../errors.ts";
import { ConnectorMetrics } from "../health/connector_metrics.ts";
import { RuntimeStatus } from "../health/runtime_status.ts";
import {
  createHealthApp,
  type HealthServer,
  startHealthServer,
} from "../health/server.ts";
import type { LogAttributes, Logger } from "../log/logger.ts";
import { createThreatHqApi } from "../threathq/api.ts";
import {
  clientOptionsFromSettings,
  createThreatHqClient,
} from "../threathq/http_client.ts";
import { VERSION } from "../version.ts";
import { guardAmqpRejections } from "./amqp_rejection_guard.ts";
import { type Clock, systemClock } from "./clock.ts";
import { createDestinations, type Destinations } from "./destinations.ts";
import { isAbortOf } from "./fatal_errors.ts";
import { definedAttributes } from "./log_attributes.ts";
import { type LoopHooks, runMainLoop } from "./main_loop.ts";
import {
  connectPlatform,
  type PlatformConnection,
} from "./platform_connection.ts";
import {
  createSyncRun,
  type RunReport,
  type SyncRunOptions,
} from "./sync_run.ts";
import {
  createThreatMapper,
  mappingOptionsFromSettings,
} from "./threat_mapping.ts";

export interface ConnectorRunOptions {
  loaded: LoadedSettings;
  logger: Logger;
  /** Aborted on SIGTERM or SIGINT. */
  signal: AbortSignal;
  /** Resolves a relative `send_to_directory_path`. */
  cwd: string;
  clock?: Clock;
  /** Replaces the global `fetch` for OpenCTI requests, for tests. */
  fetch?: typeof fetch;
  /** Interval of the ping loop; default pycti's 40 seconds. */
  pingIntervalMs?: number;
  /** Replaces sync options that the settings set, for tests. */
  syncOverrides?: SyncRunOptions["syncOverrides"];
  /** Called with each run's report. */
  onRunFinished?: (report: RunReport) => void;
  /** Called once the health server listens. */
  onHealthServer?: (server: HealthServer) => void;
}

/** The maximum wait of one shutdown step, in milliseconds. */
const SHUTDOWN_STEP_MS = 3_000;

/**
 * Runs the connector and returns its exit status: 0, or 1 when the single
 * run of run-and-terminate mode failed. Throws the errors that end the
 * process (`isFatalError`) after the shutdown steps.
 */
export async function runConnector(
  options: ConnectorRunOptions,
): Promise<number> {
  const { logger, signal, loaded } = options;
  const { settings } = loaded;
  const clock = options.clock ?? systemClock;
  const secrets = secretValues(settings);

  logSettingsSources(logger, loaded);
  logger.info("Connector starting", startAttributes(settings));
  const metrics = new ConnectorMetrics({
    logger,
    namespace: settings.connector.metrics_namespace,
    subsystem: settings.connector.metrics_subsystem,
  });
  const toPlatform = settings.connector.send_to_queue;
  const status = new RuntimeStatus({
    now: clock.now,
    metrics,
    requiresRegistration: toPlatform,
    requiresBroker: toPlatform && settings.connector.queue_protocol === "amqp",
    secrets,
  });
  status.settingsValidated();

  const onStop = () => {
    status.stopRequested();
    logger.info("Stop requested; finishing the current step", {
      reason: String(signal.reason),
    });
  };
  signal.addEventListener("abort", onStop, { once: true });

  const removeGuard = guardAmqpRejections(logger);
  let health: HealthServer | undefined;
  let platform: PlatformConnection | undefined;
  try {
    if (settings.connector.expose_metrics) {
      health = startHealth(settings, status, metrics, logger, secrets);
      options.onHealthServer?.(health);
    }
    if (toPlatform) {
      platform = await connectOrStop(options, metrics, clock);
      if (platform === undefined) return EXIT_OK;
      status.connectorRegistered();
    }
    return await loop(options, { platform, status, metrics, clock, secrets });
  } finally {
    signal.removeEventListener("abort", onStop);
    platform?.close();
    if (health !== undefined) {
      await settleWithin(health.shutdown(), "health server shutdown", logger);
    }
    logger.info("Connector stopped");
    removeGuard();
  }
}

function startAttributes(settings: Settings): LogAttributes {
  const connector = settings.connector;
  return definedAttributes({
    version: VERSION,
    send_to_queue: connector.send_to_queue,
    queue_protocol: connector.send_to_queue
      ? connector.queue_protocol
      : undefined,
    send_to_directory: connector.send_to_directory,
    run_and_terminate: connector.run_and_terminate ||
      connector.duration_period === 0,
    duration_period_ms: connector.duration_period,
    expose_metrics: connector.expose_metrics,
  });
}

function startHealth(
  settings: Settings,
  status: RuntimeStatus,
  metrics: ConnectorMetrics,
  logger: Logger,
  secrets: readonly string[],
): HealthServer {
  const app = createHealthApp({
    status,
    registry: metrics.registry,
    logger,
    secrets,
  });
  return startHealthServer({
    app,
    hostname: settings.connector.metrics_bind_address,
    port: settings.connector.metrics_port,
    logger,
  });
}

/** Connects to the platform; returns undefined when the signal stops it. */
async function connectOrStop(
  options: ConnectorRunOptions,
  metrics: ConnectorMetrics,
  clock: Clock,
): Promise<PlatformConnection | undefined> {
  try {
    return await connectPlatform({
      settings: options.loaded.settings,
      metrics,
      logger: options.logger,
      clock,
      signal: options.signal,
      fetch: options.fetch,
      pingIntervalMs: options.pingIntervalMs,
    });
  } catch (error) {
    if (!isAbortOf(error, options.signal)) throw error;
    options.logger.info("Stopped before the platform was reachable");
    return undefined;
  }
}

interface LoopParts {
  platform?: PlatformConnection;
  status: RuntimeStatus;
  metrics: ConnectorMetrics;
  clock: Clock;
  secrets: readonly string[];
}

async function loop(
  options: ConnectorRunOptions,
  parts: LoopParts,
): Promise<number> {
  const { logger, signal } = options;
  const { settings } = options.loaded;
  const { platform, status, metrics, clock } = parts;
  const helper = platform?.helper;

  // The ping loop runs in run-and-terminate mode too, where pycti starts
  // none, so that a long single run keeps the connector active in OpenCTI.
  const pings = new AbortController();
  const pingLoop = helper?.runPingLoop(pings.signal);
  let destinations: Destinations | undefined;
  const finish = async () => {
    if (destinations !== undefined) {
      await settleWithin(destinations.delivery.close(), "AMQP close", logger);
    }
    pings.abort();
    if (pingLoop !== undefined) {
      await settleWithin(pingLoop, "ping loop", logger);
    }
    if (helper !== undefined) {
      await settleWithin(helper.ping(), "final ping", logger);
    }
  };

  try {
    destinations = await createDestinations({
      settings,
      platform,
      cwd: options.cwd,
      status,
      metrics,
      logger,
      clock,
    });
  } catch (error) {
    await finish();
    throw error;
  }

  const hooks: LoopHooks = {
    runOnce: createRun(options, parts, destinations),
    queueSizeMb: () =>
      helper?.queueSizeMb(signal) ?? Promise.resolve(undefined),
    onSchedule(info) {
      helper?.recordSchedule(info);
      status.scheduleUpdated(info);
    },
    onTick: () => status.tick(),
    finish,
  };
  return await runMainLoop(hooks, {
    periodMs: settings.connector.duration_period,
    runAndTerminate: settings.connector.run_and_terminate,
    queueThresholdMb: settings.connector.queue_threshold,
  }, { clock, logger, signal });
}

function createRun(
  options: ConnectorRunOptions,
  parts: LoopParts,
  destinations: Destinations,
) {
  const { logger } = options;
  const { settings } = options.loaded;
  const { status, metrics, clock } = parts;
  const observer = metrics.threathqObserver({
    onActivity: () => status.tick(),
  });
  const client = createThreatHqClient(
    clientOptionsFromSettings(settings.cofense_threathq, logger, observer),
  );
  const helper = parts.platform?.helper;

  return createSyncRun({
    api: createThreatHqApi(client),
    map: createThreatMapper(
      mappingOptionsFromSettings(settings.cofense_threathq),
      logger,
    ),
    threathq: settings.cofense_threathq,
    syncOverrides: options.syncOverrides,
    delivery: destinations.delivery,
    states: destinations.states,
    withdrawals: destinations.withdrawals,
    createWork: helper === undefined ? undefined : () => helper.createRunWork(),
    status,
    metrics,
    logger,
    clock,
    secrets: parts.secrets,
    onRunFinished: options.onRunFinished,
  });
}

/**
 * Waits for a shutdown step for at most `SHUTDOWN_STEP_MS`. A step that
 * fails or takes longer is logged and left behind, so one unresponsive
 * server cannot hold up the exit.
 */
async function settleWithin(
  step: Promise<unknown>,
  name: string,
  logger: Logger,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), SHUTDOWN_STEP_MS);
  });
  try {
    const outcome = await Promise.race([step.then(() => "done"), timeout]);
    if (outcome === "timeout") {
      logger.warn("Shutdown step timed out; going on without it", {
        step: name,
        timeout_ms: SHUTDOWN_STEP_MS,
      });
    }
  } catch (error) {
    logger.warn("Shutdown step failed; going on without it", {
      step: name,
      error: error instanceof Error ? error.message : String(error),
    });
  } finally {
    clearTimeout(timer);
  }
}
