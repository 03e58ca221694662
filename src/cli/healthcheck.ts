/**
 * `healthcheck`: requests `/healthz` from the connector's health server on
 * this host and exits 0 when it returns 200, 1 otherwise. A container image
 * without a shell or curl declares it as its HEALTHCHECK.
 *
 * It reads only the three server settings, so an invalid unrelated setting
 * does not make a running connector look unhealthy. Every failure, usage
 * errors included, exits 1 because the Dockerfile reference reserves exit
 * status 2 of a HEALTHCHECK command.
 */
import {
  ConfigError,
  findSources,
  type SettingSource,
} from "../config/load.ts";
import { settingEntries, type SettingEntry } from "../config/settings.ts";
import { UsageError } from "../errors.ts";
import { VERSION } from "../version.ts";
import type { CliContext, Command } from "./context.ts";
import { formatHelp, HELP_OPTION, VERSION_OPTION } from "./help.ts";

const HEALTHY = 0;
const UNHEALTHY = 1;

/**
 * Time limit of the request in milliseconds. It stays under 3 seconds so
 * that the whole process, start-up included, ends within 3 seconds.
 */
export const HEALTHCHECK_TIMEOUT_MS = 2_500;

/** Maximum length of the response body printed, in characters. */
const MAX_BODY_SHOWN = 300;

const SERVER_SETTINGS = [
  "connector.expose_metrics",
  "connector.metrics_port",
  "connector.metrics_bind_address",
] as const;

export interface HealthcheckDependencies {
  fetch?: typeof fetch;
  timeoutMs?: number;
}

interface ServerSettings {
  enabled: boolean;
  port: number;
  bindAddress: string;
}

function serverEntries(): SettingEntry[] {
  const entries = settingEntries();
  return SERVER_SETTINGS.map((path) =>
    entries.find((entry) => entry.path === path)!
  );
}

function usage(): string {
  return formatHelp({
    usage: "threathq-connector healthcheck [--config PATH]",
    summary: [
      `Requests http://<address>:<port>/healthz from the connector's health server on this host. Exits 0 when it returns 200 and 1 otherwise: not 200, no answer within ${
        HEALTHCHECK_TIMEOUT_MS / 1_000
      } seconds, server disabled or settings invalid. A bind address of 0.0.0.0 is requested at 127.0.0.1, and :: at ::1.`,
    ],
    options: [
      {
        flag: "--config PATH",
        description:
          "Read settings from this file instead of .env and config.yml",
      },
      HELP_OPTION,
      VERSION_OPTION,
    ],
    settings: SERVER_SETTINGS,
    notes: [
      "Only these settings are read, so an invalid unrelated setting does not make a running connector look unhealthy.",
    ],
  });
}

/** Returns the URL of `/healthz` for a server bound to `bindAddress`. */
export function healthzUrl(bindAddress: string, port: number): string {
  let host = bindAddress.replace(/^\[(.*)\]$/, "$1");
  if (host === "0.0.0.0") host = "127.0.0.1";
  if (host === "::") host = "::1";
  const authority = host.includes(":") ? `[${host}]` : host;
  return `http://${authority}:${port}/healthz`;
}

function isUnset(value: unknown): boolean {
  return value === undefined || value === null ||
    (typeof value === "string" && value.trim() === "");
}

/** Resolves one setting from the sources, or throws ConfigError. */
function resolveEntry(sources: SettingSource[], entry: SettingEntry): unknown {
  const source = sources.find((candidate) => !isUnset(candidate.lookup(entry)));
  const raw = source?.lookup(entry) ?? entry.spec.default;
  const parsed = entry.spec.schema.safeParse(raw);
  if (parsed.success) return parsed.data;

  throw new ConfigError([{
    path: entry.path,
    env: entry.env,
    source: source?.name ?? "default",
    message: `${JSON.stringify(String(raw))} is invalid: ${
      parsed.error.issues[0].message
    }`,
  }]);
}

