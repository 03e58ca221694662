/**
 * `convert [FILE|-]`: maps ThreatHQ threats from a file or standard input to
 * one STIX 2.1 bundle on standard output, without contacting ThreatHQ or
 * OpenCTI. Mapping problems are logged as warnings on standard error.
 *
 * Exit status: 0 when a bundle was written, 1 when the input is not JSON or
 * contains no threat, 2 for invalid settings or usage.
 */
import { resolve } from "node:path";
import { ConfigError, loadSettings } from "../config/load.ts";
import { type Impact, SETTINGS } from "../config/settings.ts";
import {
  EXIT_INVALID_SETTINGS,
  EXIT_OK,
  EXIT_RUN_FAILED,
  UsageError,
} from "../errors.ts";
import { createLogger, type Logger } from "../log/logger.ts";
import {
  type MappingOptions,
  type MappingProblem,
  mapThreat,
} from "../mapper/map_threat.ts";
import { mergeObjects } from "../mapper/merge_objects.ts";
import { makeBundle } from "../stix/bundle.ts";
import type { StixObject } from "../stix/types.ts";
import type { CliContext, Command } from "./context.ts";
import { formatHelp } from "./help.ts";

/**
 * The settings `convert` uses. Other settings that are set are validated
 * but not used.
 */
const CONVERT_SETTINGS = [
  "cofense_threathq.tlp_level",
  "cofense_threathq.impact_to_exclude",
  "cofense_threathq.promote_observables_as_indicators",
  "connector.name",
  "connector.log_level",
  "opencti.json_logging",
] as const;

/** Returns the help text of `convert`. */
export function convertHelp(): string {
  return formatHelp({
    usage: "threathq-connector convert [options] [FILE|-]",
    summary: [
      'Maps ThreatHQ threats to one STIX 2.1 bundle, written to standard output. FILE (or standard input when FILE is - or missing) contains one threat object, a {"success": true, "data": <threat>} response, or a threat/search response with data.threats[]. No credentials are needed.',
    ],
    options: [
      {
        flag: "--config PATH",
        description: "Read settings from this .env or YAML file only",
      },
      {
        flag: "--tlp LEVEL",
        description:
          "TLP marking: clear, white, green, amber, amber+strict or red (overrides tlp_level)",
      },
      {
        flag: "--impact-to-exclude LIST",
        description:
          'Comma-separated impacts whose blocks and files are left out: Major, Moderate, Minor, None (overrides impact_to_exclude; "" excludes none)',
      },
      {
        flag: "--no-indicators",
        description:
          "Make no indicators (overrides promote_observables_as_indicators)",
      },
      { flag: "--help, -h", description: "Show this help" },
    ],
    settings: CONVERT_SETTINGS,
    notes: [
      "Every other setting that is set is validated too, so an invalid value fails the command even where the mapping does not use it.",
      "Mapping problems are logged as warnings on standard error. Exit status: 0 when a bundle was written, 1 when the input is not JSON or contains no threat, 2 for invalid settings or usage.",
    ],
  });
}

const EXPECTED_INPUT =
  'expected a ThreatHQ threat object, a {"success": true, "data": <threat>} response or a threat/search response with data.threats[]';

interface ConvertArguments {
  help: boolean;
  input: string;
  configPath?: string;
  tlp?: string;
  impactToExclude?: string;
  noIndicators: boolean;
}

/** A failure that ends the command with a message and an exit status. */
class ConvertFailure extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = "ConvertFailure";
  }
}

const VALUE_FLAGS = new Set(["--config", "--tlp", "--impact-to-exclude"]);

function takeValue(args: string[], index: number, flag: string): string {
  const value = args[index + 1];
  if (value === undefined) {
    throw new UsageError(`missing value after ${flag}; see convert --help`);
  }
  return value;
}

function setFlag(parsed: ConvertArguments, flag: string, value: string) {
  if (flag === "--config") parsed.configPath = value;
  else if (flag === "--tlp") parsed.tlp = value;
  else parsed.impactToExclude = value;
}

/** Parses the arguments; throws UsageError for unknown or missing ones. */
export function parseConvertArguments(args: string[]): ConvertArguments {
  const parsed: ConvertArguments = {
    help: false,
    input: "-",
    noIndicators: false,
  };
  const positional: string[] = [];

  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];

    if (flag === "--help" || flag === "-h") {
      parsed.help = true;
    } else if (flag === "--no-indicators") {
      parsed.noIndicators = true;
    } else if (VALUE_FLAGS.has(flag)) {
      const value = inline ?? takeValue(args, index, flag);
      if (inline === undefined) index += 1;
      setFlag(parsed, flag, value);
    } else if (arg.startsWith("-") && arg !== "-") {
      throw new UsageError(`unknown option ${arg}; see convert --help`);
    } else {
      positional.push(arg);
    }
  }

  if (positional.length > 1) {
    throw new UsageError(
      `expected one input file, got ${positional.length}: ${
        positional.join(" ")
      }`,
    );
  }
  parsed.input = positional[0] ?? "-";
  return parsed;
}

function settingProblem(flag: string, value: string, error: unknown): never {
  const detail = (error as { issues?: Array<{ message: string }> }).issues
    ?.map((issue) => issue.message).join("; ") ?? String(error);
  throw new ConvertFailure(
    `Invalid ${flag} ${JSON.stringify(value)}: ${detail}`,
    EXIT_INVALID_SETTINGS,
  );
}

