/**
 * One run of the connector: read the ThreatHQ changelog from the saved
 * state and, for each sync result, merge the objects of its mapped threats,
 * deliver them, handle its deletions, and only then save its state. A crash
 * or a failed delivery therefore re-imports a result instead of skipping it.
 *
 * A run that fails is logged with its context, its work is closed in error
 * and the last saved position stays, so the next run resumes there. Errors
 * that no retry fixes (`isFatalError`) end the process instead. A state
 * reset seen after a result stops the run without saving, and an abort of
 * the signal stops it without saving past the last confirmed delivery.
 */
import type { Settings } from "../config/settings.ts";
import type { ConnectorMetrics } from "../health/connector_metrics.ts";
import { describeError, type RuntimeStatus } from "../health/runtime_status.ts";
import type { Logger } from "../log/logger.ts";
import { mergeObjects } from "../mapper/merge_objects.ts";
import type { RunWork } from "../opencti/run_work.ts";
import {
  FINISHED_WORK_MESSAGE,
  STATE_RESET_WORK_MESSAGE,
} from "../opencti/run_work.ts";
import type { ThreatHqApi } from "../threathq/api.ts";
import {
  type MapThreat,
  type SyncOptions,
  syncOptionsFromSettings,
  type SyncResult,
  syncThreats,
} from "../threathq/sync.ts";
import type { Clock } from "./clock.ts";
import { isFatalError } from "./fatal_errors.ts";
import type { RunOutcome } from "./main_loop.ts";
import { definedAttributes } from "./log_attributes.ts";
import type { PageDelivery } from "./page_delivery.ts";
import type { RunStateSource, RunStateView } from "./run_state.ts";
import {
  addResult,
  describeTotals,
  emptyTotals,
  type RunTotals,
  totalsAttributes,
} from "./run_totals.ts";
import type { MapperThreat } from "./threat_mapping.ts";
import type { PublishedThreat, WithdrawalHandler } from "./withdrawals.ts";

/** The outcome of a run. */
export type RunEnd =
  | "completed"
  /** Stopped at a result boundary because the state was reset. */
  | "reset"
  /** Stopped by the signal (SIGTERM or SIGINT). */
  | "stopped"
  | "failed";

export interface RunReport {
  end: RunEnd;
  totals: RunTotals;
  /** The last state saved by this run, if it saved one. */
  savedState?: Record<string, unknown>;
  error?: unknown;
}

export interface SyncRunOptions {
  api: ThreatHqApi;
  map: MapThreat<MapperThreat>;
  threathq: Settings["cofense_threathq"];
  /** Replaces sync options that the settings set, for tests. */
  syncOverrides?: Partial<
    Pick<SyncOptions<MapperThreat>, "threatsPerResult" | "concurrency">
  >;
  delivery: PageDelivery;
  states: RunStateSource;
  /** Handles each result's deletions after its objects were delivered. */
  withdrawals: WithdrawalHandler;
  /** Creates the run's work; absent in directory-only mode. */
  createWork?: () => RunWork;
  status: RuntimeStatus;
  metrics: ConnectorMetrics;
  logger: Logger;
  clock: Clock;
  /** Values removed from error messages written to works. */
  secrets?: readonly string[];
  /** Called with each run's report, after the run's work was closed. */
  onRunFinished?: (report: RunReport) => void;
}

/** The progress of a run, for the attributes of its error log line. */
interface RunProgress {
  totals: RunTotals;
  work?: RunWork;
  savedState?: Record<string, unknown>;
  /** The result being handled when an error occurred. */
  current?: { part: number; parts: number; position: string | undefined };
}

