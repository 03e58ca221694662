/**
 * Resolves the settings from their sources. Each setting comes from the first
 * source that defines it, in this order: a `.env` file in the working
 * directory, then `config.yml` there, then the environment, then the
 * default. `--config PATH` names the one file to read instead of those two.
 */
import { parse as parseYaml } from "yaml";
import { join } from "node:path";
import type { Logger } from "../log/logger.ts";
import { DotenvSyntaxError, parseDotenv } from "./dotenv.ts";
import {
  type SectionName,
  settingEntries,
  type SettingEntry,
  type Settings,
} from "./settings.ts";

/** One place settings are read from. */
export interface SettingSource {
  /** Shown in logs and errors: a file path or `environment`. */
  name: string;
  lookup(entry: SettingEntry): unknown;
  /** Keys of a settings file that no setting declares, such as typos. */
  unknownKeys?(): string[];
}

export interface SettingProblem {
  path: string;
  env: string;
  /** The source the bad value came from, or undefined for a missing value. */
  source?: string;
  message: string;
}

/** Invalid or missing settings; the process exits with status 2. */
export class ConfigError extends Error {
  constructor(readonly problems: SettingProblem[]) {
    super(formatProblems(problems));
    this.name = "ConfigError";
  }
}

function formatProblems(problems: SettingProblem[]): string {
  const lines = problems.map((problem) => {
    const origin = problem.source === undefined
      ? ""
      : ` from ${problem.source}`;
    const env = problem.env === "-" ? "" : ` (${problem.env})`;
    return `  - ${problem.path}${env}${origin}: ${problem.message}`;
  });
  const count = problems.length === 1
    ? "1 problem"
    : `${problems.length} problems`;
  return `Invalid settings (${count}):\n${lines.join("\n")}`;
}

export interface LoadOptions {
  /** Working directory searched for `.env` and `config.yml`. */
  cwd: string;
  /** The environment variables. */
  env: Record<string, string | undefined>;
  /** `--config PATH`: the only file read, as `.env` or YAML by extension. */
  configPath?: string;
  /**
   * `run`: everything a sync needs must be present. `mapping`: only what is
   * present is validated (the `convert` command needs no credentials).
   */
  mode: "run" | "mapping";
  /** Current time in epoch milliseconds, for date checks. Default: now. */
  now?: number;
}

export interface LoadedSettings {
  settings: Settings;
  /** The sources that exist, in precedence order. */
  sources: string[];
  /** The source of each setting's value (`default` for defaults). */
  origins: Record<string, string>;
  /** Valid but doubtful values, to log as warnings. */
  warnings: Array<{ message: string; attributes: Record<string, unknown> }>;
}

async function readTextIfPresent(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function dotenvSource(name: string, text: string): SettingSource {
  let values: Map<string, string>;
  try {
    values = parseDotenv(text);
  } catch (error) {
    if (!(error instanceof DotenvSyntaxError)) throw error;
    throw new ConfigError([{
      path: name,
      env: "-",
      message: `invalid .env syntax at ${error.message}`,
    }]);
  }
  const known = new Set(settingEntries().map((entry) => entry.env));
  return {
    name,
    lookup: (entry) => values.get(entry.env),
    unknownKeys: () =>
      [...values.keys()].filter((key) =>
        SETTING_PREFIXES.some((prefix) => key.startsWith(prefix)) &&
        !known.has(key)
      ),
  };
}

/** Variable prefixes of the declared settings' sections. */
const SETTING_PREFIXES = ["OPENCTI_", "CONNECTOR_", "COFENSE_THREATHQ_", "MQ_"];

function yamlSource(name: string, text: string): SettingSource {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError([{
      path: name,
      env: "-",
      message: `invalid YAML: ${(error as Error).message.split("\n")[0]}`,
    }]);
  }
  const root = typeof document === "object" && document !== null
    ? document as Record<string, unknown>
    : {};
  return {
    name,
    lookup(entry) {
      const section = root[entry.section];
      if (typeof section !== "object" || section === null) return undefined;
      return (section as Record<string, unknown>)[entry.key];
    },
    unknownKeys() {
      const known = new Set(settingEntries().map((entry) => entry.path));
      const sections = new Set(settingEntries().map((entry) => entry.section));
      const unknown: string[] = [];
      for (const [name, section] of Object.entries(root)) {
        if (!sections.has(name as SectionName)) continue;
        if (typeof section !== "object" || section === null) continue;
        for (const key of Object.keys(section)) {
          if (!known.has(`${name}.${key}`)) unknown.push(`${name}.${key}`);
        }
      }
      return unknown;
    },
  };
}

