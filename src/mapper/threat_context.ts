/** The threat at hand and the settings that every part of the mapping reads. */
import type { ExternalReference } from "../stix/types.ts";
import type { MalwareThreat } from "../threathq/threat_schema.ts";
import { LabelSet } from "./labels.ts";
import type { MappingOptions } from "./mapping_types.ts";
import type { ProblemLog } from "./problem_log.ts";
import type { ThreatTimes } from "./threat_times.ts";

export interface ThreatContext {
  threat: MalwareThreat;
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

export const REFERENCE_SOURCE_NAME = "Cofense ThreatHQ";

/** Builds the external reference to the threat's ThreatHQ page. */
export function threatReference(threat: MalwareThreat): ExternalReference {
  const reference: ExternalReference = {
    source_name: REFERENCE_SOURCE_NAME,
    external_id: String(threat.id),
  };
  if (nonBlank(threat.threatDetailURL)) {
    reference.url = threat.threatDetailURL;
  }
  if (nonBlank(threat.label)) reference.description = threat.label;
  return reference;
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