/** Creates the `runOnce` hook of the main loop. */
export function createSyncRun(
  options: SyncRunOptions,
): (signal: AbortSignal) => Promise<RunOutcome> {
  const { logger, status } = options;

  return async (signal) => {
    status.runStarted();
    const startedMs = options.clock.now();
    logger.info("Connector run started", { state: options.states.location });

    const progress: RunProgress = { totals: emptyTotals() };
    let view: RunStateView | undefined;
    let report: RunReport;
    try {
      view = await options.states.begin();
      progress.work = options.createWork?.();
      const end = await syncAndDeliver(view, progress, signal);
      report = { end, totals: progress.totals };
    } catch (error) {
      if (isFatalError(error)) {
        await closeWork(progress, describeError(error, options.secrets), true);
        status.runFailed(error, statusCounts(progress.totals));
        throw error;
      }
      const end = signal.aborted ? "stopped" : "failed";
      report = { end, totals: progress.totals, error };
    } finally {
      view?.end();
    }

    report.savedState = progress.savedState;
    await endRun(report, progress, options.clock.now() - startedMs);
    options.onRunFinished?.(report);
    return { ok: report.end !== "failed" };
  };

  async function syncAndDeliver(
    view: RunStateView,
    progress: RunProgress,
    signal: AbortSignal,
  ): Promise<RunEnd> {
    const results = syncThreats({
      ...syncOptionsFromSettings(options.threathq, {
        api: options.api,
        logger,
        map: options.map,
        savedState: view.initialState,
        signal,
      }),
      ...options.syncOverrides,
    });

    for await (const result of results) {
      if (signal.aborted) return "stopped";
      progress.current = {
        part: result.part,
        parts: result.parts,
        position: result.position,
      };
      await deliverResult(result, progress, signal);
      if (view.resetSignal.aborted) return "reset";

      const saved = await view.save(result.state);
      if (saved === "reset") return "reset";
      progress.savedState = result.state;
      if (result.pageComplete) progress.totals.pagesSaved += 1;
      const position = result.state.next_position;
      if (saved === "saved" && position !== undefined) {
        status.positionSaved(position);
      }
      if (signal.aborted) return "stopped";
    }
    return signal.aborted ? "stopped" : "completed";
  }

  async function deliverResult(
    result: SyncResult<MapperThreat>,
    progress: RunProgress,
    signal: AbortSignal,
  ): Promise<void> {
    const objects = mergeObjects(
      result.mapped.flatMap((threat) => threat.result.objects),
    );
    let delivered;
    try {
      delivered = await options.delivery.deliver(objects, {
        work: progress.work,
        signal,
      });
      await options.withdrawals.handle(
        result.deletions,
        signal,
        publishedThreats(result),
      );
    } catch (error) {
      progress.totals.failed += result.counts.mapped;
      options.metrics.threatsProcessed.inc(
        { result: "failed" },
        result.counts.mapped,
      );
      throw error;
    }

    addResult(progress.totals, result.counts, delivered);
    const processed = options.metrics.threatsProcessed;
    processed.inc({ result: "mapped" }, result.counts.mapped);
    processed.inc({ result: "skipped" }, result.counts.skipped);
    processed.inc({ result: "deleted" }, result.counts.deletions);
    status.tick();
  }

  async function endRun(
    report: RunReport,
    progress: RunProgress,
    elapsedMs: number,
  ): Promise<void> {
    const summary = describeTotals(report.totals);
    const attributes = definedAttributes({
      ...totalsAttributes(report.totals),
      elapsed_ms: Math.round(elapsedMs),
      work_id: progress.work?.id,
    });

    if (report.end === "failed") {
      const reason = describeError(report.error, options.secrets);
      logger.error(
        "Connector run failed; the next run resumes from the last saved position",
        definedAttributes({
          ...attributes,
          error: reason,
          error_type: errorName(report.error),
          saved_position: progress.savedState?.next_position,
          result_part: progress.current?.part,
          result_parts: progress.current?.parts,
          page_position: progress.current?.position,
        }),
      );
      await closeWork(
        progress,
        `${FAILED_WORK_MESSAGE}: ${reason} (${summary})`,
        true,
      );
      status.runFailed(report.error, statusCounts(report.totals));
      return;
    }

    if (report.end === "reset") {
      logger.warn(
        "Connector run stopped: the state was reset in OpenCTI; the next run starts from import_start_date",
        attributes,
      );
      await closeWork(progress, STATE_RESET_WORK_MESSAGE, false);
    } else if (report.end === "stopped") {
      logger.info(
        "Connector run stopped by a shutdown signal; the next run resumes from the last saved position",
        attributes,
      );
      await closeWork(progress, `${STOPPED_WORK_MESSAGE} (${summary})`, false);
    } else {
      logger.info("Connector run finished", attributes);
      await closeWork(progress, `${FINISHED_WORK_MESSAGE}: ${summary}`, false);
    }
    status.runFinished(statusCounts(report.totals));
  }

  /** Ends the work; a failure is logged, because the run's data is sent. */
  async function closeWork(
    progress: RunProgress,
    message: string,
    inError: boolean,
  ): Promise<void> {
    const work = progress.work;
    if (work === undefined || work.finished) return;
    try {
      await work.finish(message, inError);
    } catch (error) {
      logger.error(
        "Failed to close the run's work",
        definedAttributes({
          work_id: work.id,
          error: describeError(error, options.secrets),
        }),
      );
      status.errorOccurred(error);
    }
  }
}

/** The start of the `toProcessed` message of a run that failed. */
export const FAILED_WORK_MESSAGE = "Cofense ThreatHQ - Run failed";

/** The `toProcessed` message of a run stopped by SIGTERM or SIGINT. */
export const STOPPED_WORK_MESSAGE =
  "Cofense ThreatHQ - Run stopped by a shutdown signal; the next run resumes from the last saved position";

/** Returns the result's mapped threats, whose withdrawals are undone. */
function publishedThreats(
  result: SyncResult<MapperThreat>,
): PublishedThreat[] {
  return result.mapped.map((threat) => ({
    threatType: threat.threatType,
    threatId: threat.threatId,
    reportId: threat.result.reportId,
    objects: threat.result.objects,
  }));
}

function statusCounts(totals: RunTotals) {
  return {
    mapped: totals.mapped,
    skipped: totals.skipped,
    deleted: totals.deleted,
    failed: totals.failed,
    objectsSent: totals.objectsSent,
    bundlesSent: totals.messages,
  };
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
