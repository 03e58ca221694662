/**
 * The report description: a markdown table of the threat's context, with
 * dates in US/Eastern time, the zone ThreatHQ's own portal shows.
 */
import type { MalwareThreat } from "../threathq/threat_schema.ts";
import { brandNames } from "./brands.ts";

const EASTERN_TIME_ZONE = "America/New_York";

const zoneNameFormat = new Intl.DateTimeFormat("en-US", {
  timeZone: EASTERN_TIME_ZONE,
  timeZoneName: "short",
});

/** Formats epoch milliseconds as `2022-04-27 12:03:29 EDT` in US/Eastern. */
export function formatEastern(epochMs: number): string {
  const zoned = Temporal.Instant.fromEpochMilliseconds(epochMs)
    .toZonedDateTimeISO(EASTERN_TIME_ZONE);
  const date = zoned.toPlainDate().toString();
  const time = zoned.toPlainTime().toString({ smallestUnit: "second" });
  const zone = zoneNameFormat.formatToParts(epochMs)
    .find((part) => part.type === "timeZoneName")?.value ?? zoned.offset;
  return `${date} ${time} ${zone}`;
}

/**
 * Makes a table cell: `|` and line breaks become spaces, runs of blanks
 * become one space, and an empty cell reads "N/A".
 */
export function tableCell(value: string | readonly string[] | undefined) {
  const text = typeof value === "string"
    ? value
    : (value ?? []).filter((item) => item.trim() !== "").join(", ");
  const cell = text.replace(/[|\r\n]/g, " ").replace(/\s+/g, " ").trim();
  return cell === "" ? "N/A" : cell;
}

function languageNames(threat: MalwareThreat): string[] {
  return threat.campaignLanguageSet.map((entry) =>
    entry.languageDefinition?.name ?? entry.languageDefinition?.isoCode ?? ""
  );
}

export function optionalDate(
  epochMs: number | undefined,
): string | undefined {
  return epochMs === undefined ? undefined : formatEastern(epochMs);
}

/** A table row: the field's name and its value or values. */
export type TableRow = [string, string | readonly string[] | undefined];

/** Builds a markdown table of fields and values, one row each. */
export function markdownTable(rows: readonly TableRow[]): string {
  const lines = [
    "| Field | Value |",
    "| --- | --- |",
    ...rows.map(([name, value]) => `| ${name} | ${tableCell(value)} |`),
  ];
  return lines.join("\n") + "\n";
}

/** Builds the markdown table of a malware report's description. */
export function describeThreat(
  threat: MalwareThreat,
  sectorNames: readonly string[],
): string {
  const rows: TableRow[] = [
    ["Threat title", threat.label],
    ["Executive summary", threat.executiveSummary],
    ["First published (US/Eastern)", optionalDate(threat.firstPublished)],
    ["Last updated (US/Eastern)", optionalDate(threat.lastPublished)],
    ["Languages", languageNames(threat)],
    [
      "Brands",
      brandNames(threat.campaignBrandSet.map((entry) => entry.brand)),
    ],
    ["Recipient NAICS subsectors", sectorNames],
    [
      "Secure email gateways",
      threat.secureEmailGatewaySet.map((gateway) => gateway.segName),
    ],
  ];
  return markdownTable(rows);
}
