/**
 * Withdrawals on the OpenCTI platform: label the report of a threat that
 * Cofense withdrew, revoke the indicators that only withdrawn reports
 * contain, and undo both when Cofense publishes the threat again.
 *
 * A deletion entry has no publication time, so the report id (computed
 * over the stable name and `published`) cannot be computed from it. The
 * report is found through its external reference instead: `source_name`
 * "Cofense ThreatHQ" and `external_id` the threat id. A report found is
 * accepted only when the id computed from the stable name and the
 * report's own `published` is its standard id or one of its
 * `x_opencti_stix_ids`. That check separates a malware threat from a phish
 * threat with the same number, and ignores reports of other sources that
 * cite the same page.
 */
import type { Logger } from "../log/logger.ts";
import { stableReportName } from "../mapper/report.ts";
import { REFERENCE_SOURCE_NAME } from "../mapper/threat_context.ts";
import type {
  ContainedIndicator,
  KnowledgeApi,
  PlatformAuthor,
  PlatformLabel,
  PlatformReport,
} from "../opencti/platform_api.ts";
import { reportId } from "../stix/ids.ts";
import type { ThreatType } from "../threathq/api.ts";

/** The label of a withdrawn threat's report and of the indicators revoked. */
export const WITHDRAWN_LABEL = "cofense-withdrawn";

/** The color the label gets when the connector creates it. */
export const WITHDRAWN_LABEL_COLOR = "#b71c1c";

/** The platform calls that withdrawals make. */
export type WithdrawalPlatform = KnowledgeApi;

export interface ThreatKey {
  threatType: ThreatType;
  threatId: number;
}

/** Counts of one platform pass, added into the handler's summary. */
export interface PlatformCounts {
  reportsFound: number;
  reportsLabelled: number;
  notReceived: number;
  indicatorsRevoked: number;
  indicatorsKept: number;
  indicatorsSkipped: number;
  reportsRestored: number;
  indicatorsRestored: number;
}

export function emptyCounts(): PlatformCounts {
  return {
    reportsFound: 0,
    reportsLabelled: 0,
    notReceived: 0,
    indicatorsRevoked: 0,
    indicatorsKept: 0,
    indicatorsSkipped: 0,
    reportsRestored: 0,
    indicatorsRestored: 0,
  };
}

export interface PlatformContext {
  platform: WithdrawalPlatform;
  logger: Logger;
  /** STIX id of the connector's author identity. */
  authorId: string;
  /**
   * Internal ids of the reports this process labelled, which count as
   * withdrawn even before the platform's search index shows the label.
   */
  withdrawnReports: Set<string>;
  signal?: AbortSignal;
}

/** Returns whether the identity is the connector's author. */
export function isAuthor(
  author: PlatformAuthor | null,
  authorId: string,
): boolean {
  if (author === null) return false;
  return author.standardId === authorId || author.stixIds.includes(authorId);
}

function hasLabel(labels: readonly PlatformLabel[], labelId: string) {
  return labels.some((label) => label.id === labelId);
}

/**
 * Returns whether the report was made for the threat: the id computed from
 * the stable name and the report's `published` is one of its ids.
 */
export function isReportOf(report: PlatformReport, threat: ThreatKey): boolean {
  if (report.published === null) return false;

  const published = new Date(report.published);
  if (Number.isNaN(published.getTime())) return false;
  const expected = reportId(
    stableReportName(threat.threatType, threat.threatId),
    published.toISOString(),
  );
  return report.standardId === expected || report.stixIds.includes(expected);
}

/**
 * Finds the reports of each threat, keyed by `threatKeyText`. A threat
 * without a report in OpenCTI gets an empty list.
 */
export async function findThreatReports(
  context: PlatformContext,
  threats: readonly ThreatKey[],
): Promise<Map<string, PlatformReport[]>> {
  const found = new Map<string, PlatformReport[]>();
  for (const threat of threats) found.set(threatKeyText(threat), []);

  const externalIds = [...new Set(threats.map((t) => String(t.threatId)))];
  const references = await context.platform.findExternalReferences(
    REFERENCE_SOURCE_NAME,
    externalIds,
    context.signal,
  );
  if (references.length === 0) return found;

  const candidates = await context.platform.findReportsByExternalReferences(
    [...new Set(references.map((reference) => reference.id))],
    context.signal,
  );
  const unique = new Map(candidates.map((report) => [report.id, report]));
  for (const threat of threats) {
    const reports = [...unique.values()].filter((report) =>
      isReportOf(report, threat)
    );
    found.set(threatKeyText(threat), reports);
  }
  return found;
}

export function threatKeyText(threat: ThreatKey): string {
  return `${threat.threatType}:${threat.threatId}`;
}

/** Returns the withdrawn label, created when the platform lacks it. */
export async function ensureWithdrawnLabel(
  context: PlatformContext,
): Promise<PlatformLabel> {
  const existing = await context.platform.findLabel(
    WITHDRAWN_LABEL,
    context.signal,
  );
  if (existing !== undefined) return existing;

  context.logger.info("Creating the label of withdrawn threats", {
    label: WITHDRAWN_LABEL,
  });
  return await context.platform.addLabel(
    WITHDRAWN_LABEL,
    WITHDRAWN_LABEL_COLOR,
    context.signal,
  );
}