async function readServerSettings(
  context: CliContext,
  configPath: string | undefined,
): Promise<ServerSettings> {
  const sources = await findSources({
    cwd: context.cwd,
    env: context.env,
    configPath,
  });
  const [enabled, port, bindAddress] = serverEntries().map((entry) =>
    resolveEntry(sources, entry)
  );
  return {
    enabled: enabled as boolean,
    port: port as number,
    bindAddress: bindAddress as string,
  };
}

/** Returns the `--config` value; throws UsageError for other arguments. */
function parseArgs(args: string[]): { configPath?: string } {
  let configPath: string | undefined;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg.startsWith("--config=")) {
      configPath = arg.slice("--config=".length);
    } else if (arg === "--config" && index + 1 < args.length) {
      configPath = args[++index];
    } else if (arg === "--config") {
      throw new UsageError("--config needs a file path: --config PATH");
    } else {
      throw new UsageError(`unknown argument "${arg}"`);
    }
  }
  return { configPath };
}

function shorten(text: string): string {
  const line = text.trim().replaceAll("\n", " ");
  return line.length > MAX_BODY_SHOWN
    ? `${line.slice(0, MAX_BODY_SHOWN)}...`
    : line;
}

/** Returns the message of a fetch error, with the cause that names the OS error. */
function errorDetail(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}

async function probe(
  url: string,
  context: CliContext,
  dependencies: HealthcheckDependencies,
): Promise<number> {
  const timeoutMs = dependencies.timeoutMs ?? HEALTHCHECK_TIMEOUT_MS;
  const signal = AbortSignal.any([
    AbortSignal.timeout(timeoutMs),
    context.signal,
  ]);
  const request = dependencies.fetch ?? fetch;

  let response: Response;
  let body: string;
  try {
    response = await request(url, { signal, redirect: "manual" });
    body = await response.text();
  } catch (error) {
    const reason = signal.aborted && !context.signal.aborted
      ? `no response within ${timeoutMs} ms`
      : errorDetail(error);
    context.stderr(
      `unhealthy: GET ${url} failed: ${reason}; check that the connector is running and CONNECTOR_METRICS_PORT matches its port\n`,
    );
    return UNHEALTHY;
  }

  if (response.status === 200) {
    context.stdout(`healthy: GET ${url} returned 200\n`);
    return HEALTHY;
  }
  context.stderr(
    `unhealthy: GET ${url} returned ${response.status}: ${shorten(body)}\n`,
  );
  return UNHEALTHY;
}

/** Runs the command with injectable I/O; `healthcheckCommand` uses defaults. */
export async function runHealthcheck(
  args: string[],
  context: CliContext,
  dependencies: HealthcheckDependencies = {},
): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    context.stdout(usage());
    return HEALTHY;
  }
  if (args.includes("--version")) {
    context.stdout(`threathq-connector ${VERSION}\n`);
    return HEALTHY;
  }

  let configPath: string | undefined;
  try {
    configPath = parseArgs(args).configPath;
  } catch (error) {
    context.stderr(`healthcheck: ${(error as Error).message}\n\n${usage()}`);
    return UNHEALTHY;
  }

  let settings: ServerSettings;
  try {
    settings = await readServerSettings(context, configPath);
  } catch (error) {
    const detail = error instanceof ConfigError
      ? error.message
      : `reading the settings failed: ${(error as Error).message}`;
    context.stderr(`unhealthy: ${detail}\n`);
    return UNHEALTHY;
  }

  if (!settings.enabled) {
    context.stderr(
      "unhealthy: the health server is disabled; set CONNECTOR_EXPOSE_METRICS=true (expose_metrics under connector: in config.yml) to serve /healthz\n",
    );
    return UNHEALTHY;
  }
  const url = healthzUrl(settings.bindAddress, settings.port);
  return await probe(url, context, dependencies);
}

export const healthcheckCommand: Command = (args, context) =>
  runHealthcheck(args, context);
