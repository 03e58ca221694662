/**
 * Handles the threats Cofense withdrew: changelog entries with
 * `deleted: true`, which the sync engine reports per page as `deletions`.
 *
 * With a platform (queue or API mode), the threat's report gets the label
 * `cofense-withdrawn`, and each of its indicators that no live report of
 * the author contains is revoked and labelled too. When Cofense publishes
 * the threat again, `handle` removes the label from the report and makes
 * the indicators it revoked valid again, for every indicator that a
 * threat of the page contains. A bundle cannot do that: the mapper's
 * objects carry no `revoked`, and an upsert adds labels but never removes
 * one.
 *
 * In directory-only mode there is no platform to ask, so each page's
 * withdrawn threats are written to a `.withdrawals.jsonl` file beside the
 * bundles (`withdrawal_file.ts`) and logged.
 *
 * A deleted threat that OpenCTI never received is logged and counted,
 * not an error. Platform failures are thrown, so the caller keeps the
 * page's state unsaved and the page is read again; every step can repeat.
 */
import type { Logger } from "../log/logger.ts";
import { stableReportName } from "../mapper/report.ts";
import type { PlatformReport } from "../opencti/platform_api.ts";
import { isoMillis } from "../stix/ids.ts";
import type { SyncDeletion } from "../threathq/sync.ts";
import {
  type WithdrawalFileOptions,
  type WithdrawalRecord,
  writeWithdrawalFile,
} from "./withdrawal_file.ts";
import {
  emptyCounts,
  ensureWithdrawnLabel,
  findThreatReports,
  type PlatformContext,
  type PlatformCounts,
  type PublishedThreat,
  restorePublished,
  threatKeyText,
  type WithdrawalPlatform,
  withdrawReport,
} from "./withdrawal_platform.ts";

export type { PublishedThreat, WithdrawalPlatform };
export { WITHDRAWN_LABEL } from "./withdrawal_platform.ts";
export { WITHDRAWAL_FILE_SUFFIX } from "./withdrawal_file.ts";

/** Maximum number of report ids kept from mapped threats, oldest first out. */
const KNOWN_REPORTS_LIMIT = 100_000;

export interface WithdrawalHandlerOptions {
  /** The platform API in queue or API mode. */
  platform?: WithdrawalPlatform;
  /** The output directory in directory-only mode. */
  directory?: Omit<WithdrawalFileOptions, "logger" | "connectorName">;
  logger: Logger;
  /** STIX id of the author identity (`AUTHOR_ID`). */
  authorId: string;
  /** `CONNECTOR_NAME`, the prefix of the withdrawal file names. */
  connectorName: string;
  /**
   * Resolves once the platform has imported what the connector sent
   * before. The handler awaits it before it looks up a page's deletions.
   */
  waitForImports?: (signal?: AbortSignal) => Promise<void>;
}

export interface WithdrawalSummary extends PlatformCounts {
  /** Threats withdrawn in the page, the newest entry per threat kept. */
  deletions: number;
  /** The withdrawal file written in directory-only mode. */
  file?: string;
}

export interface WithdrawalHandler {
  /**
   * Handles one page: first its deletions, then the threats it published
   * (`published`, the page's mapped threats), which undoes an earlier
   * withdrawal of them. Call it after the page's bundles were delivered
   * and before its state is saved.
   */
  handle(
    deletions: readonly SyncDeletion[],
    signal?: AbortSignal,
    published?: readonly PublishedThreat[],
  ): Promise<WithdrawalSummary>;
}

/**
 * Creates the handler. It needs `platform`, `directory` or both (a
 * connector that writes files and sends to a queue). It keeps only the
 * report ids of threats mapped in this process between calls.
 */
export function createWithdrawalHandler(
  options: WithdrawalHandlerOptions,
): WithdrawalHandler {
  if (options.platform === undefined && options.directory === undefined) {
    throw new TypeError(
      "createWithdrawalHandler needs a platform, an output directory or both",
    );
  }
  const knownReports = new Map<string, string>();
  const withdrawnReports = new Set<string>();

  return {
    async handle(deletions, signal, published = []) {
      const newest = newestPerThreat(deletions);
      const summary: WithdrawalSummary = {
        deletions: newest.length,
        ...emptyCounts(),
      };
      for (const deletion of newest) logDeletion(options.logger, deletion);

      if (options.platform !== undefined) {
        const context: PlatformContext = {
          platform: options.platform,
          logger: options.logger,
          authorId: options.authorId,
          withdrawnReports,
          signal,
        };
        await withdrawOnPlatform(
          context,
          options,
          newest,
          knownReports,
          summary,
        );
        await restorePublished(context, published, summary);
      }
      if (options.directory !== undefined && newest.length > 0) {
        summary.file = await writeWithdrawalFile(
          {
            ...options.directory,
            logger: options.logger,
            connectorName: options.connectorName,
          },
          newest.map((deletion) => withdrawalRecord(deletion, knownReports)),
        );
      }

      rememberReports(knownReports, published);
      logSummary(options.logger, summary);
      return summary;
    },
  };
}

