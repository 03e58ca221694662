/**
 * `deno task demo [--threats N] [--output DIR]`: a first look at the
 * connector with nothing but Deno. It starts the ThreatHQ simulator on
 * 127.0.0.1 with the project's fixture threats and a few hundred generated
 * ones, runs the connector once in directory-only mode (no OpenCTI, no
 * RabbitMQ) into `./demo-output`, and prints what it wrote.
 *
 * The connector runs as its own process, `deno run` with the executable's
 * permission flags and an environment that holds only the demo's settings,
 * in an empty working directory, so no `.env` or `config.yml` of the user
 * is read. Its log goes to `connector.log` in the output directory.
 *
 * Other scripts and tests reuse the parts: `startDemoSimulator`,
 * `demoSettings`, `runDemoConnector` and `summarizeOutput`.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { STATE_FILE_NAME } from "../src/opencti/file_state.ts";
import { permissionFlags } from "./permissions.ts";
import {
  startThreatHqSimulator,
  type ThreatHqSimulator,
} from "../tests/support/threathq_simulator.ts";
import { loadFixtureThreats } from "../tests/support/threathq_fixtures.ts";
import {
  type ChangelogEvent,
  generateThreatData,
} from "../tests/support/threat_generator.ts";

const ENTRY_POINT = new URL("../mod.ts", import.meta.url).pathname;

/** The connector name of the demo; it also prefixes the bundle files. */
export const DEMO_CONNECTOR_NAME = "Cofense ThreatHQ demo";

/** The prefix of the bundle files the demo's connector writes. */
const DEMO_FILE_PREFIX = "cofense_threathq_demo-";

const DEFAULT_GENERATED_THREATS = 300;
const DEFAULT_PHISH_THREATS = 20;
const DEFAULT_OUTPUT = "demo-output";
const DAY_MS = 86_400_000;

export interface DemoSimulatorOptions {
  /** Generated malware threats (default 300). */
  generatedThreats?: number;
  /** Generated phish threats (default 20). */
  phishThreats?: number;
  seed?: number;
  /** Size of each PDF report, in bytes (default 5000). */
  pdfBytes?: number;
}

export interface DemoSimulator {
  simulator: ThreatHqSimulator;
  /** Every threat the simulator serves, fixtures first. */
  threats: Array<Record<string, unknown>>;
  changelog: ChangelogEvent[];
  fixtureCount: number;
  /** Threats whose last changelog event is a deletion. */
  deletedCount: number;
  close(): Promise<void>;
}

/**
 * Starts the simulator with the fixtures of `tests/fixtures/threats` and
 * generated threats spread over the last 7 days, with repeated updates and
 * deletions. It needs no `../shared` folder.
 */
export async function startDemoSimulator(
  options: DemoSimulatorOptions = {},
): Promise<DemoSimulator> {
  const malware = options.generatedThreats ?? DEFAULT_GENERATED_THREATS;
  const phish = options.phishThreats ?? DEFAULT_PHISH_THREATS;
  const startMs = Date.now() - 7 * DAY_MS;
  const data = generateThreatData({
    seed: options.seed ?? 1,
    malware,
    phish,
    startMs,
    stepMs: Math.max(1, Math.floor(7 * DAY_MS / (malware + phish + 1) / 2)),
    duplicateShare: 0.1,
    deletionShare: 0.05,
  });

  const fixtures = await loadFixtureThreats() as Array<Record<string, unknown>>;
  const fixtureEvents: ChangelogEvent[] = fixtures.map((threat, index) => ({
    threatType: "malware",
    threatId: threat.id as number,
    occurredOn: startMs + index,
    deleted: false,
  }));
  const changelog = [...fixtureEvents, ...data.changelog];
  const simulator = startThreatHqSimulator({
    hostname: "127.0.0.1",
    port: 0,
    pdfBytes: options.pdfBytes ?? 5_000,
    threats: [...fixtures, ...data.threats],
    changelog,
  });

  return {
    simulator,
    threats: [...fixtures, ...data.threats],
    changelog,
    fixtureCount: fixtures.length,
    deletedCount: countDeleted(changelog),
    close: () => simulator.close(),
  };
}

