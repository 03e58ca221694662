/**
 * Maps one ThreatHQ threat to the STIX 2.1 objects OpenCTI imports, by its
 * type: malware threats and phish (Brand Intelligence) threats.
 *
 * Vendor data never makes the mapper throw. A value that cannot be read as
 * a threat at all gives `ok: false`. Every other defect skips or drops only
 * the value concerned and is listed in `problems`.
 */
import { match, P } from "ts-pattern";
import type { ThreatType } from "../threathq/api.ts";
import { failure, mapMalwareThreat, rawThreatId } from "./malware_threat.ts";
import type {
  MappingContext,
  MappingOptions,
  MapResult,
} from "./mapping_types.ts";
import { mapPhishThreat } from "./phish_threat.ts";

export type {
  Attachment,
  MappedThreat,
  MappingContext,
  MappingOptions,
  MappingProblem,
  MapResult,
} from "./mapping_types.ts";
export { mapMalwareThreat } from "./malware_threat.ts";
export { mapPhishThreat } from "./phish_threat.ts";
export { stableReportName } from "./report.ts";

/**
 * Maps a threat by its `threatType`, `MALWARE` or `PHISH` in any case. A
 * threat without `threatType` counts as malware.
 */
export function mapThreat(
  raw: unknown,
  options: MappingOptions,
  context: MappingContext = {},
): MapResult {
  const threatType = typeof raw === "object" && raw !== null
    ? (raw as { threatType?: unknown }).threatType
    : undefined;
  const kind = typeof threatType === "string"
    ? threatType.trim().toLowerCase()
    : threatType;

  return match(kind)
    .with(
      P.union("malware", undefined, null),
      () => mapMalwareThreat(raw, options, context),
    )
    .with("phish", () => mapPhishThreat(raw, options, context))
    .otherwise(() =>
      failure(
        rawThreatId(raw),
        "threatType",
        threatType,
        "unknown threat type; expected MALWARE or PHISH",
      )
    );
}

/**
 * Maps a threat fetched from the endpoint of `threatType`, such as
 * `threat/phish/{id}`. The endpoint decides when the threat has no
 * `threatType`; a threat whose own type differs is rejected.
 */
export function mapThreatOfType(
  threatType: ThreatType,
  raw: unknown,
  options: MappingOptions,
  context: MappingContext = {},
): MapResult {
  return threatType === "phish"
    ? mapPhishThreat(raw, options, context)
    : mapMalwareThreat(raw, options, context);
}
