/**
 * `check`: validates the settings as `run` does, then tries each service they
 * call for and prints one line per check (format in `check_report.ts`).
 * ThreatHQ, the platform and the directory are checked at the same time,
 * and RabbitMQ after the platform, which may return its address. It never
 * registers the connector and never prints a secret.
 *
 * Exit status: 0 when no check failed, 1 otherwise (invalid settings
 * included, since they are one of the checks), 2 for bad usage as with
 * every command.
 */
import { resolve } from "node:path";
import { EXIT_INVALID_SETTINGS } from "../errors.ts";
import {
  ConfigError,
  findSources,
  type LoadedSettings,
  loadSettings,
  secretValues,
  type SettingProblem,
} from "../config/load.ts";
import { settingEntries } from "../config/settings.ts";
import { createLogger, type Logger } from "../log/logger.ts";
import { CHECK_TIMEOUT_MS } from "./check_deadline.ts";
import { checkDirectory, type CreateProbeFile } from "./check_directory.ts";
import { checkPlatform, type PlatformCheck } from "./check_platform.ts";
import { checkRabbitMq } from "./check_rabbitmq.ts";
import {
  type CheckName,
  type CheckResult,
  errorText,
  failed,
  formatResult,
  formatSummary,
  passed,
  redactSecrets,
  skipped,
} from "./check_report.ts";
import { checkThreatHq } from "./check_threathq.ts";
import type { CliContext, Command } from "./context.ts";
import {
  CONFIG_OPTION,
  formatHelp,
  HELP_OPTION,
  VERSION_OPTION,
  versionLine,
} from "./help.ts";

const PASSED = 0;
const FAILED = 1;

export interface CheckDependencies {
  /** Time limit of each check in milliseconds; default `CHECK_TIMEOUT_MS`. */
  timeoutMs?: number;
  /** Replaces the directory check's probe file creation, for tests. */
  createProbeFile?: CreateProbeFile;
}

/** Returns the help text of `check`. */
export function checkHelp(): string {
  return formatHelp({
    usage: "threathq-connector check [--config PATH]",
    summary: [
      "Validates the settings as `run` does, then tries each service they call for: ThreatHQ (one authenticated GET feed/), the OpenCTI platform (its version, the token, and whether the connector is registered, without registering it), RabbitMQ (an AMQP login with the platform's broker settings for a registered connector, else the MQ_* settings) and the bundle directory (writable). Checks of services the settings do not use are skipped.",
      `Each check stops after ${
        CHECK_TIMEOUT_MS / 1_000
      } seconds and is not retried, so a platform that is still starting is reported as unreachable. Secrets are never printed.`,
    ],
    options: [CONFIG_OPTION, HELP_OPTION, VERSION_OPTION],
    settings: "all",
    notes: [
      "Output on standard output: one line per check, the status (ok, FAIL or skip), the check (settings, threathq, opencti, rabbitmq, directory) and a message; a failure ends with ` — fix: ` and what to change. Indented lines give details of the line above, and the last line counts the results.",
      "Exit status: 0 when no check failed, 1 otherwise (invalid settings included), 2 for bad usage.",
    ],
  });
}

interface CheckArguments {
  help: boolean;
  version: boolean;
  configPath?: string;
}

/** Parses the arguments; returns an error message for bad usage. */
function parseArguments(args: string[]): CheckArguments | string {
  const parsed: CheckArguments = { help: false, version: false };
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === "--help" || arg === "-h") {
      parsed.help = true;
    } else if (arg === "--version") {
      parsed.version = true;
    } else if (arg.startsWith("--config=")) {
      parsed.configPath = arg.slice("--config=".length);
    } else if (arg === "--config" && index + 1 < args.length) {
      index += 1;
      parsed.configPath = args[index];
    } else if (arg === "--config") {
      return "missing value after --config; give a file path: --config PATH";
    } else {
      return `unknown argument ${JSON.stringify(arg)}`;
    }
  }
  return parsed;
}

/** Runs the command with injectable limits; `checkCommand` uses defaults. */
export async function runCheck(
  args: string[],
  context: CliContext,
  dependencies: CheckDependencies = {},
): Promise<number> {
  const parsed = parseArguments(args);
  if (typeof parsed === "string") {
    context.stderr(`check: ${parsed}; see threathq-connector check --help\n`);
    return EXIT_INVALID_SETTINGS;
  }
  if (parsed.help) {
    context.stdout(checkHelp());
    return PASSED;
  }
  if (parsed.version) {
    context.stdout(versionLine());
    return PASSED;
  }

  const configPath = parsed.configPath === undefined
    ? undefined
    : resolve(context.cwd, parsed.configPath);
  const loaded = await loadForCheck(context, configPath);
  if ("result" in loaded) {
    return reportInvalidSettings(loaded.result, loaded.secrets, context);
  }
  return await runServiceChecks(loaded, context, dependencies);
}

export const checkCommand: Command = (args, context) => runCheck(args, context);

type LoadOutcome =
  | LoadedSettings
  | { result: CheckResult; secrets: string[] };

