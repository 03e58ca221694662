/**
 * The end-to-end world. The ThreatHQ simulator serves the project's
 * fixtures, the shared samples when `../shared` exists, and generated
 * threats. For queue modes, the platform stand-in runs on the real RabbitMQ
 * with a worker stand-in that consumes the push queue and reports
 * expectations.
 *
 * It also computes what a run must deliver: each live threat mapped on its
 * own with the run's mapping settings, which is what the connector's
 * objects must match.
 */
import { join } from "node:path";
import { resolveSettings } from "../../src/config/load.ts";
import type { Settings } from "../../src/config/settings.ts";
import { mapThreat } from "../../src/mapper/map_threat.ts";
import { splitObjects } from "../../src/opencti/splitter.ts";
import { createRunCommand, type RunDependencies } from "../../src/cli/run.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { type Clock, systemClock } from "../../src/runtime/clock.ts";
import { createThreatHqApi } from "../../src/threathq/api.ts";
import { fetchAttachments } from "../../src/threathq/attachments.ts";
import { createThreatHqClient } from "../../src/threathq/http_client.ts";
import type { RunReport } from "../../src/runtime/sync_run.ts";
import { mappingOptionsFromSettings } from "../../src/runtime/threat_mapping.ts";
import { type StixObject, stixObjectSchema } from "../../src/stix/types.ts";
import { permissionFlags } from "../../scripts/permissions.ts";
import { BROKER_HOST, BROKER_PORT, BROKER_URL } from "../support/amqp.ts";
import {
  type PlatformFixture,
  startPlatform,
} from "../support/platform_fixture.ts";
import type { StandinWork } from "../support/platform_standin.ts";
import {
  loadFixtureThreats,
  loadSharedSampleThreats,
} from "../support/threathq_fixtures.ts";
import {
  startThreatHqSimulator,
  type ThreatHqSimulator,
} from "../support/threathq_simulator.ts";
import {
  type ChangelogEvent,
  generateThreatData,
} from "../support/threat_generator.ts";
import {
  connectorMessages,
  createWorkerStandin,
  type WorkerStandin,
} from "../support/worker_standin.ts";

export const REPOSITORY_ROOT = new URL("../../", import.meta.url).pathname;

const DAY_MS = 86_400_000;
export const PDF_BYTES = 1_500;
export const PLATFORM_TOKEN = "e2e-platform-token";

export interface WorldOptions {
  /** Generated malware threats (default 60). */
  malware?: number;
  /** Generated phish threats (default 5). */
  phish?: number;
  /** Changelog entries per page (default 1000). */
  pageSize?: number;
  latencyMs?: number;
  /** Starts the platform and worker stand-ins (queue modes). */
  platform?: boolean;
  /** The only token the platform stand-in accepts. */
  platformToken?: string;
  /** Leaves the shared samples out even when `../shared` exists. */
  withoutSharedSamples?: boolean;
  /**
   * Threats served besides the fixtures, samples and generated ones. Each
   * gets a published changelog entry after all the others, in this order.
   */
  extraThreats?: ReadonlyArray<Record<string, unknown>>;
}

