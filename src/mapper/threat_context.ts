/** The threat at hand and the settings that every part of the mapping reads. */
import type { ExternalReference } from "../stix/types.ts";
import type { MalwareThreat } from "../threathq/threat_schema.ts";
import { LabelSet } from "./labels.ts";
import type { MalwareFamilies } from "./malware.ts";
import type { MappingOptions } from "./mapping_types.ts";
import type { ProblemLog } from "./problem_log.ts";
import type { ThreatTimes } from "./threat_times.ts";

/** The settings and state every object builder reads, for either type. */
export interface ObjectContext {
  options: MappingOptions;
  /** Id of the TLP marking every object carries. */
  markingId: string;
  times: ThreatTimes;
  /** The threat's page on ThreatHQ, cited by the report and observables. */
  reference: ExternalReference;
  /** Labels of the report, added to as blocks and files are mapped. */
  reportLabels: LabelSet;
  problems: ProblemLog;
}

/** The context of a malware threat. */
export interface ThreatContext extends ObjectContext {
  threat: MalwareThreat;
  /** The threat's malware families, found before its blocks are mapped. */
  families: MalwareFamilies;
}

export const REFERENCE_SOURCE_NAME = "Cofense ThreatHQ";

/**
 * Builds the external reference to a threat's ThreatHQ page: the threat id,
 * and the page URL and title when Cofense gives them.
 */
export function makeThreatReference(
  threatId: number,
  detailUrl: string | undefined,
  title: string | undefined,
): ExternalReference {
  const reference: ExternalReference = {
    source_name: REFERENCE_SOURCE_NAME,
    external_id: String(threatId),
  };
  if (nonBlank(detailUrl)) reference.url = detailUrl;
  if (nonBlank(title)) reference.description = title;
  return reference;
}

/** Builds the external reference to a malware threat's ThreatHQ page. */
export function threatReference(threat: MalwareThreat): ExternalReference {
  return makeThreatReference(threat.id, threat.threatDetailURL, threat.label);
}

export function nonBlank(text: string | undefined): text is string {
  return text !== undefined && text.trim() !== "";
}

/** Returns the threat-level labels: malware families, delivery mechanisms. */
export function threatLabels(threat: MalwareThreat): LabelSet {
  return new LabelSet([
    ...threat.malwareFamilySet.map((family) => family.familyName),
    ...threat.deliveryMechanisms.map((mechanism) => mechanism.mechanismName),
  ]);
}