/** Applies the flags over the configured mapping settings. */
function mappingOptions(
  configured: MappingOptions,
  args: ConvertArguments,
): MappingOptions {
  const options = { ...configured };

  if (args.tlp !== undefined) {
    const parsed = SETTINGS.cofense_threathq.tlp_level.schema.safeParse(
      args.tlp,
    );
    if (!parsed.success) settingProblem("--tlp", args.tlp, parsed.error);
    options.tlp = parsed.data;
  }

  if (args.impactToExclude !== undefined) {
    const parsed = SETTINGS.cofense_threathq.impact_to_exclude.schema
      .safeParse(args.impactToExclude);
    if (!parsed.success) {
      settingProblem("--impact-to-exclude", args.impactToExclude, parsed.error);
    }
    options.impactToExclude = parsed.data as Impact[];
  }

  if (args.noIndicators) options.promoteIndicators = false;
  return options;
}

async function readInput(
  input: string,
  context: CliContext,
): Promise<{ name: string; text: string }> {
  if (input === "-") {
    const text = await new Response(context.stdin).text();
    return { name: "standard input", text };
  }

  const path = resolve(context.cwd, input);
  try {
    return { name: input, text: await Deno.readTextFile(path) };
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "file not found"
      : (error as Error).message;
    throw new ConvertFailure(
      `Cannot read ${input}: ${reason}`,
      EXIT_RUN_FAILED,
    );
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Finds the threats in a parsed input: a `threat/search` response, a
 * `{success, data}` response around one threat, or one bare threat.
 */
function threatsOf(document: unknown, name: string): unknown[] {
  const fail = (what: string) => {
    throw new ConvertFailure(
      `${name} ${what}; ${EXPECTED_INPUT}`,
      EXIT_RUN_FAILED,
    );
  };

  if (!isRecord(document)) return fail("is not a JSON object");
  if (document.success === false) {
    return fail("is a ThreatHQ error response (success: false)");
  }

  const data = document.data;
  if (isRecord(data) && Array.isArray(data.threats)) return data.threats;
  if (isRecord(data) && "id" in data) return [data];
  if ("id" in document) return [document];
  return fail("contains no threat");
}

function logProblems(logger: Logger, problems: readonly MappingProblem[]) {
  for (const problem of problems) {
    logger.warn("Skipped or dropped a ThreatHQ value", {
      threat_id: problem.threatId,
      field: problem.field,
      value: problem.value,
      reason: problem.reason,
    });
  }
}

/** Maps every threat; returns the merged objects and the count mapped. */
function mapAll(
  threats: readonly unknown[],
  options: MappingOptions,
  logger: Logger,
): { objects: StixObject[]; mapped: number } {
  const objects: StixObject[] = [];
  let mapped = 0;

  threats.forEach((raw, index) => {
    const result = mapThreat(raw, options);
    if (!result.ok) {
      logger.warn("Skipped a threat that could not be mapped", { index });
      logProblems(logger, result.problems);
      return;
    }
    mapped += 1;
    logProblems(logger, result.threat.problems);
    objects.push(...result.threat.objects);
  });

  return { objects: mergeObjects(objects), mapped };
}

async function convert(args: string[], context: CliContext): Promise<number> {
  const parsed = parseConvertArguments(args);
  if (parsed.help) {
    context.stdout(convertHelp());
    return EXIT_OK;
  }

  const { settings } = await loadSettings({
    cwd: context.cwd,
    env: context.env,
    configPath: parsed.configPath === undefined
      ? undefined
      : resolve(context.cwd, parsed.configPath),
    mode: "mapping",
  });
  const options = mappingOptions({
    tlp: settings.cofense_threathq.tlp_level,
    impactToExclude: settings.cofense_threathq.impact_to_exclude as Impact[],
    promoteIndicators:
      settings.cofense_threathq.promote_observables_as_indicators,
  }, parsed);
  const logger = createLogger({
    name: settings.connector.name,
    level: settings.connector.log_level,
    json: settings.opencti.json_logging,
    sink: (line) => context.stderr(line + "\n"),
  });

  const input = await readInput(parsed.input, context);
  let document: unknown;
  try {
    document = JSON.parse(input.text);
  } catch (error) {
    throw new ConvertFailure(
      `${input.name} is not valid JSON (${
        (error as Error).message
      }); ${EXPECTED_INPUT}`,
      EXIT_RUN_FAILED,
    );
  }

  const threats = threatsOf(document, input.name);
  const { objects, mapped } = mapAll(threats, options, logger);
  if (threats.length > 0 && mapped === 0) {
    throw new ConvertFailure(
      `${input.name} contains no threat that could be mapped (see the warnings above); ${EXPECTED_INPUT}`,
      EXIT_RUN_FAILED,
    );
  }
  if (threats.length === 0) {
    logger.warn("The input contains no threats; the bundle is empty", {
      input: input.name,
    });
  }

  context.stdout(JSON.stringify(makeBundle(objects), null, 2) + "\n");
  return EXIT_OK;
}

/** Runs `convert` and turns its failures into messages and exit statuses. */
export const convertCommand: Command = async (args, context) => {
  try {
    return await convert(args, context);
  } catch (error) {
    if (error instanceof ConfigError) {
      context.stderr(error.message + "\n");
      return EXIT_INVALID_SETTINGS;
    }
    if (error instanceof UsageError) {
      context.stderr(`${error.message}\n`);
      return EXIT_INVALID_SETTINGS;
    }
    if (error instanceof ConvertFailure) {
      context.stderr(`${error.message}\n`);
      return error.status;
    }
    throw error;
  }
};
