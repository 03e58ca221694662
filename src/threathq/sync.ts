/**
 * The incremental sync engine. It reads the ThreatHQ changelog from the
 * saved position (or from `import_start_date` on a first run) page after
 * page until a page comes back empty, and yields results: mapped threats,
 * deletions, problems and the state to save.
 *
 * The engine never saves state. Its caller saves `result.state` only after
 * the result was delivered, so a crash re-imports a page instead of
 * skipping it. While the consumer handles one result, the engine builds
 * the next one, and no more.
 *
 * A changelog page holds up to 1000 entries, so a page is split into
 * results of at most `threatsPerResult` threats, which bounds the PDFs and
 * screenshots in memory. Only the last result of a page (`pageComplete`)
 * advances the position; the others carry the previous position.
 *
 * Entries are deduplicated within a page only. A threat updated again on
 * a later page is fetched and yielded again, because that entry is newer.
 */
import pLimit from "p-limit";
import type { StartDate } from "../config/parsers.ts";
import { startEpochMs } from "../config/parsers.ts";
import type { Settings } from "../config/settings.ts";
import type { Logger } from "../log/logger.ts";
import type {
  ChangelogPage,
  ChangelogStart,
  ThreatHqApi,
  ThreatType,
} from "./api.ts";
import { SEARCH_BATCH_SIZE } from "./api.ts";
import { type PlannedPage, planPage, type ThreatEvent } from "./changelog.ts";
import {
  ThreatHqApiError,
  ThreatHqClientError,
  ThreatHqNotFoundError,
} from "./errors.ts";
import { prefetchOne } from "./prefetch.ts";
import { type Clock, monotonicClock } from "./sleep.ts";
import {
  formatStateDateTime,
  readSavedState,
  type SyncState,
} from "./sync_state.ts";
import {
  attachAndMap,
  type FetchContext,
  fetchDetails,
  type MappedThreat,
  type MapThreat,
  type SyncProblem,
} from "./threat_fetch.ts";

export type {
  MapOutcome,
  MappedThreat,
  MapThreat,
  ReportAttachment,
  SyncProblem,
  SyncProblemReason,
  ThreatToMap,
} from "./threat_fetch.ts";

/** A threat whose newest changelog entry is `deleted: true`. */
export interface SyncDeletion {
  threatType: ThreatType;
  threatId: number;
  occurredOn: number;
}

export interface ResultCounts {
  /** Changelog entries of the page (on its first result only). */
  entries: number;
  /** Entries dropped because a newer entry names the same threat. */
  duplicates: number;
  /** Threats this result covers. */
  threats: number;
  /** Details fetched for its search batch (on the batch's first result). */
  fetchedBySearch: number;
  fetchedSingly: number;
  searchRequests: number;
  mapped: number;
  /** Threats left out: not found, not mapped or rejected by the mapper. */
  skipped: number;
  deletions: number;
  pdfsAttached: number;
  /** PDF reports missing, invalid, too large or failed; threats kept. */
  pdfsLeftOff: number;
  screenshotsAttached: number;
  /** Screenshots missing, invalid, too large or failed; threats kept. */
  screenshotsLeftOff: number;
}

export interface SyncResult<T> {
  /** The position the page was read from; undefined when read by time. */
  position: string | undefined;
  /** The page's `nextPosition`. */
  nextPosition: string;
  /** 1-based number of this result within its page, and their count. */
  part: number;
  parts: number;
  /** True on the last result of a page: its state advances the position. */
  pageComplete: boolean;
  mapped: MappedThreat<T>[];
  deletions: SyncDeletion[];
  problems: SyncProblem[];
  counts: ResultCounts;
  /** The whole state to save once this result has been delivered. */
  state: SyncState;
}