function countDeleted(changelog: readonly ChangelogEvent[]): number {
  const last = new Map<string, boolean>();
  for (const event of changelog) {
    last.set(`${event.threatType}:${event.threatId}`, event.deleted);
  }
  return [...last.values()].filter((deleted) => deleted).length;
}

/**
 * Returns the settings, as environment variables, of one directory-only
 * run against the simulator that writes to `outputDirectory`. The request
 * rate is raised above ThreatHQ's default because the simulator is local.
 */
export function demoSettings(options: {
  simulator: Pick<ThreatHqSimulator, "url" | "user" | "password">;
  outputDirectory: string;
}): Record<string, string> {
  return {
    COFENSE_THREATHQ_API_BASE_URL: options.simulator.url,
    COFENSE_THREATHQ_TOKEN_USER: options.simulator.user,
    COFENSE_THREATHQ_TOKEN_PASSWORD: options.simulator.password,
    COFENSE_THREATHQ_IMPORT_START_DATE: "P30D",
    COFENSE_THREATHQ_API_LEAKY_BUCKET_RATE: "200",
    COFENSE_THREATHQ_API_LEAKY_BUCKET_CAPACITY: "50",
    COFENSE_THREATHQ_TLP_LEVEL: "amber+strict",
    CONNECTOR_NAME: DEMO_CONNECTOR_NAME,
    CONNECTOR_SEND_TO_QUEUE: "false",
    CONNECTOR_SEND_TO_DIRECTORY: "true",
    CONNECTOR_SEND_TO_DIRECTORY_PATH: options.outputDirectory,
    CONNECTOR_SEND_TO_DIRECTORY_RETENTION: "0",
    CONNECTOR_RUN_AND_TERMINATE: "true",
    CONNECTOR_LOG_LEVEL: "info",
    OPENCTI_JSON_LOGGING: "true",
  };
}

export interface ConnectorProcessResult {
  code: number;
  stderr: string;
  elapsedMs: number;
}

/**
 * Runs `deno run <permission flags> mod.ts run` with only `settings` and
 * the variables Deno itself needs (PATH, HOME, DENO_DIR) in its
 * environment, from an empty temporary working directory.
 */
export async function runDemoConnector(
  settings: Record<string, string>,
): Promise<ConnectorProcessResult> {
  const cwd = await Deno.makeTempDir({ prefix: "threathq-demo-" });
  const inherited: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) inherited[name] = value;
  }

  const started = performance.now();
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...permissionFlags(), ENTRY_POINT, "run"],
      cwd,
      clearEnv: true,
      env: { ...inherited, NO_COLOR: "1", ...settings },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    return {
      code: output.code,
      stderr: new TextDecoder().decode(output.stderr),
      elapsedMs: performance.now() - started,
    };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

export interface OutputSummary {
  /** Bundle files, sorted by name. */
  files: string[];
  /** Distinct objects by STIX type, over every file. */
  objectsByType: Record<string, number>;
  /** Distinct objects, over every file. */
  objects: number;
  /** Distinct reports: one per imported threat. */
  reports: number;
}

/** Reads the bundle files of the demo's connector in `directory`. */
export async function summarizeOutput(
  directory: string,
): Promise<OutputSummary> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(directory)) {
    if (
      entry.name.startsWith(DEMO_FILE_PREFIX) && entry.name.endsWith(".json")
    ) {
      files.push(entry.name);
    }
  }
  files.sort();

  const types = new Map<string, string>();
  for (const name of files) {
    const wrapper = JSON.parse(await Deno.readTextFile(join(directory, name)));
    for (
      const object of wrapper.bundle.objects as Array<
        { id: string; type: string }
      >
    ) {
      types.set(object.id, object.type);
    }
  }
  const objectsByType: Record<string, number> = {};
  for (const type of [...types.values()].sort()) {
    objectsByType[type] = (objectsByType[type] ?? 0) + 1;
  }
  return {
    files,
    objectsByType,
    objects: types.size,
    reports: objectsByType.report ?? 0,
  };
}