async function loadForCheck(
  context: CliContext,
  configPath: string | undefined,
): Promise<LoadOutcome> {
  try {
    return await loadSettings({
      cwd: context.cwd,
      env: context.env,
      configPath,
      mode: "run",
    });
  } catch (error) {
    const secrets = await rawSecretValues(context, configPath);
    if (error instanceof ConfigError) {
      const result = failed(
        "settings",
        invalidSummary(error.problems),
        "correct each setting listed below",
      );
      result.details = error.problems.map(describeProblem);
      return { result, secrets };
    }
    const result = failed(
      "settings",
      `reading the settings failed: ${errorText(error)}`,
      "check that .env, config.yml or the --config file is readable",
    );
    return { result, secrets };
  }
}

function invalidSummary(problems: readonly SettingProblem[]): string {
  return problems.length === 1
    ? "invalid settings (1 problem)"
    : `invalid settings (${problems.length} problems)`;
}

function describeProblem(problem: SettingProblem): string {
  const origin = problem.source === undefined ? "" : ` from ${problem.source}`;
  return `${problem.path} (${problem.env})${origin}: ${problem.message}`;
}

/**
 * Collects the raw value of every secret setting in the sources, so that
 * output about invalid settings is redacted as well as output about valid
 * ones.
 */
async function rawSecretValues(
  context: CliContext,
  configPath: string | undefined,
): Promise<string[]> {
  let sources;
  try {
    sources = await findSources({
      cwd: context.cwd,
      env: context.env,
      configPath,
    });
  } catch {
    return [];
  }

  const values: string[] = [];
  for (const entry of settingEntries().filter((entry) => entry.spec.secret)) {
    for (const source of sources) {
      const raw = source.lookup(entry);
      if (raw !== undefined && raw !== null) values.push(String(raw).trim());
    }
  }
  return values.filter((value) => value !== "");
}

const SERVICE_CHECKS: readonly CheckName[] = [
  "threathq",
  "opencti",
  "rabbitmq",
  "directory",
];

function reportInvalidSettings(
  result: CheckResult,
  secrets: readonly string[],
  context: CliContext,
): number {
  const results = [
    result,
    ...SERVICE_CHECKS.map((name) =>
      skipped(name, "not checked: the settings are invalid")
    ),
  ];
  for (const checkResult of results) {
    context.stdout(redactSecrets(formatResult(checkResult), secrets));
  }
  context.stdout(formatSummary(results));
  return FAILED;
}

function settingsResult(loaded: LoadedSettings): CheckResult {
  const result = passed(
    "settings",
    `valid (sources: ${loaded.sources.join(", ")})`,
  );
  result.details = loaded.warnings.map((warning) =>
    `warning: ${warning.message} ${JSON.stringify(warning.attributes)}`
  );
  return result;
}

/**
 * Turns an error that escaped a check into its failed result. An
 * interruption becomes a failed result too, so that no check's promise is
 * left to reject unobserved.
 */
function unexpected(
  name: CheckName,
  error: unknown,
  context: CliContext,
): CheckResult {
  if (context.signal.aborted) return failed(name, "interrupted");
  return failed(name, `the check failed unexpectedly: ${errorText(error)}`);
}

function guard(
  name: CheckName,
  context: CliContext,
  run: () => Promise<CheckResult>,
): Promise<CheckResult> {
  return run().catch((error) => unexpected(name, error, context));
}

async function runServiceChecks(
  loaded: LoadedSettings,
  context: CliContext,
  dependencies: CheckDependencies,
): Promise<number> {
  const { settings } = loaded;
  const secrets = secretValues(settings);
  const logger = checkLogger(loaded, secrets, context);
  const common = {
    logger,
    timeoutMs: dependencies.timeoutMs ?? CHECK_TIMEOUT_MS,
    signal: context.signal,
  };

  const threathq = guard(
    "threathq",
    context,
    () => checkThreatHq({ ...common, settings: settings.cofense_threathq }),
  );
  const platform = checkPlatform({ ...common, settings }).catch((
    error,
  ): PlatformCheck => ({
    result: unexpected("opencti", error, context),
    broker: { kind: "unknown", reason: "the platform check failed" },
  }));
  const directory = guard("directory", context, () =>
    checkDirectory({
      settings: settings.connector,
      cwd: context.cwd,
      logger,
      createProbeFile: dependencies.createProbeFile,
    }));

  const results: CheckResult[] = [];
  const print = (result: CheckResult) => {
    results.push(result);
    context.stdout(redactSecrets(formatResult(result), secrets));
  };
  print(settingsResult(loaded));
  print(await threathq);
  const { result: platformResult, broker } = await platform;
  if (broker.kind === "registered") secrets.push(broker.connection.pass);
  print(platformResult);
  print(
    await guard(
      "rabbitmq",
      context,
      () => checkRabbitMq({ ...common, settings, broker }),
    ),
  );
  print(await directory);

  context.stdout(formatSummary(results));
  if (context.signal.aborted) {
    context.stderr("check: interrupted before every check finished\n");
  }
  return results.some((result) => result.status === "fail") ? FAILED : PASSED;
}

function checkLogger(
  loaded: LoadedSettings,
  secrets: readonly string[],
  context: CliContext,
): Logger {
  return createLogger({
    name: loaded.settings.connector.name,
    level: loaded.settings.connector.log_level,
    json: loaded.settings.opencti.json_logging,
    secrets,
    sink: (line) => context.stderr(line + "\n"),
  });
}
