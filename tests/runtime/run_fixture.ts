/**
 * A sync run wired to the ThreatHQ simulator on loopback, for the runtime
 * tests. The client, sync engine and mapper are real. The delivery, state
 * and work are recording fakes.
 */
import { resolveSettings } from "../../src/config/load.ts";
import type { Settings } from "../../src/config/settings.ts";
import { ConnectorMetrics } from "../../src/health/connector_metrics.ts";
import { RuntimeStatus } from "../../src/health/runtime_status.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { createFakeClock } from "../../src/runtime/clock.ts";
import {
  createSyncRun,
  type RunReport,
  type SyncRunOptions,
} from "../../src/runtime/sync_run.ts";
import {
  createThreatMapper,
  mappingOptionsFromSettings,
} from "../../src/runtime/threat_mapping.ts";
import { createThreatHqApi } from "../../src/threathq/api.ts";
import { createThreatHqClient } from "../../src/threathq/http_client.ts";
import {
  type SimulatorOptions,
  startThreatHqSimulator,
  type ThreatHqSimulator,
} from "../support/threathq_simulator.ts";
import { generateThreatData } from "../support/threat_generator.ts";
import { memoryStates, recordingDelivery, recordingWork } from "./fakes.ts";

/** Settings from environment-style names over the declared defaults. */
export function settingsFrom(env: Record<string, string>): Settings {
  return resolveSettings(
    [{ name: "test", lookup: (entry) => env[entry.env] }],
    "mapping",
  ).settings;
}

const DAY_MS = 86_400_000;

/** Starts a simulator with `count` malware threats and two deletions. */
export function startSimulator(
  count: number,
  options: SimulatorOptions = {},
): { simulator: ThreatHqSimulator; startMs: number } {
  const startMs = Date.now() - 2 * DAY_MS;
  const data = generateThreatData({
    seed: 7,
    malware: count,
    startMs,
    stepMs: 60_000,
    deletionShare: count > 0 ? 2 / count : 0,
  });
  const simulator = startThreatHqSimulator({
    threats: data.threats,
    changelog: data.changelog,
    ...options,
  });
  return { simulator, startMs };
}

export interface RunHarness {
  run: (signal?: AbortSignal) => ReturnType<ReturnType<typeof createSyncRun>>;
  events: string[];
  reports: RunReport[];
  delivery: ReturnType<typeof recordingDelivery>;
  states: ReturnType<typeof memoryStates>;
  metrics: ConnectorMetrics;
  status: RuntimeStatus;
  logger: ReturnType<typeof createMemoryLogger>;
}

/** Builds a run against the simulator with recording fakes. */
export function runHarness(
  simulator: ThreatHqSimulator,
  overrides: Partial<SyncRunOptions> & {
    failOn?: number;
    onDeliver?: (call: number) => void;
    password?: string;
  } = {},
): RunHarness {
  const events: string[] = [];
  const reports: RunReport[] = [];
  const logger = createMemoryLogger();
  const settings = settingsFrom({
    COFENSE_THREATHQ_IMPORT_REPORT_PDF: "false",
    COFENSE_THREATHQ_API_RETRY: "0",
  });
  const clock = createFakeClock();
  const metrics = new ConnectorMetrics({ logger });
  const status = new RuntimeStatus({
    now: clock.now,
    metrics,
    requiresRegistration: false,
    requiresBroker: false,
  });
  const client = createThreatHqClient({
    baseUrl: simulator.url,
    user: simulator.user,
    password: overrides.password ?? simulator.password,
    ratePerSecond: 1000,
    burstCapacity: 100,
    retries: 0,
    maxBackoffMs: 1,
    timeoutMs: 10_000,
    logger,
  });
  const delivery = recordingDelivery(events, overrides);
  const states = memoryStates(events);
  const withdrawals = {
    handle: () => Promise.resolve(undefined as never),
  };

  const run = createSyncRun({
    api: createThreatHqApi(client),
    map: createThreatMapper(
      mappingOptionsFromSettings(settings.cofense_threathq),
      logger,
    ),
    threathq: settings.cofense_threathq,
    syncOverrides: { threatsPerResult: 5 },
    delivery,
    states,
    withdrawals,
    createWork: () => recordingWork(events),
    status,
    metrics,
    logger,
    clock,
    onRunFinished: (report) => reports.push(report),
    ...overrides,
  });
  return {
    run: (signal = new AbortController().signal) => run(signal),
    events,
    reports,
    delivery,
    states,
    metrics,
    status,
    logger,
  };
}
