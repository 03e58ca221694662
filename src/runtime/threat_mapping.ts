/**
 * Connects the sync engine to the mapper: each fetched threat is mapped
 * with the `cofense_threathq` mapping settings, its changelog time and its
 * PDF report. Values the mapper dropped from a threat it did map are
 * logged here, once per threat, because the sync engine logs only the
 * threats it skips.
 */
import type { Impact, Settings } from "../config/settings.ts";
import type { Logger } from "../log/logger.ts";
import {
  type MappedThreat as MapperThreat,
  type MappingOptions,
  mapThreatOfType,
} from "../mapper/map_threat.ts";
import type { MapThreat } from "../threathq/sync.ts";

export type { MapperThreat };

/** The most dropped values listed in one log line; the rest are counted. */
const PROBLEMS_LOGGED = 5;

/** Builds the mapping options from the `cofense_threathq` settings. */
export function mappingOptionsFromSettings(
  settings: Settings["cofense_threathq"],
): MappingOptions {
  return {
    tlp: settings.tlp_level,
    impactToExclude: settings.impact_to_exclude as Impact[],
    promoteIndicators: settings.promote_observables_as_indicators,
  };
}

/** Creates the map function the sync engine calls for each threat. */
export function createThreatMapper(
  options: MappingOptions,
  logger: Logger,
): MapThreat<MapperThreat> {
  return (input) => {
    // The changelog entry names the endpoint that served the detail, so it
    // decides the type when the detail itself carries no threatType.
    const result = mapThreatOfType(input.threatType, input.detail, options, {
      changelogTime: input.occurredOn,
      attachments: input.attachments,
    });
    if (!result.ok) return { ok: false, problems: result.problems };

    const problems = result.threat.problems;
    if (problems.length > 0) {
      logger.warn("Dropped ThreatHQ values while mapping a threat", {
        threat_type: input.threatType,
        threat_id: input.threatId,
        problems: problems.slice(0, PROBLEMS_LOGGED),
        problem_count: problems.length,
      });
    }
    return { ok: true, threat: result.threat };
  };
}
