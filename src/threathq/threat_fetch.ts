/**
 * Fetches the details and attachments (PDF reports and screenshots) of a
 * group of threats and maps each one with the injected map function.
 * Details come from `threat/search` in batches of up to 100 ids, then one
 * `threat/{type}/{id}` request for each id a batch did not return. Every
 * request runs under the shared concurrency limit and the client's token
 * bucket.
 */
import type { LimitFunction } from "p-limit";
import { z } from "zod";
import { SEARCH_BATCH_SIZE, type ThreatKey, type ThreatType } from "./api.ts";
import {
  type AttachmentContext,
  fetchAttachments,
  type ReportAttachment,
} from "./attachments.ts";
import { type ThreatEvent, threatKeyText } from "./changelog.ts";
import { ThreatHqNotFoundError } from "./errors.ts";
import { releaseBytes } from "./limited_body.ts";

export type { ReportAttachment } from "./attachments.ts";

/** The input of the map function for one threat. */
export interface ThreatToMap {
  threatType: ThreatType;
  threatId: number;
  /** Epoch milliseconds of the changelog event. */
  occurredOn: number;
  /** The threat object as ThreatHQ returned it. */
  detail: unknown;
  /**
   * The PDF report or screenshot. Each `data` buffer is released (its
   * ArrayBuffer detached, so it reads as empty) once the map function has
   * returned or its promise has settled, so a map function that keeps the
   * bytes must copy them.
   */
  attachments: ReportAttachment[];
}

export type MapOutcome<T> =
  | { ok: true; threat: T }
  | { ok: false; problems: readonly unknown[] };

/**
 * Maps one threat. Returning undefined means the type is not mapped (yet),
 * and the threat is counted as `not_mapped`.
 */
export type MapThreat<T> = (
  input: ThreatToMap,
) => MapOutcome<T> | undefined | Promise<MapOutcome<T> | undefined>;

export type SyncProblemReason =
  /** The changelog entry is not valid; it is skipped. */
  | "invalid_entry"
  /** The detail request returned 404; the threat is skipped. */
  | "not_found"
  /** The map function does not map this type; the threat is skipped. */
  | "not_mapped"
  /** The map function returned problems; the threat is skipped. */
  | "map_problems"
  /** The map function threw; the threat is skipped. */
  | "map_failed"
  /** HTTP 500, ThreatHQ's response for a report without a PDF. The threat is kept. */
  | "pdf_missing"
  /** The PDF is over `import_report_pdf_max_bytes`. The threat is kept. */
  | "pdf_too_large"
  /** The body does not start with `%PDF-`. The threat is kept. */
  | "pdf_invalid"
  /** The PDF request failed after its retries. The threat is kept. */
  | "pdf_failed"
  /** HTTP 404 for a phish threat's screenshot. The threat is kept. */
  | "screenshot_missing"
  /** The screenshot is over `import_report_pdf_max_bytes`. The threat is kept. */
  | "screenshot_too_large"
  /** The screenshot is not a PNG, JPEG or GIF image. The threat is kept. */
  | "screenshot_invalid"
  /** The screenshot request failed after its retries. The threat is kept. */
  | "screenshot_failed";

export interface SyncProblem {
  reason: SyncProblemReason;
  threatType?: ThreatType;
  threatId?: number;
  message: string;
  /** False for PDF and screenshot problems: the threat is imported without the file. */
  threatSkipped: boolean;
  /** The map function's problems, or the invalid changelog entry. */
  details?: readonly unknown[];
}

export interface MappedThreat<T> {
  threatType: ThreatType;
  threatId: number;
  occurredOn: number;
  result: T;
  pdfAttached: boolean;
  screenshotAttached: boolean;
}

export interface FetchContext<T> extends AttachmentContext {
  map: MapThreat<T>;
  limit: LimitFunction;
}

const searchedThreatSchema = z.looseObject({
  id: z.number().int(),
  threatType: z.string(),
});

function batches<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    groups.push(items.slice(i, i + size));
  }
  return groups;
}