export interface SyncOptions<T> {
  api: ThreatHqApi;
  logger: Logger;
  map: MapThreat<T>;
  /** The state saved on the platform (undefined on a first run). */
  savedState: unknown;
  importStartDate: StartDate;
  importReportPdf: boolean;
  pdfMaxBytes: number;
  /** Requests in flight at once (the token bucket still sets the rate). */
  concurrency: number;
  /**
   * The maximum number of threats in one result: by default 10 when PDFs
   * and screenshots are imported (each may be up to `pdfMaxBytes`), else
   * 100.
   */
  threatsPerResult?: number;
  signal?: AbortSignal;
  /** Epoch milliseconds, for state dates and the start time. */
  now?: () => number;
  /** Monotonic milliseconds, for elapsed times. */
  clock?: Clock;
  /** Pages after which the run ends; the next run continues. */
  maxPages?: number;
}

const DAY_MS = 24 * 3600_000;

/**
 * Default threats per result with PDFs, which bounds the files held. Peak
 * memory stays flat only with the runtime flag `--optimize-for-size`, which
 * the connector runs with: V8's default heap sizing lets garbage base64
 * strings grow with the run (measured in docs/benchmarks.md).
 */
const PDF_THREATS_PER_RESULT = 10;

/**
 * Default maximum of changelog pages in one run, 10,000 pages of up to
 * 1,000 entries: far past any real backlog, it keeps a changelog that never
 * returns an empty page from holding one run (and its work) open forever.
 */
export const MAX_PAGES_PER_RUN = 10_000;

/**
 * Builds the engine options from the settings. The concurrency covers the
 * burst capacity and one second of the sustained rate, so that the bucket,
 * not the limit, sets the request rate. It is capped at 64 requests.
 */
export function syncOptionsFromSettings<T>(
  settings: Settings["cofense_threathq"],
  parts: Pick<
    SyncOptions<T>,
    "api" | "logger" | "map" | "savedState" | "signal"
  >,
): SyncOptions<T> {
  const concurrency = Math.min(
    64,
    Math.max(
      settings.api_leaky_bucket_capacity,
      Math.ceil(settings.api_leaky_bucket_rate),
    ),
  );
  return {
    ...parts,
    importStartDate: settings.import_start_date,
    importReportPdf: settings.import_report_pdf,
    pdfMaxBytes: settings.import_report_pdf_max_bytes,
    concurrency,
  };
}

/**
 * Returns whether ThreatHQ rejected a saved position: a 4xx other than 401,
 * 403 and 429, or a `success: false` body.
 */
function isRejectedPosition(error: unknown): boolean {
  return error instanceof ThreatHqClientError ||
    error instanceof ThreatHqNotFoundError ||
    error instanceof ThreatHqApiError;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  if (items.length === 0) return [[]];
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    groups.push(items.slice(i, i + size));
  }
  return groups;
}

/**
 * Reads the changelog to its end and yields one result per part of each
 * page. Iterate it once; a `break` aborts the requests in flight.
 */
export function syncThreats<T>(
  options: SyncOptions<T>,
): AsyncIterableIterator<SyncResult<T>> {
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });

  const source = runSync(options, controller);
  return prefetchOne(source, () => {
    options.signal?.removeEventListener("abort", onOuterAbort);
    controller.abort(new DOMException("sync stopped", "AbortError"));
  });
}