/**
 * Deletes what an earlier demo wrote in `directory`: its bundle files and
 * the state file, so the run starts from the beginning. Other files stay.
 */
export async function clearDemoOutput(directory: string): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(directory));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  for (const entry of entries) {
    const ours = entry.name.startsWith(DEMO_FILE_PREFIX) ||
      entry.name === STATE_FILE_NAME || entry.name === "connector.log";
    if (ours && entry.isFile) await Deno.remove(join(directory, entry.name));
  }
}

/** The message of the connector's log line at the end of a run. */
const RUN_FINISHED_MESSAGE = "Connector run finished";

/**
 * Returns the attributes of the connector's `Connector run finished` line
 * in a JSON log, or undefined when the run did not finish.
 */
export function runFinishedCounts(
  log: string,
): Record<string, number> | undefined {
  for (const line of log.split("\n").reverse()) {
    if (!line.startsWith("{")) continue;
    const record = JSON.parse(line);
    if (record.message === RUN_FINISHED_MESSAGE) return record.attributes;
  }
  return undefined;
}

function formatSummary(
  demo: DemoSimulator,
  summary: OutputSummary,
  run: ConnectorProcessResult,
  directory: string,
): string {
  const served = demo.threats.length;
  const counts = runFinishedCounts(run.stderr) ?? {};
  const lines = [
    `Threats served by the simulator: ${served} (${demo.fixtureCount} fixtures, ${
      served - demo.fixtureCount
    } generated); deletions: ${demo.deletedCount}`,
    `Threats mapped: ${counts.threats_mapped}, skipped: ${counts.threats_skipped}, deletions seen: ${counts.threats_deleted}`,
    `Objects written: ${summary.objects} distinct`,
    ...Object.entries(summary.objectsByType).map(([type, count]) =>
      `  ${type.padEnd(22)} ${count}`
    ),
    `Files written: ${summary.files.length} bundle files in ${directory}`,
    `Time taken by the connector: ${(run.elapsedMs / 1000).toFixed(1)} s`,
    `Connector log (JSON lines): ${join(directory, "connector.log")}`,
  ];
  return lines.join("\n");
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      threats: { type: "string" },
      output: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(
      "Usage: deno task demo [--threats N] [--output DIR]\n\n" +
        `Runs the connector once in directory-only mode against a local ThreatHQ simulator\n` +
        `with N generated threats (default ${DEFAULT_GENERATED_THREATS}) plus the fixtures, writing to DIR\n` +
        `(default ./${DEFAULT_OUTPUT}).`,
    );
    return 0;
  }
  const generated = Number(values.threats ?? DEFAULT_GENERATED_THREATS);
  if (!Number.isInteger(generated) || generated < 0) {
    console.error(
      `--threats must be a whole number of 0 or more, got ${values.threats}`,
    );
    return 2;
  }

  const directory = resolve(values.output ?? DEFAULT_OUTPUT);
  await clearDemoOutput(directory);
  await Deno.mkdir(directory, { recursive: true });
  const demo = await startDemoSimulator({ generatedThreats: generated });
  try {
    console.log(
      `ThreatHQ simulator at ${demo.simulator.url}; running the connector...`,
    );
    const run = await runDemoConnector(
      demoSettings({ simulator: demo.simulator, outputDirectory: directory }),
    );
    await Deno.writeTextFile(join(directory, "connector.log"), run.stderr);
    if (run.code !== 0) {
      console.error(run.stderr.split("\n").slice(-20).join("\n"));
      console.error(`The connector exited with status ${run.code}`);
      return run.code;
    }
    const summary = await summarizeOutput(directory);
    console.log(formatSummary(demo, summary, run, directory));
    return 0;
  } finally {
    await demo.close();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
