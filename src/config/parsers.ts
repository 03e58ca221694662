/**
 * Zod schemas for setting values. Each takes the raw value as a source gives
 * it (always a string from `.env` and the environment, a string, number,
 * boolean or list from `config.yml`) and returns the typed value, or fails
 * with a message that states the expected form.
 */
import { z } from "zod";

const TRUE_WORDS = new Set(["true", "yes", "1"]);
const FALSE_WORDS = new Set(["false", "no", "0"]);

/** true/false, yes/no or 1/0 in any case. */
export const booleanValue = z.unknown().transform((raw, context) => {
  if (typeof raw === "boolean") return raw;

  const word = String(raw).trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;

  context.addIssue({
    code: "custom",
    message: "expected true or false (also yes/no, 1/0)",
  });
  return z.NEVER;
});

/** A comma-separated list, trimmed, with empty items dropped. */
export const listValue = z.unknown().transform((raw) => {
  const items = Array.isArray(raw) ? raw.map(String) : String(raw).split(",");
  return items.map((item) => item.trim()).filter((item) => item !== "");
});

/** A non-empty string, trimmed. */
export const textValue = z.unknown().transform((raw, context) => {
  const text = String(raw).trim();
  if (text !== "") return text;

  context.addIssue({ code: "custom", message: "expected a non-empty text" });
  return z.NEVER;
});

/** An integer within bounds, given as a number or as digits. */
export function integerValue(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.unknown().transform((raw, context) => {
    const text = String(raw).trim();
    const value = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
    if (Number.isSafeInteger(value) && value >= min && value <= max) {
      return value;
    }

    const range = max === Number.MAX_SAFE_INTEGER
      ? `${min} or more`
      : `from ${min} to ${max}`;
    context.addIssue({
      code: "custom",
      message: `expected a whole number ${range}`,
    });
    return z.NEVER;
  });
}

/** A number greater than zero, such as a rate. */
export const positiveNumberValue = z.unknown().transform((raw, context) => {
  const text = String(raw).trim();
  const value = /^[+]?(\d+\.?\d*|\.\d+)$/.test(text)
    ? Number(text)
    : Number.NaN;
  if (Number.isFinite(value) && value > 0) return value;

  context.addIssue({
    code: "custom",
    message: "expected a number greater than 0",
  });
  return z.NEVER;
});

/** An http or https URL. */
export const urlValue = z.unknown().transform((raw, context) => {
  const text = String(raw).trim();
  if (URL.canParse(text)) {
    const url = new URL(text);
    if (url.protocol === "http:" || url.protocol === "https:") return text;
  }

  context.addIssue({
    code: "custom",
    message: "expected an http:// or https:// URL",
  });
  return z.NEVER;
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID such as one made by `uuidgen`. */
export const uuidValue = z.unknown().transform((raw, context) => {
  const text = String(raw).trim();
  if (UUID.test(text)) return text.toLowerCase();

  context.addIssue({
    code: "custom",
    message: "expected a UUID such as 1f0f3a52-8a29-4c55-9c1e-3b0d1c6f2a7e",
  });
  return z.NEVER;
});

/** One of a fixed set of words, compared without regard to case. */
export function choiceValue<const T extends string>(choices: readonly T[]) {
  return z.unknown().transform((raw, context) => {
    const word = String(raw).trim().toLowerCase();
    const found = choices.find((choice) => choice.toLowerCase() === word);
    if (found !== undefined) return found;

    context.addIssue({
      code: "custom",
      message: `expected one of ${choices.join(", ")}`,
    });
    return z.NEVER;
  });
}

/** A list whose items are each one of a fixed set, without regard to case. */
export function choiceListValue<const T extends string>(choices: readonly T[]) {
  return listValue.transform((items, context) => {
    const result: T[] = [];
    for (const item of items) {
      const found = choices.find((c) => c.toLowerCase() === item.toLowerCase());
      if (found === undefined) {
        context.addIssue({
          code: "custom",
          message: `"${item}" is not one of ${choices.join(", ")}`,
        });
        return z.NEVER;
      }
      if (!result.includes(found)) result.push(found);
    }
    return result;
  });
}

/**
 * Parses an ISO 8601 duration into milliseconds. `0` means zero, as pycti
 * accepts it. Years and months have no fixed length, so they are rejected.
 */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "0") return 0;
  if (!/^P/i.test(trimmed)) return undefined;

  let duration: Temporal.Duration;
  try {
    duration = Temporal.Duration.from(trimmed.toUpperCase());
  } catch {
    return undefined;
  }
  if (duration.sign < 0 || duration.years !== 0 || duration.months !== 0) {
    return undefined;
  }
  return duration.total({ unit: "milliseconds", relativeTo: "1970-01-01" });
}

