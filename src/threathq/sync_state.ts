/**
 * The connector state of the ThreatHQ sync, with the keys and date format
 * of OpenCTI's Python Cofense ThreatHQ connector, so a user can switch from
 * it and resume where it stopped:
 *
 * - `next_position`: the changelog position the next run starts from;
 * - `current_position`: the position the last saved page was read from;
 * - `last_run_start_datetime`: the start of the last run that read the
 *   changelog to its end;
 * - `last_run_end_datetime_with_ingested_data`: when the last page with
 *   threats or deletions was handed over.
 *
 * Dates are UTC with second precision and a `+00:00` offset, as Python's
 * `datetime.isoformat(timespec="seconds")` writes them. Other keys of a
 * saved state are kept as they are.
 */
import { z } from "zod";
import type { Logger } from "../log/logger.ts";

export interface SyncState {
  next_position?: string;
  current_position?: string;
  last_run_start_datetime?: string;
  last_run_end_datetime_with_ingested_data?: string;
  [key: string]: unknown;
}

/** The saved state as the engine reads it. */
export interface SavedSyncState {
  /** Every key of the saved state, to carry over. */
  state: SyncState;
  position?: string;
  lastRunStartMs?: number;
}

/** Formats epoch milliseconds as `2025-01-01T00:00:00+00:00`. */
export function formatStateDateTime(epochMs: number): string {
  const iso = new Date(Math.floor(epochMs / 1000) * 1000).toISOString();
  return iso.slice(0, 19) + "+00:00";
}

/** Parses an ISO 8601 date-time with an offset; undefined when invalid. */
export function parseStateDateTime(text: string): number | undefined {
  try {
    return Temporal.Instant.from(text.trim()).epochMilliseconds;
  } catch {
    return undefined;
  }
}

const savedStateSchema = z.looseObject({
  next_position: z.unknown().optional(),
  last_run_start_datetime: z.unknown().optional(),
});

/**
 * Reads the state saved on the platform. A missing or empty state means a
 * first run. A field of the wrong type is ignored with a warning, because
 * the sync can still start from `import_start_date`.
 */
export function readSavedState(raw: unknown, logger: Logger): SavedSyncState {
  const parsed = savedStateSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    logger.warn("Ignored a saved ThreatHQ state that is not an object", {
      state_type: Array.isArray(raw) ? "array" : typeof raw,
    });
    return { state: {} };
  }

  const state = { ...parsed.data } as SyncState;
  const result: SavedSyncState = { state };
  const position = parsed.data.next_position;
  if (typeof position === "string" && position.trim() !== "") {
    result.position = position.trim();
  } else if (position !== undefined && position !== null) {
    logger.warn("Ignored an invalid next_position in the saved state", {
      next_position: position,
    });
  }

  const started = parsed.data.last_run_start_datetime;
  const startedMs = typeof started === "string"
    ? parseStateDateTime(started)
    : undefined;
  if (startedMs !== undefined) result.lastRunStartMs = startedMs;
  else if (started !== undefined && started !== null) {
    logger.warn(
      "Ignored an invalid last_run_start_datetime in the saved state",
      { last_run_start_datetime: started },
    );
  }
  return result;
}