async function* runSync<T>(
  options: SyncOptions<T>,
  controller: AbortController,
): AsyncGenerator<SyncResult<T>, void, undefined> {
  const now = options.now ?? Date.now;
  const clock = options.clock ?? monotonicClock;
  const logger = options.logger;
  const signal = controller.signal;
  const perResult = Math.max(
    1,
    options.threatsPerResult ??
      (options.importReportPdf ? PDF_THREATS_PER_RESULT : SEARCH_BATCH_SIZE),
  );
  const limit = pLimit(Math.max(1, options.concurrency));
  const context: FetchContext<T> = {
    api: options.api,
    logger,
    map: options.map,
    limit,
    signal,
    importReportPdf: options.importReportPdf,
    pdfMaxBytes: options.pdfMaxBytes,
  };

  const runStartMs = now();
  const saved = readSavedState(options.savedState, logger);
  let state: SyncState = { ...saved.state };
  let start: ChangelogStart = saved.position !== undefined
    ? { position: saved.position }
    : {
      timestamp: Math.floor(
        startEpochMs(options.importStartDate, runStartMs) / 1000,
      ),
    };
  logger.info("ThreatHQ sync started", {
    position: saved.position,
    timestamp: "timestamp" in start ? start.timestamp : undefined,
  });

  let firstRequest = true;
  let pages = 0;
  const maxPages = options.maxPages ?? MAX_PAGES_PER_RUN;
  try {
    while (true) {
      const pageStarted = clock();
      const page = await readPage(start, firstRequest, saved.lastRunStartMs);
      firstRequest = false;
      const position = "position" in page.start
        ? page.start.position
        : undefined;

      const plan = planPage(page.entries);
      const drained = page.entries.length === 0 &&
        page.invalidEntries.length === 0;
      const repeated = !drained && position === page.nextPosition;
      if (repeated) {
        logger.warn(
          "ThreatHQ returned the position it was asked for; ending this run",
          {
            position,
          },
        );
      }

      const totals: PageTotals = {
        threats: 0,
        deletions: 0,
        skipped: 0,
        mapped: 0,
        pdfs: 0,
        screenshots: 0,
      };
      const results = resultsOfPage(page, plan, perResult, context);
      for await (const part of results) {
        const ingested = part.mapped.length > 0 || part.deletions.length > 0;
        state = nextState(state, {
          ingestedAtMs: ingested ? now() : undefined,
          page: part.pageComplete
            ? {
              position,
              nextPosition: page.nextPosition,
              runStartMs: drained || repeated ? runStartMs : undefined,
            }
            : undefined,
        });
        addToTotals(totals, part.counts);
        yield { ...part, position, state: { ...state } };
      }

      logger.info("ThreatHQ changelog page processed", {
        position,
        next_position: page.nextPosition,
        entries: page.entries.length + page.invalidEntries.length,
        duplicates: plan.duplicates,
        threats_fetched: totals.threats,
        threats_mapped: totals.mapped,
        pdfs_attached: totals.pdfs,
        screenshots_attached: totals.screenshots,
        deletions: totals.deletions,
        skipped: totals.skipped,
        elapsed_ms: Math.round(clock() - pageStarted),
      });
      if (drained || repeated) break;
      if (++pages >= maxPages) {
        logger.warn(
          "Stopped at the page limit of one run; the next run continues from the saved position",
          { pages, next_position: page.nextPosition },
        );
        break;
      }
      start = { position: page.nextPosition };
    }
  } catch (error) {
    limit.clearQueue();
    controller.abort(error);
    throw error;
  }
  logger.info("ThreatHQ sync finished");

  async function readPage(
    from: ChangelogStart,
    mayFallBack: boolean,
    lastRunStartMs: number | undefined,
  ): Promise<ChangelogPage & { start: ChangelogStart }> {
    try {
      return { ...await options.api.updates(from, signal), start: from };
    } catch (error) {
      if (!mayFallBack || !("position" in from) || !isRejectedPosition(error)) {
        throw error;
      }

      // Re-importing a day twice is harmless; skipping events is not.
      const fallbackMs = lastRunStartMs !== undefined
        ? lastRunStartMs - DAY_MS
        : startEpochMs(options.importStartDate, now());
      const fallback = { timestamp: Math.floor(fallbackMs / 1000) };
      logger.warn(
        "ThreatHQ rejected the saved position; reading from a time instead",
        {
          position: from.position,
          error: (error as Error).message,
          timestamp: fallback.timestamp,
          from_datetime: formatStateDateTime(fallbackMs),
        },
      );
      return {
        ...await options.api.updates(fallback, signal),
        start: fallback,
      };
    }
  }
}

interface PageTotals {
  threats: number;
  deletions: number;
  skipped: number;
  mapped: number;
  pdfs: number;
  screenshots: number;
}

function addToTotals(totals: PageTotals, counts: ResultCounts): void {
  totals.threats += counts.fetchedBySearch + counts.fetchedSingly;
  totals.deletions += counts.deletions;
  totals.skipped += counts.skipped;
  totals.mapped += counts.mapped;
  totals.pdfs += counts.pdfsAttached;
  totals.screenshots += counts.screenshotsAttached;
}