export interface World {
  simulator: ThreatHqSimulator;
  /** The threats served, by `type:id`; later entries replaced earlier ones. */
  threats: Map<string, Record<string, unknown>>;
  changelog: ChangelogEvent[];
  usesSharedSamples: boolean;
  platform?: PlatformFixture;
  worker?: WorkerStandin;
  connectorId: string;
  /** An empty working directory: no `.env` or `config.yml`. */
  cwd: string;
  /** The bundle directory of directory modes. */
  outputDirectory: string;
  /** The settings of a run against this world, as environment variables. */
  env(overrides?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

function keyOf(threat: Record<string, unknown>): string {
  return `${String(threat.threatType).toLowerCase()}:${threat.id}`;
}

async function threatsAndChangelog(options: WorldOptions, startMs: number) {
  const fixtures = await loadFixtureThreats() as Array<Record<string, unknown>>;
  const shared = options.withoutSharedSamples
    ? undefined
    : await loadSharedSampleThreats() as
      | Array<Record<string, unknown>>
      | undefined;
  const known = [...fixtures, ...shared ?? []];
  const knownEvents = known.map((threat, index) =>
    publishedEvent(threat, startMs + index)
  );

  const generated = generateThreatData({
    seed: 11,
    malware: options.malware ?? 60,
    phish: options.phish ?? 5,
    startMs: startMs + known.length + 1,
    stepMs: 60_000,
    duplicateShare: 0.1,
    deletionShare: 0.05,
  });
  if (!options.withoutSharedSamples && shared === undefined) {
    noteSharedSamplesMissing();
  }
  const changelog = [...knownEvents, ...generated.changelog];
  const extra = options.extraThreats ?? [];
  const last = changelog.reduce(
    (latest, event) => Math.max(latest, event.occurredOn),
    startMs,
  );
  extra.forEach((threat, index) => {
    changelog.push(publishedEvent(threat, last + 1 + index));
  });
  return {
    served: [...known, ...generated.threats, ...extra],
    changelog,
    usesSharedSamples: shared !== undefined,
  };
}

function publishedEvent(
  threat: Record<string, unknown>,
  occurredOn: number,
): ChangelogEvent {
  return {
    threatType: String(threat.threatType).toLowerCase() === "phish"
      ? "phish"
      : "malware",
    threatId: threat.id as number,
    occurredOn,
    deleted: false,
  };
}

let sharedNoticePrinted = false;

function noteSharedSamplesMissing(): void {
  if (sharedNoticePrinted) return;
  sharedNoticePrinted = true;
  console.log(
    "note: ../shared not found; end-to-end runs use the project's fixtures and generated threats only",
  );
}

/**
 * Returns a clock whose waits last 1/`factor` of the time requested, so
 * backoffs and the ping interval pass quickly without changing their order.
 */
export function scaledClock(factor = 100): Clock {
  return {
    now: () => Date.now(),
    sleep: (ms, signal) => systemClock.sleep(ms / factor, signal),
  };
}

/** Starts the world; `close()` stops it and deletes its queues and files. */
export async function createWorld(options: WorldOptions = {}): Promise<World> {
  const startMs = Date.now() - 3 * DAY_MS;
  const data = await threatsAndChangelog(options, startMs);
  const simulator = startThreatHqSimulator({
    threats: data.served,
    changelog: data.changelog,
    pageSize: options.pageSize,
    latencyMs: options.latencyMs,
    pdfBytes: PDF_BYTES,
  });
  const threats = new Map<string, Record<string, unknown>>();
  for (const threat of data.served) threats.set(keyOf(threat), threat);

  const cwd = await Deno.makeTempDir({ prefix: "threathq-e2e-cwd-" });
  const outputDirectory = await Deno.makeTempDir({
    prefix: "threathq-e2e-out-",
  });
  let platform: PlatformFixture | undefined;
  let worker: WorkerStandin | undefined;
  if (options.platform) {
    platform = await startPlatform({
      amqpUrl: BROKER_URL,
      connection: { host: BROKER_HOST, port: BROKER_PORT },
      token: options.platformToken ?? PLATFORM_TOKEN,
    });
    worker = await startWorker(platform);
  }
  const connectorId = platform?.connectorId ?? crypto.randomUUID();

  return {
    simulator,
    threats,
    changelog: data.changelog,
    usesSharedSamples: data.usesSharedSamples,
    platform,
    worker,
    connectorId,
    cwd,
    outputDirectory,
    env: (overrides = {}) => ({
      ...baseEnv(simulator, connectorId, platform, outputDirectory),
      ...overrides,
    }),
    async close() {
      await worker?.stop();
      await platform?.stop();
      await simulator.close();
      await Deno.remove(cwd, { recursive: true });
      await Deno.remove(outputDirectory, { recursive: true });
    },
  };
}

/**
 * Registers the connector on the stand-in, which declares its push queue,
 * and starts a worker stand-in on that queue. The worker checks each object
 * against the STIX schemas and imports it into the stand-in's knowledge,
 * as OpenCTI's worker would. The connector registers again with the same
 * id when it runs.
 */
async function startWorker(platform: PlatformFixture): Promise<WorkerStandin> {
  const registration = await platform.api.registerConnector({
    id: platform.connectorId,
    name: "Cofense ThreatHQ",
    type: "EXTERNAL_IMPORT",
    scope: ["Cofense ThreatHQ"],
    auto: false,
    only_contextual: false,
    playbook_compatible: false,
  });
  return await createWorkerStandin({
    amqpUrl: BROKER_URL,
    queue: registration.pushQueue,
    validate: (object) => {
      stixObjectSchema.parse(object);
      platform.standin.knowledge.importObjects([object]);
    },
    reportExpectation: (workId, error) =>
      platform.api.reportExpectation(workId, error ?? undefined),
    isWorkAlive: (workId) => platform.api.isWorkAlive(workId),
  });
}

function baseEnv(
  simulator: ThreatHqSimulator,
  connectorId: string,
  platform: PlatformFixture | undefined,
  outputDirectory: string,
): Record<string, string> {
  const common = {
    COFENSE_THREATHQ_API_BASE_URL: simulator.url,
    COFENSE_THREATHQ_TOKEN_USER: simulator.user,
    COFENSE_THREATHQ_TOKEN_PASSWORD: simulator.password,
    COFENSE_THREATHQ_IMPORT_START_DATE: "P30D",
    COFENSE_THREATHQ_API_LEAKY_BUCKET_RATE: "500",
    COFENSE_THREATHQ_API_LEAKY_BUCKET_CAPACITY: "50",
    COFENSE_THREATHQ_API_RETRY: "1",
    COFENSE_THREATHQ_API_BACKOFF: "PT1S",
    CONNECTOR_ID: connectorId,
    CONNECTOR_NAME: "Cofense ThreatHQ",
    CONNECTOR_RUN_AND_TERMINATE: "true",
    CONNECTOR_LOG_LEVEL: "info",
    OPENCTI_JSON_LOGGING: "true",
  };
  if (platform === undefined) {
    return {
      ...common,
      CONNECTOR_SEND_TO_QUEUE: "false",
      CONNECTOR_SEND_TO_DIRECTORY: "true",
      CONNECTOR_SEND_TO_DIRECTORY_PATH: outputDirectory,
    };
  }
  return {
    ...common,
    OPENCTI_URL: platform.standin.url,
    OPENCTI_TOKEN: PLATFORM_TOKEN,
    CONNECTOR_SEND_TO_QUEUE: "true",
  };
}

/** Resolves settings from environment variables over the defaults. */
export function settingsOf(env: Record<string, string>): Settings {
  return resolveSettings(
    [{ name: "test", lookup: (entry) => env[entry.env] }],
    "mapping",
  ).settings;
}

export interface InProcessRun {
  status: number;
  /** The log lines, parsed. */
  records: Array<Record<string, unknown>>;
  /** Everything written to standard output. */
  stdout: string;
  reports: RunReport[];
}

/** Runs the `run` command in this process with `env` and no arguments. */
export async function runInProcess(
  world: Pick<World, "cwd">,
  env: Record<string, string>,
  options: RunDependencies & { signal?: AbortSignal; args?: string[] } = {},
): Promise<InProcessRun> {
  const lines: string[] = [];
  let stdout = "";
  const reports: RunReport[] = [];
  const { signal, args, ...dependencies } = options;
  const command = createRunCommand({
    ...dependencies,
    onRunFinished: (report) => {
      reports.push(report);
      dependencies.onRunFinished?.(report);
    },
  });
  const status = await command(args ?? [], {
    env,
    cwd: world.cwd,
    stdin: new ReadableStream({ start: (controller) => controller.close() }),
    stdout: (text) => void (stdout += text),
    stderr: (text) => lines.push(...text.split("\n").filter(Boolean)),
    signal: signal ?? new AbortController().signal,
  });
  return { status, records: lines.map(parseLogLine), stdout, reports };
}

function parseLogLine(line: string): Record<string, unknown> {
  try {
    return JSON.parse(line);
  } catch {
    return { message: line };
  }
}

/** Returns the records with this message. */
export function recordsWith(
  records: Array<Record<string, unknown>>,
  message: string,
): Array<Record<string, unknown>> {
  return records.filter((record) => record.message === message);
}

/** The objects a live threat must deliver, by threat key. */
export type ExpectedObjects = Map<string, StixObject[]>;

/**
 * Maps every threat whose newest changelog event is not a deletion, with
 * the changelog time of that event and the files the connector attaches
 * (PDF reports, screenshots), downloaded from the simulator with the sync
 * engine's own `fetchAttachments`. Threats the mapper rejects are left
 * out, as the run skips them.
 */
export async function expectedObjects(
  world: Pick<World, "threats" | "changelog" | "simulator">,
  env: Record<string, string>,
): Promise<ExpectedObjects> {
  const settings = settingsOf(env).cofense_threathq;
  const options = mappingOptionsFromSettings(settings);
  const context = {
    api: createThreatHqApi(createThreatHqClient({
      baseUrl: world.simulator.url,
      user: world.simulator.user,
      password: world.simulator.password,
      ratePerSecond: 1_000,
      burstCapacity: 100,
      retries: 0,
      maxBackoffMs: 1,
      timeoutMs: 10_000,
      logger: createMemoryLogger(),
    })),
    logger: createMemoryLogger(),
    signal: new AbortController().signal,
    importReportPdf: settings.import_report_pdf,
    pdfMaxBytes: settings.import_report_pdf_max_bytes,
  };
  const newest = new Map<string, ChangelogEvent>();
  for (const event of world.changelog) {
    newest.set(`${event.threatType}:${event.threatId}`, event);
  }

  const expected: ExpectedObjects = new Map();
  for (const [key, event] of newest) {
    const threat = world.threats.get(key);
    if (event.deleted || threat === undefined) continue;
    const files = await fetchAttachments(event, threat, context);
    const result = mapThreat(threat, options, {
      changelogTime: event.occurredOn,
      attachments: files.attachments,
    });
    if (result.ok) expected.set(key, result.threat.objects);
  }
  return expected;
}

/** The properties `mergeObjects` combines when two threats make one object. */
const MERGED_PROPERTIES = [
  "labels",
  "x_opencti_labels",
  "external_references",
  "x_opencti_external_references",
  "object_refs",
  "x_opencti_score",
];

function without(
  object: Record<string, unknown>,
  keys: readonly string[],
): Record<string, unknown> {
  const copy = { ...object };
  for (const key of keys) delete copy[key];
  return copy;
}

/**
 * Checks that `received` (object id to object) contains exactly the expected
 * objects. An object that one threat makes must be equal to the mapper's;
 * one that several threats make must be equal to one threat's version
 * except in the properties merged across threats. `split` applies the splitter's rewriting to the
 * expected objects first, for what went through a queue; `nb_deps` is
 * ignored.
 */
export function compareDelivered(
  received: ReadonlyMap<string, Record<string, unknown>>,
  expected: ExpectedObjects,
  options: { split: boolean },
): { missing: string[]; extra: string[]; different: string[] } {
  const byId = new Map<string, Array<Record<string, unknown>>>();
  for (const objects of expected.values()) {
    const normalized = options.split
      ? splitObjects(objects).bundles.map((bundle) => bundle.objects[0])
      : objects as unknown as Array<Record<string, unknown>>;
    for (const object of normalized) {
      const versions = byId.get(object.id as string) ?? [];
      versions.push(without(object, ["nb_deps"]));
      byId.set(object.id as string, versions);
    }
  }

  const missing = [...byId.keys()].filter((id) => !received.has(id));
  const extra = [...received.keys()].filter((id) => !byId.has(id));
  const different: string[] = [];
  for (const [id, versions] of byId) {
    const object = received.get(id);
    if (object === undefined) continue;
    const actual = without(object, ["nb_deps"]);
    if (versions.length === 1) {
      if (canonical(actual) !== canonical(versions[0])) different.push(id);
      continue;
    }
    // The first version of a result is kept, so any threat's may be.
    const left = canonical(without(actual, MERGED_PROPERTIES));
    const matches = versions.some((version) =>
      canonical(without(version, MERGED_PROPERTIES)) === left
    );
    if (!matches) different.push(id);
  }
  return { missing, extra, different };
}

function canonical(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value);
  entries.sort(([left], [right]) => left.localeCompare(right));
  return Object.fromEntries(
    entries.map(([key, item]) => [key, sortKeys(item)]),
  );
}

/** Returns the report id of each expected threat. */
export function reportIds(expected: ExpectedObjects): Map<string, string> {
  const ids = new Map<string, string>();
  for (const [key, objects] of expected) {
    const report = objects.find((object) => object.type === "report");
    if (report !== undefined) ids.set(key, report.id);
  }
  return ids;
}

/** Reads the objects of every bundle file in `directory`, by id (last wins). */
export async function directoryObjects(directory: string): Promise<{
  files: string[];
  objects: Map<string, Record<string, unknown>>;
  connectorIds: Set<string>;
}> {
  const files = [...Deno.readDirSync(directory)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".json"))
    .map((entry) => entry.name)
    .sort();
  const objects = new Map<string, Record<string, unknown>>();
  const connectorIds = new Set<string>();
  for (const name of files) {
    const wrapper = JSON.parse(await Deno.readTextFile(join(directory, name)));
    connectorIds.add(wrapper.connector.id);
    for (const object of wrapper.bundle.objects) objects.set(object.id, object);
  }
  return { files, objects, connectorIds };
}