/** Keeps the newest entry per threat, in the order of first appearance. */
export function newestPerThreat(
  deletions: readonly SyncDeletion[],
): SyncDeletion[] {
  const newest = new Map<string, SyncDeletion>();
  for (const deletion of deletions) {
    const key = threatKeyText(deletion);
    const current = newest.get(key);
    if (current === undefined || deletion.occurredOn > current.occurredOn) {
      newest.set(key, deletion);
    }
  }
  return [...newest.values()];
}

async function withdrawOnPlatform(
  context: PlatformContext,
  options: WithdrawalHandlerOptions,
  deletions: readonly SyncDeletion[],
  knownReports: ReadonlyMap<string, string>,
  summary: WithdrawalSummary,
): Promise<void> {
  if (deletions.length === 0) return;
  await options.waitForImports?.(context.signal);

  const reportsByThreat = await findThreatReports(context, deletions);
  const found: PlatformReport[] = [];
  for (const deletion of deletions) {
    const reports = reportsByThreat.get(threatKeyText(deletion)) ?? [];
    if (reports.length === 0) {
      logNotReceived(context.logger, deletion, knownReports);
      summary.notReceived++;
    }
    found.push(...reports);
  }
  if (found.length === 0) return;

  const label = await ensureWithdrawnLabel(context);
  for (const report of found) {
    context.signal?.throwIfAborted();
    summary.reportsFound++;
    await withdrawReport(context, report, label, summary);
  }
}

function logDeletion(logger: Logger, deletion: SyncDeletion): void {
  logger.info("Cofense withdrew a threat", {
    threat_type: deletion.threatType,
    threat_id: deletion.threatId,
    occurred_on: occurredOnText(deletion),
  });
}

function logNotReceived(
  logger: Logger,
  deletion: SyncDeletion,
  knownReports: ReadonlyMap<string, string>,
): void {
  const attributes = {
    threat_type: deletion.threatType,
    threat_id: deletion.threatId,
  };
  const sentReportId = knownReports.get(threatKeyText(deletion));
  if (sentReportId === undefined) {
    logger.info(
      "Withdrawn threat is not in OpenCTI; nothing to change",
      attributes,
    );
    return;
  }
  // NOTE: without `waitForImports`, a report still in the queue is missed
  // here and stays unlabelled once the worker imports it.
  logger.warn(
    "Withdrawn threat was sent in this run but OpenCTI has not imported its report yet; it is not marked",
    { ...attributes, report_id: sentReportId },
  );
}

function logSummary(logger: Logger, summary: WithdrawalSummary): void {
  const restored = summary.reportsRestored + summary.indicatorsRestored;
  if (summary.deletions === 0 && restored === 0) return;

  logger.info("Withdrawals handled", {
    deletions: summary.deletions,
    reports_found: summary.reportsFound,
    reports_labelled: summary.reportsLabelled,
    not_received: summary.notReceived,
    indicators_revoked: summary.indicatorsRevoked,
    indicators_kept: summary.indicatorsKept,
    indicators_skipped: summary.indicatorsSkipped,
    reports_restored: summary.reportsRestored,
    indicators_restored: summary.indicatorsRestored,
    ...(summary.file === undefined ? {} : { file: summary.file }),
  });
}

function occurredOnText(deletion: SyncDeletion): string | number {
  try {
    return isoMillis(deletion.occurredOn);
  } catch {
    return deletion.occurredOn;
  }
}

function withdrawalRecord(
  deletion: SyncDeletion,
  knownReports: ReadonlyMap<string, string>,
): WithdrawalRecord {
  const occurredOn = occurredOnText(deletion);
  return {
    threat_type: deletion.threatType,
    threat_id: deletion.threatId,
    occurred_on: String(occurredOn),
    stable_report_name: stableReportName(
      deletion.threatType,
      deletion.threatId,
    ),
    report_id: knownReports.get(threatKeyText(deletion)) ?? null,
  };
}

function rememberReports(
  knownReports: Map<string, string>,
  published: readonly PublishedThreat[],
): void {
  for (const threat of published) {
    const key = threatKeyText(threat);
    knownReports.delete(key);
    knownReports.set(key, threat.reportId);
  }
  for (const key of knownReports.keys()) {
    if (knownReports.size <= KNOWN_REPORTS_LIMIT) break;
    knownReports.delete(key);
  }
}
