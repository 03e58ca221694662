/** The description of a phish report: a markdown table of the phish. */
import type { PhishThreat } from "../threathq/phish_schema.ts";
import { markdownTable, optionalDate, type TableRow } from "./description.ts";

function languageName(threat: PhishThreat): string | undefined {
  const definition = threat.language?.languageDefinition;
  return definition?.name ?? definition?.isoCode;
}

/** Builds the markdown table of a phish report's description. */
export function describePhish(
  threat: PhishThreat,
  phishingUrl: string | undefined,
  brandNames: readonly string[],
): string {
  const rows: TableRow[] = [
    ["Page title", threat.title],
    ["Phishing URL", phishingUrl],
    ["Imitated brands", brandNames],
    ["Confirmed (US/Eastern)", optionalDate(threat.confirmedDate)],
    ["First seen (US/Eastern)", optionalDate(threat.firstDate)],
    ["Last seen (US/Eastern)", optionalDate(threat.lastDate)],
    ["Confirmed phishing website", threat.isConfirmedPhishingWebsite],
    ["Page language", languageName(threat)],
    ["Kits", threat.kits.map((kit) => kit.kitName ?? "")],
  ];
  return markdownTable(rows);
}