/** Fetches one batch through `threat/search`, following its pages. */
async function searchBatch<T>(
  batch: readonly ThreatKey[],
  context: FetchContext<T>,
  details: Map<string, unknown>,
): Promise<number> {
  const requested = new Set(
    batch.map((key) => threatKeyText(key.threatType, key.threatId)),
  );
  let requests = 0;

  // Each page contains at least one threat, so a batch never needs more pages
  // than it has ids; the bound stops a server that pages forever.
  for (let page = 0; page < batch.length; page++) {
    const result = await context.api.search(batch, {
      page,
      signal: context.signal,
    });
    requests++;

    for (const threat of result.threats) {
      const parsed = searchedThreatSchema.safeParse(threat);
      if (!parsed.success) continue;
      const type = parsed.data.threatType.toLowerCase() as ThreatType;
      const key = threatKeyText(type, parsed.data.id);
      if (requested.has(key)) details.set(key, threat);
    }

    const totalPages = result.totalPages ?? 1;
    if (result.threats.length === 0 || page + 1 >= totalPages) break;
  }
  return requests;
}

async function fetchSingly<T>(
  event: ThreatEvent,
  context: FetchContext<T>,
): Promise<unknown | undefined> {
  const fetch = event.threatType === "malware"
    ? context.api.malware
    : context.api.phish;
  try {
    return await fetch(event.threatId, context.signal);
  } catch (error) {
    if (error instanceof ThreatHqNotFoundError) return undefined;
    throw error;
  }
}

/** One threat's result: mapped or not, with its attachment and map problems. */
interface MapStep<T> {
  mapped?: MappedThreat<T>;
  problems: SyncProblem[];
}

async function fetchAttachmentsAndMap<T>(
  event: ThreatEvent,
  detail: unknown,
  context: FetchContext<T>,
): Promise<MapStep<T>> {
  const { attachments, problems } = await fetchAttachments(
    event,
    detail,
    context,
  );

  const attributes = {
    threat_type: event.threatType,
    threat_id: event.threatId,
  };
  const skipped = {
    threatType: event.threatType,
    threatId: event.threatId,
    threatSkipped: true,
  };
  let outcome: MapOutcome<T> | undefined;
  try {
    outcome = await context.map({ ...event, detail, attachments });
  } catch (error) {
    context.logger.error("Mapping a ThreatHQ threat failed; skipped it", {
      ...attributes,
      error,
    });
    const message =
      `mapping ${event.threatType} threat ${event.threatId} failed: ${
        error instanceof Error ? error.message : String(error)
      }`;
    problems.push({ ...skipped, reason: "map_failed", message });
    return { problems };
  } finally {
    // V8 frees these buffers only at a garbage collection, which it starts
    // for external memory after about 64 MiB more, so they are freed now.
    for (const attachment of attachments) releaseBytes(attachment.data);
  }

  if (outcome === undefined) {
    context.logger.debug(
      "Skipped a ThreatHQ threat of a type not mapped",
      attributes,
    );
    const message = `${event.threatType} threats are not mapped`;
    problems.push({ ...skipped, reason: "not_mapped", message });
    return { problems };
  }
  if (!outcome.ok) {
    context.logger.warn("Skipped a ThreatHQ threat the mapper rejected", {
      ...attributes,
      problems: outcome.problems.slice(0, 5),
      problem_count: outcome.problems.length,
    });
    const message =
      `${event.threatType} threat ${event.threatId} has ${outcome.problems.length} mapping problems`;
    problems.push({
      ...skipped,
      reason: "map_problems",
      message,
      details: outcome.problems,
    });
    return { problems };
  }

  const mapped: MappedThreat<T> = {
    ...event,
    result: outcome.threat,
    pdfAttached: attachments.some((file) =>
      file.mimeType === "application/pdf"
    ),
    screenshotAttached: attachments.some((file) =>
      file.mimeType.startsWith("image/")
    ),
  };
  return { mapped, problems };
}

