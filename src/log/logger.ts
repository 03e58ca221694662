/**
 * The connector's one logger: JSON lines on standard error with the keys that
 * OpenCTI's Python connectors write (`timestamp`, `level`, `name`, `message`,
 * `attributes`), or plain text lines when JSON logging is off.
 *
 * Messages stay constant; every variable part goes into `attributes`, so log
 * queries can match on the message. Secret values registered with the logger
 * are replaced by `***` wherever they would appear in a line.
 */

import { redactSecrets } from "./redact.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

export type LogAttributes = Record<string, unknown>;

export interface Logger {
  debug(message: string, attributes?: LogAttributes): void;
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
  /** Returns whether a line at this level would be written. */
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  /** The logger name written in `name`: the connector name. */
  name: string;
  level?: LogLevel;
  /** JSON lines when true (the default), `LEVEL:name:message` lines otherwise. */
  json?: boolean;
  /** Values that must never appear in a line, such as tokens and passwords. */
  secrets?: readonly string[];
  /** Receives each finished line without its newline. Default: standard error. */
  sink?: (line: string) => void;
  /** Current time in epoch milliseconds, with a fraction for microseconds. */
  now?: () => number;
}

const LEVEL_RANK: Record<LogLevel, number> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
};

/** Python's level names, which OpenCTI's connectors write. */
const LEVEL_NAME: Record<LogLevel, string> = {
  debug: "DEBUG",
  info: "INFO",
  warn: "WARNING",
  error: "ERROR",
};

export const LOG_LEVELS = Object.keys(LEVEL_RANK) as LogLevel[];

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Formats epoch milliseconds as UTC ISO 8601 with six fractional digits. */
export function formatTimestamp(epochMs: number): string {
  const wholeMs = Math.floor(epochMs);
  const micros = Math.floor((epochMs - wholeMs) * 1000);
  const iso = new Date(wholeMs).toISOString();
  return iso.slice(0, -1) + String(micros).padStart(3, "0") + "Z";
}

/** Converts values JSON cannot carry well (errors, bigints, dates). */
function toJsonValue(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message };
  }
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Temporal.Instant) return value.toString();
  return value;
}

function formatPlain(
  level: LogLevel,
  name: string,
  message: string,
  attributes?: LogAttributes,
): string {
  let line = `${LEVEL_NAME[level]}:${name}:${message}`;
  if (attributes === undefined) return line;

  for (const [key, value] of Object.entries(attributes)) {
    const text = typeof value === "string"
      ? value
      : JSON.stringify(value, toJsonValue);
    line += ` ${key}=${text}`;
  }
  return line;
}

/** Creates a logger. Every module receives one instead of using `console`. */
export function createLogger(options: LoggerOptions): Logger {
  const threshold = LEVEL_RANK[options.level ?? "info"];
  const json = options.json ?? true;
  const secrets = (options.secrets ?? []).filter((secret) => secret !== "");
  const sink = options.sink ?? writeStderr;
  const now = options.now ?? preciseNow;

  const enabled = (level: LogLevel) => LEVEL_RANK[level] >= threshold;

  const write = (
    level: LogLevel,
    message: string,
    attributes?: LogAttributes,
  ) => {
    if (!enabled(level)) return;

    const line = json
      ? JSON.stringify({
        timestamp: formatTimestamp(now()),
        level: LEVEL_NAME[level],
        name: options.name,
        message,
        ...(attributes === undefined ? {} : { attributes }),
      }, toJsonValue)
      : formatPlain(level, options.name, message, attributes);
    sink(redactSecrets(line, secrets));
  };

  return {
    debug: (message, attributes) => write("debug", message, attributes),
    info: (message, attributes) => write("info", message, attributes),
    warn: (message, attributes) => write("warn", message, attributes),
    error: (message, attributes) => write("error", message, attributes),
    enabled,
  };
}

/** Creates a logger that keeps its lines in memory, for tests. */
export function createMemoryLogger(
  options: Partial<LoggerOptions> = {},
): Logger & { lines: string[]; records: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const logger = createLogger({
    name: "test",
    level: "debug",
    ...options,
    sink: (line) => lines.push(line),
  });
  return {
    ...logger,
    lines,
    records: () => lines.map((line) => JSON.parse(line)),
  };
}
