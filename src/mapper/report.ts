/**
 * The report that contains everything made for one threat.
 *
 * A malware report's name is the one the Python connector gives
 * (`<id> - <summary>`), so OpenCTI matches the reports that connector
 * created, which the platform identifies by name and `published`. Its id
 * instead comes from a stable name that Cofense's edits do not change;
 * OpenCTI keeps that id among the report's `x_opencti_stix_ids` and updates
 * the same report on every later edit.
 */
import { reportId } from "../stix/ids.ts";
import type { OpenctiFile, Report } from "../stix/types.ts";
import type { ThreatType } from "../threathq/api.ts";
import type { MalwareThreat } from "../threathq/threat_schema.ts";
import { attachmentMimeType } from "./attachment_type.ts";
import { AUTHOR_ID } from "./author.ts";
import type { Attachment } from "./mapping_types.ts";
import { nonBlank, type ObjectContext } from "./threat_context.ts";

/** Names a malware threat's report as the Python connector does. */
export function reportName(threat: MalwareThreat): string {
  if (nonBlank(threat.executiveSummary)) {
    return `${threat.id} - ${threat.executiveSummary}`;
  }
  if (nonBlank(threat.label)) return `${threat.id} - ${threat.label}`;
  return `Cofense ThreatHQ threat ${threat.id}`;
}

/**
 * Builds the name a report id is computed from, such as `Cofense ThreatHQ
 * malware 247570`. The id also hashes the report's `published`.
 */
export function stableReportName(
  threatType: ThreatType,
  threatId: number,
): string {
  return `Cofense ThreatHQ ${threatType} ${threatId}`;
}

/**
 * Returns `Credential Phishing` when the label contains that phrase in any
 * case: such campaigns arrive as malware threats. Otherwise
 * `Malware Campaign`.
 */
export function reportType(label: string | undefined): string {
  return /credential phishing/i.test(label ?? "")
    ? "Credential Phishing"
    : "Malware Campaign";
}

function attachedFile(attachment: Attachment, markingId: string): OpenctiFile {
  return {
    name: attachment.name,
    mime_type: attachmentMimeType(attachment),
    data: attachment.data.toBase64(),
    object_marking_refs: [markingId],
    no_trigger_import: false,
  };
}

export interface ReportParts {
  stableName: string;
  name: string;
  description: string;
  reportType: string;
  /** Ids of every object made for the threat, author and marking aside. */
  objectRefs: string[];
  attachments: readonly Attachment[];
}

/** Builds the threat's report. */
export function makeReport(context: ObjectContext, parts: ReportParts): Report {
  const { times, markingId } = context;
  const labels = context.reportLabels.toArray();
  // STIX requires at least one object_refs entry; a threat whose every
  // block was excluded or skipped still gets its report, citing the author.
  const objectRefs = parts.objectRefs.length > 0
    ? parts.objectRefs
    : [AUTHOR_ID];

  return {
    type: "report",
    spec_version: "2.1",
    id: reportId(parts.stableName, times.published),
    created: times.created,
    modified: times.modified,
    name: parts.name,
    description: parts.description,
    report_types: [parts.reportType],
    published: times.published,
    object_refs: objectRefs,
    ...(labels.length > 0 ? { labels } : {}),
    created_by_ref: AUTHOR_ID,
    object_marking_refs: [markingId],
    external_references: [context.reference],
    ...(parts.attachments.length > 0
      ? {
        x_opencti_files: parts.attachments.map((attachment) =>
          attachedFile(attachment, markingId)
        ),
      }
      : {}),
  };
}