export interface FetchedDetails {
  /** Threat objects by `threatKeyText`; threats not found are absent. */
  details: Map<string, unknown>;
  /** One `not_found` problem for each threat ThreatHQ returned 404 for. */
  problems: SyncProblem[];
  fetchedBySearch: number;
  fetchedSingly: number;
  searchRequests: number;
}

/**
 * Fetches the details of up to 100 threats: one `threat/search` request
 * (more if ThreatHQ pages the response), then one detail request for each
 * threat the search did not return.
 */
export async function fetchDetails<T>(
  events: readonly ThreatEvent[],
  context: FetchContext<T>,
): Promise<FetchedDetails> {
  const details = new Map<string, unknown>();
  const searchRequests = await Promise.all(
    batches(events, SEARCH_BATCH_SIZE).map((batch) =>
      context.limit(() => searchBatch(batch, context, details))
    ),
  );
  const fetchedBySearch = details.size;

  const problems: SyncProblem[] = [];
  const missing = events.filter((event) =>
    !details.has(threatKeyText(event.threatType, event.threatId))
  );
  const single = await Promise.all(
    missing.map((event) => context.limit(() => fetchSingly(event, context))),
  );
  let fetchedSingly = 0;
  missing.forEach((event, index) => {
    const key = threatKeyText(event.threatType, event.threatId);
    if (single[index] !== undefined) {
      details.set(key, single[index]);
      fetchedSingly++;
      return;
    }
    context.logger.warn("Skipped a ThreatHQ threat that was not found", {
      threat_type: event.threatType,
      threat_id: event.threatId,
    });
    problems.push({
      reason: "not_found",
      threatType: event.threatType,
      threatId: event.threatId,
      message:
        `ThreatHQ returned 404 for ${event.threatType} threat ${event.threatId}`,
      threatSkipped: true,
    });
  });

  return {
    details,
    problems,
    fetchedBySearch,
    fetchedSingly,
    searchRequests: searchRequests.reduce((sum, count) => sum + count, 0),
  };
}

export interface MappedGroup<T> {
  mapped: MappedThreat<T>[];
  problems: SyncProblem[];
  pdfsAttached: number;
  pdfsLeftOff: number;
  screenshotsAttached: number;
  screenshotsLeftOff: number;
}

const PDF_PROBLEMS: ReadonlySet<SyncProblemReason> = new Set([
  "pdf_missing",
  "pdf_too_large",
  "pdf_invalid",
  "pdf_failed",
]);

const SCREENSHOT_PROBLEMS: ReadonlySet<SyncProblemReason> = new Set([
  "screenshot_missing",
  "screenshot_too_large",
  "screenshot_invalid",
  "screenshot_failed",
]);

/**
 * Fetches the PDF reports and screenshots of the given threats and maps
 * them, in their order. Each detail is taken out of `details` as its threat starts, so
 * the map keeps only what is still to come.
 */
export async function attachAndMap<T>(
  events: readonly ThreatEvent[],
  details: Map<string, unknown>,
  context: FetchContext<T>,
): Promise<MappedGroup<T>> {
  const found = events.filter((event) =>
    details.has(threatKeyText(event.threatType, event.threatId))
  );
  const steps = await Promise.all(found.map((event) =>
    context.limit(() => {
      const key = threatKeyText(event.threatType, event.threatId);
      const detail = details.get(key);
      details.delete(key);
      return fetchAttachmentsAndMap(event, detail, context);
    })
  ));

  const mapped: MappedThreat<T>[] = [];
  const problems: SyncProblem[] = [];
  for (const step of steps) {
    if (step.mapped !== undefined) mapped.push(step.mapped);
    problems.push(...step.problems);
  }
  const countReasons = (reasons: ReadonlySet<SyncProblemReason>) =>
    problems.filter((problem) => reasons.has(problem.reason)).length;
  return {
    mapped,
    problems,
    pdfsAttached: mapped.filter((threat) => threat.pdfAttached).length,
    pdfsLeftOff: countReasons(PDF_PROBLEMS),
    screenshotsAttached: mapped.filter((threat) => threat.screenshotAttached)
      .length,
    screenshotsLeftOff: countReasons(SCREENSHOT_PROBLEMS),
  };
}