/** Returns the connector's works on the stand-in that were not deleted. */
export function worksOf(world: World): StandinWork[] {
  return [...world.platform!.standin.works.values()].filter((work) =>
    work.connectorId === world.connectorId && !work.deleted
  );
}

/**
 * Waits until the work was closed with `toProcessed` and the worker has
 * reported every expected message. The stand-in also marks a work complete
 * whenever the counts meet, which can happen between two pages, so its
 * status alone does not show the end.
 */
export async function workImported(
  world: World,
  workId: string,
): Promise<StandinWork> {
  const work = world.platform!.standin.works.get(workId)!;
  await world.worker!.waitFor(
    () => work.processedCalls > 0 && work.processed >= work.expected,
    30_000,
  );
  return work;
}

/** Counts the connector messages the worker received for one work. */
export function messagesOfWork(world: World, workId: string): number {
  return connectorMessages(world.worker!.received).filter((message) =>
    message.work_id === workId
  ).length;
}

/** Returns the state saved on the stand-in, or undefined when none. */
export function savedState(world: World): Record<string, unknown> | undefined {
  const text = world.platform!.standin.connectors.get(world.connectorId)
    ?.connector_state;
  if (text === undefined || text === null || text === "") return undefined;
  const value = JSON.parse(text);
  return value === null ? undefined : value;
}

