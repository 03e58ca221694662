/** The dates of a threat's objects, from its publication times. */
import { isoMillis } from "../stix/ids.ts";
import type { MalwareThreat } from "../threathq/threat_schema.ts";

/** STIX timestamps in the `YYYY-MM-DDTHH:mm:ss.sssZ` form. */
export interface ThreatTimes {
  /**
   * The report's `published`, which also enters the report id. A malware
   * threat's is `firstPublished`, else `lastPublished`, else the changelog
   * time.
   */
  published: string;
  /** `created` of the threat's objects: the same time as `published`. */
  created: string;
  /** `modified`: the latest time, but never earlier than `created`. */
  modified: string;
  /**
   * Indicators' `valid_from`: the latest time, else `published`. An old
   * first-publication date would let OpenCTI's decay expire an indicator
   * that was just imported.
   */
  validFrom: string;
}

/**
 * Computes the times from epoch milliseconds: the publication time and the
 * time of the latest change, or undefined when there is no publication
 * time.
 */
export function timesFrom(
  published: number | undefined,
  latest: number | undefined,
): ThreatTimes | undefined {
  if (published === undefined) return undefined;

  const modified = Math.max(published, latest ?? published);
  return {
    published: isoMillis(published),
    created: isoMillis(published),
    modified: isoMillis(modified),
    validFrom: isoMillis(latest ?? published),
  };
}

/** Computes a malware threat's times, or undefined when it has no date. */
export function threatTimes(
  threat: MalwareThreat,
  changelogTime?: number,
): ThreatTimes | undefined {
  // NOTE: a threat dated from its changelog entry gets a different report id
  // if Cofense later adds `firstPublished`, and so a second report.
  const published = threat.firstPublished ?? threat.lastPublished ??
    changelogTime;
  return timesFrom(published, threat.lastPublished);
}