type PartResult<T> = Omit<SyncResult<T>, "position" | "state">;

/**
 * Yields the results of one page: its threats in search batches of 100,
 * each batch split into results of `perResult` threats. Deletions and
 * invalid entries go with the first result.
 */
async function* resultsOfPage<T>(
  page: ChangelogPage,
  plan: PlannedPage,
  perResult: number,
  context: FetchContext<T>,
): AsyncGenerator<PartResult<T>, void, undefined> {
  const batches = chunk(plan.updates, SEARCH_BATCH_SIZE)
    .map((batch) => chunk(batch, perResult));
  const parts = batches.reduce((sum, slices) => sum + slices.length, 0);

  let part = 0;
  for (const slices of batches) {
    const batch = slices.flat();
    const fetched = batch.length > 0
      ? await fetchDetails(batch, context)
      : undefined;

    for (const [sliceIndex, slice] of slices.entries()) {
      part++;
      const first = part === 1;
      const group = fetched === undefined
        ? undefined
        : await attachAndMap(slice, fetched.details, context);
      const problems = first ? invalidEntryProblems(page, context.logger) : [];
      if (sliceIndex === 0) problems.push(...fetched?.problems ?? []);
      problems.push(...group?.problems ?? []);
      const deletions = first ? plan.deletions : [];
      const mapped = group?.mapped ?? [];

      const detailCounts = sliceIndex === 0 && fetched !== undefined;
      yield {
        nextPosition: page.nextPosition,
        part,
        parts,
        pageComplete: part === parts,
        mapped,
        deletions,
        problems,
        counts: {
          entries: first ? page.entries.length + page.invalidEntries.length : 0,
          duplicates: first ? plan.duplicates : 0,
          threats: slice.length,
          fetchedBySearch: detailCounts ? fetched.fetchedBySearch : 0,
          fetchedSingly: detailCounts ? fetched.fetchedSingly : 0,
          searchRequests: detailCounts ? fetched.searchRequests : 0,
          mapped: mapped.length,
          skipped: problems.filter((problem) => problem.threatSkipped).length,
          deletions: deletions.length,
          pdfsAttached: group?.pdfsAttached ?? 0,
          pdfsLeftOff: group?.pdfsLeftOff ?? 0,
          screenshotsAttached: group?.screenshotsAttached ?? 0,
          screenshotsLeftOff: group?.screenshotsLeftOff ?? 0,
        },
      };
    }
  }
}

/** Lists the page's unreadable entries as problems, logging each one. */
function invalidEntryProblems(
  page: ChangelogPage,
  logger: Logger,
): SyncProblem[] {
  for (const invalid of page.invalidEntries) {
    logger.warn("Skipped an invalid changelog entry", {
      reason: invalid.reason,
      entry: invalid.entry,
    });
  }
  return page.invalidEntries.map((invalid) => ({
    reason: "invalid_entry" as const,
    message: `skipped an invalid changelog entry: ${invalid.reason}`,
    threatSkipped: true,
    details: [invalid.entry],
  }));
}

interface StateChange {
  /** Set when this result carries threats or deletions. */
  ingestedAtMs?: number;
  /** Set on the last result of a page. */
  page?: {
    position: string | undefined;
    nextPosition: string;
    /** Set when the run has read the changelog to its end. */
    runStartMs?: number;
  };
}

/** Returns the state after a result, keeping keys the engine does not own. */
export function nextState(previous: SyncState, change: StateChange): SyncState {
  const state: SyncState = { ...previous };
  if (change.ingestedAtMs !== undefined) {
    state.last_run_end_datetime_with_ingested_data = formatStateDateTime(
      change.ingestedAtMs,
    );
  }
  if (change.page === undefined) return state;

  state.next_position = change.page.nextPosition;
  if (change.page.position !== undefined) {
    state.current_position = change.page.position;
  } else {
    delete state.current_position;
  }
  if (change.page.runStartMs !== undefined) {
    state.last_run_start_datetime = formatStateDateTime(change.page.runStartMs);
  }
  return state;
}

export type { SyncState } from "./sync_state.ts";
export type { ThreatEvent };