/**
 * Reads the changelog from `position` to its end through the simulator's
 * API, and returns its entries.
 */
export async function changelogFrom(
  simulator: ThreatHqSimulator,
  position: string,
): Promise<Array<Record<string, unknown>>> {
  const authorization = "Basic " +
    new TextEncoder().encode(`${simulator.user}:${simulator.password}`)
      .toBase64();
  const entries: Array<Record<string, unknown>> = [];
  let next = position;
  while (true) {
    const response = await fetch(
      `${simulator.url}threat/updates?position=${encodeURIComponent(next)}`,
      { method: "POST", headers: { authorization } },
    );
    const body = await response.json();
    if (body.success !== true) {
      throw new Error(`threat/updates failed: ${JSON.stringify(body)}`);
    }
    entries.push(...body.data.changelog);
    if (body.data.changelog.length === 0) return entries;
    next = body.data.nextPosition;
  }
}

/** Polls `condition` every 10 ms; throws after `timeoutMs`, naming `what`. */
export async function waitUntil(
  condition: () => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Returns a TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const ENTRY_POINT = new URL("../../mod.ts", import.meta.url).pathname;

export interface SpawnedConnector {
  child: Deno.ChildProcess;
  /** The standard error text so far. */
  stderr(): string;
  /** Resolves with the exit code; rejects after `timeoutMs` (then kills). */
  exited(timeoutMs: number): Promise<number>;
}

/**
 * Spawns `deno run <the executable's permission flags> mod.ts run ARGS` in
 * the world's empty working directory, with `env` and only the variables
 * Deno itself needs.
 */
export function spawnConnector(
  world: Pick<World, "cwd">,
  env: Record<string, string>,
  args: string[] = [],
): SpawnedConnector {
  const inherited: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) inherited[name] = value;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissionFlags(), ENTRY_POINT, "run", ...args],
    cwd: world.cwd,
    clearEnv: true,
    env: { ...inherited, NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();

  let text = "";
  const decoder = new TextDecoder();
  const reading = child.stderr.pipeTo(
    new WritableStream({
      write: (chunk) => void (text += decoder.decode(chunk, { stream: true })),
    }),
  );

  return {
    child,
    stderr: () => text,
    async exited(timeoutMs) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const outcome = await Promise.race([child.status, deadline]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        child.kill("SIGKILL");
        await child.status;
        await reading;
        throw new Error(`the connector did not exit within ${timeoutMs} ms`);
      }
      await reading;
      return outcome.code;
    },
  };
}

/** Parses the JSON log lines of a spawned connector's standard error. */
export function logRecords(stderr: string): Array<Record<string, unknown>> {
  return stderr.split("\n").filter(Boolean).map(parseLogLine);
}