/** Finds the sources that exist, highest precedence first. */
export async function findSources(
  options: Pick<LoadOptions, "cwd" | "env" | "configPath">,
): Promise<SettingSource[]> {
  const sources: SettingSource[] = [];

  if (options.configPath !== undefined) {
    const text = await readTextIfPresent(options.configPath);
    if (text === undefined) {
      throw new ConfigError([{
        path: "--config",
        env: "-",
        message: `file not found: ${options.configPath}`,
      }]);
    }
    const isYaml = /\.ya?ml$/i.test(options.configPath);
    sources.push(
      isYaml
        ? yamlSource(options.configPath, text)
        : dotenvSource(options.configPath, text),
    );
  } else {
    const dotenv = await readTextIfPresent(join(options.cwd, ".env"));
    if (dotenv !== undefined) sources.push(dotenvSource(".env", dotenv));
    const yaml = await readTextIfPresent(join(options.cwd, "config.yml"));
    if (yaml !== undefined) sources.push(yamlSource("config.yml", yaml));
  }

  sources.push({
    name: "environment",
    lookup: (entry) => options.env[entry.env],
  });
  return sources;
}

/** The placeholder of the sample files, which counts as no value. */
const PLACEHOLDER = "changeme";

function isUnset(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value !== "string") return false;

  const text = value.trim().toLowerCase();
  return text === "" || text === PLACEHOLDER;
}

function describeValue(entry: SettingEntry, raw: unknown): string {
  if (entry.spec.secret) return "the value (hidden)";
  const text = typeof raw === "string" ? raw : JSON.stringify(raw);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}

/** Resolves, validates and types every setting. Throws ConfigError. */
export async function loadSettings(
  options: LoadOptions,
): Promise<LoadedSettings> {
  const sources = await findSources(options);
  return resolveSettings(sources, options.mode, options.now);
}