const DURATION_FORM =
  "expected an ISO 8601 duration in weeks, days, hours, minutes or seconds, such as PT5H, PT30S or P1D";

const durationSchemas = new WeakSet<z.ZodType>();

/**
 * Bounds of a duration that becomes one timer: JavaScript timers fire at
 * once past 2^31 - 1 ms (about 24.8 days), so one day is the maximum.
 */
export const TIMER_DURATION = {
  minMs: 1000,
  maxMs: 86_400_000,
  range: "PT1S to P1D",
};

/**
 * An ISO 8601 duration such as PT5H, PT30S or P1D, in milliseconds, within
 * `[minMs, maxMs]` when bounds are given.
 */
export function durationValue(
  hint = "",
  bounds: { minMs: number; maxMs: number; range: string } | undefined =
    undefined,
) {
  const schema = z.unknown().transform((raw, context) => {
    const value = parseDurationMs(String(raw));
    if (value === undefined) {
      context.addIssue({ code: "custom", message: DURATION_FORM + hint });
      return z.NEVER;
    }
    if (bounds && (value < bounds.minMs || value > bounds.maxMs)) {
      context.addIssue({
        code: "custom",
        message: `expected a duration from ${bounds.range}`,
      });
      return z.NEVER;
    }
    return value;
  });
  durationSchemas.add(schema);
  return schema;
}

/** Returns whether a setting's schema was made by `durationValue`. */
export function isDurationSchema(schema: z.ZodType): boolean {
  return durationSchemas.has(schema);
}

/** The start of the first import: a fixed instant or a time before the run. */
export type StartDate =
  | { kind: "instant"; epochMs: number }
  | { kind: "before_run"; durationMs: number };

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(:\d{2}(\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})$/i;

/** Parses `YYYY-MM-DD`, a date-time with an offset, or an ISO duration. */
export function parseStartDate(text: string): StartDate | undefined {
  const trimmed = text.trim();
  if (DATE_ONLY.test(trimmed)) {
    return instantOf(`${trimmed}T00:00:00Z`);
  }

  const dateTime = DATE_TIME.exec(trimmed);
  if (dateTime !== null) {
    return instantOf(`${dateTime[1]}T${dateTime[2]}${dateTime[5]}`);
  }

  const durationMs = parseDurationMs(trimmed);
  if (durationMs !== undefined && trimmed !== "0") {
    return { kind: "before_run", durationMs };
  }
  return undefined;
}

function instantOf(iso: string): StartDate | undefined {
  try {
    return {
      kind: "instant",
      epochMs: Temporal.Instant.from(iso.toUpperCase()).epochMilliseconds,
    };
  } catch {
    return undefined;
  }
}

export const startDateValue = z.unknown().transform((raw, context) => {
  const value = parseStartDate(
    raw instanceof Date ? raw.toISOString() : String(raw),
  );
  if (value !== undefined) return value;

  context.addIssue({
    code: "custom",
    message:
      "expected YYYY-MM-DD, a date-time with an offset such as 2024-03-01 10:00:00+02:00, or a duration before now such as P30D",
  });
  return z.NEVER;
});

/** Resolves a start date against the start of the run that needs it. */
export function startEpochMs(start: StartDate, runStartMs: number): number {
  return start.kind === "instant"
    ? start.epochMs
    : runStartMs - start.durationMs;
}