/**
 * Labels a withdrawn threat's report and revokes its indicators that no
 * live report of the author contains. A report of the author is live when
 * it carries no withdrawn label and this process did not label it.
 */
export async function withdrawReport(
  context: PlatformContext,
  report: PlatformReport,
  label: PlatformLabel,
  counts: PlatformCounts,
): Promise<void> {
  if (!hasLabel(report.labels, label.id)) {
    await context.platform.addObjectLabel(report.id, label.id, context.signal);
    counts.reportsLabelled++;
  }
  context.withdrawnReports.add(report.id);

  const indicators = await context.platform.listReportIndicators(
    report.id,
    context.signal,
  ) ?? [];
  const before = { ...counts };
  for (const indicator of indicators) {
    await withdrawIndicator(context, report, indicator, label, counts);
  }

  context.logger.info("Marked the report of a withdrawn threat", {
    report_id: report.standardId,
    report_name: report.name,
    indicators: indicators.length,
    indicators_revoked: counts.indicatorsRevoked - before.indicatorsRevoked,
    indicators_kept: counts.indicatorsKept - before.indicatorsKept,
  });
}

async function withdrawIndicator(
  context: PlatformContext,
  report: PlatformReport,
  indicator: ContainedIndicator,
  label: PlatformLabel,
  counts: PlatformCounts,
): Promise<void> {
  // Another source's indicator, or one revoked by an analyst or by decay,
  // is left as it is: the connector revokes and restores only its own.
  if (!isAuthor(indicator.createdBy, context.authorId) || indicator.revoked) {
    counts.indicatorsSkipped++;
    return;
  }

  const supported = indicator.reports.some((other) =>
    other.id !== report.id &&
    !context.withdrawnReports.has(other.id) &&
    isAuthor(other.createdBy, context.authorId) &&
    !hasLabel(other.labels, label.id)
  );
  if (supported) {
    counts.indicatorsKept++;
    return;
  }
  if (indicator.moreReports) {
    context.logger.warn(
      "Kept an indicator of a withdrawn threat: too many reports contain it to check them all",
      {
        indicator_id: indicator.standardId,
        report_id: report.standardId,
        reports_checked: indicator.reports.length,
      },
    );
    counts.indicatorsKept++;
    return;
  }

  // The label goes first: it marks the indicator as the connector's to
  // restore, so a run that fails between the two edits and repeats the page
  // finds it labelled, and a later re-publish can still revalidate it.
  await context.platform.addObjectLabel(indicator.id, label.id, context.signal);
  await context.platform.setRevoked(indicator.id, true, context.signal);
  counts.indicatorsRevoked++;
}

/** A threat in the page, as the mapper made it. */
export interface PublishedThreat extends ThreatKey {
  /** The report's STIX id, computed from the stable name and `published`. */
  reportId: string;
  /** The threat's objects. Those of type `indicator` are its indicators. */
  objects: ReadonlyArray<{ type: string; id: string }>;
}

/**
 * Removes the withdrawn label from the reports of re-published threats and
 * makes their indicators that the connector revoked valid again. Without
 * the label on the platform nothing was ever withdrawn, and only that one
 * lookup is sent.
 */
export async function restorePublished(
  context: PlatformContext,
  published: readonly PublishedThreat[],
  counts: PlatformCounts,
): Promise<void> {
  if (published.length === 0) return;
  const label = await context.platform.findLabel(
    WITHDRAWN_LABEL,
    context.signal,
  );
  if (label === undefined) return;

  const reports = await context.platform.findLabelledReports(
    published.map((threat) => threat.reportId),
    label.id,
    context.signal,
  );
  for (const report of reports) {
    await context.platform.removeObjectLabel(
      report.id,
      label.id,
      context.signal,
    );
    context.withdrawnReports.delete(report.id);
    counts.reportsRestored++;
    context.logger.info(
      "Removed the withdrawn label of a re-published report",
      {
        report_id: report.standardId,
        report_name: report.name,
      },
    );
  }

  await restoreIndicators(context, published, label, counts);
}

async function restoreIndicators(
  context: PlatformContext,
  published: readonly PublishedThreat[],
  label: PlatformLabel,
  counts: PlatformCounts,
): Promise<void> {
  const indicatorIds = new Set<string>();
  for (const threat of published) {
    for (const object of threat.objects) {
      if (object.type === "indicator") indicatorIds.add(object.id);
    }
  }
  if (indicatorIds.size === 0) return;

  const indicators = await context.platform.findLabelledIndicators(
    [...indicatorIds],
    label.id,
    context.signal,
  );
  for (const indicator of indicators) {
    if (indicator.revoked) {
      await context.platform.setRevoked(indicator.id, false, context.signal);
    }
    await context.platform.removeObjectLabel(
      indicator.id,
      label.id,
      context.signal,
    );
    counts.indicatorsRestored++;
  }
  if (indicators.length > 0) {
    context.logger.info("Made indicators of re-published threats valid again", {
      indicators: indicators.length,
    });
  }
}