/** Resolves settings from given sources; the pure half of loadSettings. */
export function resolveSettings(
  sources: SettingSource[],
  mode: LoadOptions["mode"],
  now = Date.now(),
): LoadedSettings {
  const problems: SettingProblem[] = [];
  const origins: Record<string, string> = {};
  const sections: Record<string, Record<string, unknown>> = {};

  for (const entry of settingEntries()) {
    sections[entry.section] ??= {};
    const source = sources.find((s) => !isUnset(s.lookup(entry)));
    const raw = source?.lookup(entry) ?? entry.spec.default;
    if (raw === undefined) continue;

    const parsed = entry.spec.schema.safeParse(raw);
    if (parsed.success) {
      sections[entry.section][entry.key] = parsed.data;
      origins[entry.path] = source?.name ?? "default";
    } else {
      problems.push({
        path: entry.path,
        env: entry.env,
        source: source?.name ?? "default",
        message: `${describeValue(entry, raw)} is invalid: ${
          parsed.error.issues[0].message
        }`,
      });
    }
  }

  const settings = sections as unknown as Settings;
  if (mode === "run") {
    const invalid = new Set(problems.map((problem) => problem.path));
    problems.push(
      ...missingForRun(settings).filter((p) => !invalid.has(p.path)),
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    settings,
    sources: sources.map((source) => source.name),
    origins,
    warnings: [...unknownKeyWarnings(sources), ...warningsFor(settings, now)],
  };
}

function missingForRun(settings: Settings): SettingProblem[] {
  const problems: SettingProblem[] = [];
  const toPlatform = settings.connector.send_to_queue;

  for (const entry of settingEntries()) {
    const needed = entry.spec.required === "always" ||
      (entry.spec.required === "platform" && toPlatform);
    const value =
      (settings[entry.section] as Record<string, unknown>)[entry.key];
    if (needed && value === undefined) {
      problems.push({
        path: entry.path,
        env: entry.env,
        message:
          `missing; set ${entry.env} in .env or the environment, or ${entry.key} under ${entry.section}: in config.yml (ChangeMe counts as missing)`,
      });
    }
  }

  const directory = settings.connector.send_to_directory;
  if (directory && settings.connector.send_to_directory_path === undefined) {
    problems.push({
      path: "connector.send_to_directory_path",
      env: "CONNECTOR_SEND_TO_DIRECTORY_PATH",
      message: "missing; required when connector.send_to_directory is true",
    });
  }
  if (!toPlatform && !directory) {
    problems.push({
      path: "connector.send_to_queue",
      env: "CONNECTOR_SEND_TO_QUEUE",
      message:
        "nothing would be sent: set CONNECTOR_SEND_TO_QUEUE or CONNECTOR_SEND_TO_DIRECTORY to true",
    });
  }
  return problems;
}

function unknownKeyWarnings(
  sources: SettingSource[],
): LoadedSettings["warnings"] {
  const names = settingEntries().flatMap((entry) => [entry.env, entry.path]);
  return sources.flatMap((source) =>
    (source.unknownKeys?.() ?? []).map((key) => ({
      message: "Unknown setting ignored",
      attributes: {
        source: source.name,
        key,
        closest_setting: closestName(key, names),
      },
    }))
  );
}

/** Returns the declared name nearest to `key` by edit distance. */
function closestName(key: string, names: string[]): string {
  let best = names[0];
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of names) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length];
}

const RECOMMENDED_MAX_DAYS = 90;
const DAY_MS = 86_400_000;

function warningsFor(
  settings: Settings,
  now: number,
): LoadedSettings["warnings"] {
  const warnings: LoadedSettings["warnings"] = [];
  const start = settings.cofense_threathq.import_start_date;
  const daysBack = start.kind === "before_run"
    ? start.durationMs / DAY_MS
    : (now - start.epochMs) / DAY_MS;

  if (daysBack > RECOMMENDED_MAX_DAYS) {
    warnings.push({
      message:
        "Import start date is more than 90 days back; Cofense recommends at most 90",
      attributes: {
        setting: "cofense_threathq.import_start_date",
        days_back: Math.round(daysBack),
      },
    });
  }
  return warnings;
}

/** Logs the sources used and, at debug level, where each setting came from. */
export function logSettingsSources(
  logger: Logger,
  loaded: LoadedSettings,
): void {
  logger.info("Settings loaded", { sources: loaded.sources });
  if (logger.enabled("debug")) {
    logger.debug("Setting sources", { origins: loaded.origins });
  }
  for (const warning of loaded.warnings) {
    logger.warn(warning.message, warning.attributes);
  }
}

/** Collects every secret value in the settings, for the logger to redact. */
export function secretValues(settings: Settings): string[] {
  const values: string[] = [];
  for (const entry of settingEntries()) {
    if (!entry.spec.secret) continue;
    const value = (settings[entry.section] as Record<string, unknown>)[
      entry.key
    ];
    if (typeof value === "string") values.push(value);
    if (Array.isArray(value)) {
      for (const pair of value) {
        if (Array.isArray(pair)) values.push(String(pair[1]));
      }
    }
  }
  return values.filter((value) => value.length > 0);
}
