/**
 * `run`: the connector's main job, and the command used when none is given.
 * It loads the settings, then syncs ThreatHQ into OpenCTI (or into a bundle
 * directory) every `duration_period` until SIGTERM or SIGINT, or once in
 * run-and-terminate mode. Every message, errors included, goes to standard
 * error through the logger.
 */
import { resolve } from "node:path";
import {
  ConfigError,
  findSources,
  loadSettings,
  secretValues,
} from "../config/load.ts";
import { settingEntries } from "../config/settings.ts";
import {
  CredentialsRejectedError,
  EXIT_INVALID_SETTINGS,
  EXIT_OK,
  UsageError,
} from "../errors.ts";
import { createLogger, type Logger, type LogLevel } from "../log/logger.ts";
import {
  type ConnectorRunOptions,
  runConnector,
} from "../runtime/connector_runtime.ts";
import { exitStatusOf } from "../runtime/fatal_errors.ts";
import type { CliContext, Command } from "./context.ts";
import { formatHelp, RUN_HELP, versionLine } from "./help.ts";

/** The parts tests replace; the command itself uses the defaults. */
export type RunDependencies = Pick<
  ConnectorRunOptions,
  | "clock"
  | "fetch"
  | "pingIntervalMs"
  | "syncOverrides"
  | "onRunFinished"
  | "onHealthServer"
>;

interface RunArguments {
  help: boolean;
  version: boolean;
  configPath?: string;
}

/** Parses the arguments; throws UsageError for unknown or missing ones. */
export function parseRunArguments(args: string[]): RunArguments {
  const parsed: RunArguments = { help: false, version: false };
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === "--help" || arg === "-h") {
      parsed.help = true;
    } else if (arg === "--version") {
      parsed.version = true;
    } else if (arg.startsWith("--config=")) {
      parsed.configPath = arg.slice("--config=".length);
    } else if (arg === "--config") {
      const value = args[index + 1];
      if (value === undefined) {
        throw new UsageError("missing value after --config; see run --help");
      }
      parsed.configPath = value;
      index += 1;
    } else {
      throw new UsageError(`unknown argument ${arg}; see run --help`);
    }
  }
  if (parsed.configPath === "") {
    throw new UsageError("--config needs a file path; see run --help");
  }
  return parsed;
}

/**
 * Resolves the three log settings on their own, so that an error in any
 * other setting is still logged in the configured format. A log setting
 * that is itself invalid falls back to its default.
 */
async function startupLogger(
  context: CliContext,
  configPath: string | undefined,
): Promise<Logger> {
  const values: Record<string, unknown> = {};
  try {
    const sources = await findSources({
      cwd: context.cwd,
      env: context.env,
      configPath,
    });
    for (const entry of settingEntries()) {
      if (!LOG_SETTINGS.includes(entry.path)) continue;
      const raw = sources.map((source) => source.lookup(entry))
        .find((value) => value !== undefined && value !== "") ??
        entry.spec.default;
      const parsed = entry.spec.schema.safeParse(raw);
      values[entry.path] = parsed.success ? parsed.data : undefined;
    }
  } catch {
    // loadSettings reports an unreadable source, so the defaults serve here.
  }
  return createLogger({
    name: (values["connector.name"] as string | undefined) ??
      "Cofense ThreatHQ",
    level: values["connector.log_level"] as LogLevel | undefined,
    json: values["opencti.json_logging"] as boolean | undefined,
    sink: (line) => context.stderr(line + "\n"),
  });
}

const LOG_SETTINGS = [
  "connector.name",
  "connector.log_level",
  "opencti.json_logging",
];

/** Logs an error that ends the process, in one line. */
function logFatal(logger: Logger, error: unknown): void {
  if (error instanceof ConfigError) {
    // The problems instead of the multi-line message keep a plain line whole.
    logger.error("Invalid settings; fix them and start again", {
      problems: error.problems,
    });
  } else if (error instanceof CredentialsRejectedError) {
    logger.error("Credentials rejected; fix them and start again", {
      service: error.service,
      error: error.message,
    });
  } else if (error instanceof UsageError) {
    logger.error("Invalid command line", { error: error.message });
  } else if (exitStatusOf(error) === EXIT_INVALID_SETTINGS) {
    logger.error("Cannot run with these settings; fix them and start again", {
      error_type: (error as Error).name,
      error: (error as Error).message,
    });
  } else {
    logger.error("Connector stopped by an unexpected error", {
      error_type: error instanceof Error ? error.name : typeof error,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

async function run(
  args: string[],
  context: CliContext,
  dependencies: RunDependencies,
): Promise<number> {
  let parsed: RunArguments;
  try {
    parsed = parseRunArguments(args);
  } catch (error) {
    logFatal(await startupLogger(context, undefined), error);
    return exitStatusOf(error);
  }
  if (parsed.help) {
    context.stdout(formatHelp(RUN_HELP));
    return EXIT_OK;
  }
  if (parsed.version) {
    context.stdout(versionLine());
    return EXIT_OK;
  }

  const configPath = parsed.configPath === undefined
    ? undefined
    : resolve(context.cwd, parsed.configPath);
  let logger = await startupLogger(context, configPath);
  try {
    const loaded = await loadSettings({
      cwd: context.cwd,
      env: context.env,
      configPath,
      mode: "run",
    });
    const { settings } = loaded;
    logger = createLogger({
      name: settings.connector.name,
      level: settings.connector.log_level,
      json: settings.opencti.json_logging,
      secrets: secretValues(settings),
      sink: (line) => context.stderr(line + "\n"),
    });
    return await runConnector({
      ...dependencies,
      loaded,
      logger,
      signal: context.signal,
      cwd: context.cwd,
    });
  } catch (error) {
    logFatal(logger, error);
    return exitStatusOf(error);
  }
}

/** Creates the `run` command with some parts replaced, for tests. */
export function createRunCommand(dependencies: RunDependencies = {}): Command {
  return (args, context) => run(args, context, dependencies);
}

export const runCommand: Command = createRunCommand();
