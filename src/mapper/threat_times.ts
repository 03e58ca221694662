/** The dates of a threat's objects, from its publication times. */
import { isoMillis } from "../stix/ids.ts";
import type { MalwareThreat } from "../threathq/threat_schema.ts";

/** STIX timestamps in the `YYYY-MM-DDTHH:mm:ss.sssZ` form. */
export interface ThreatTimes {
  /**
   * The report's `published`, which also enters the report id:
   * `firstPublished`, else `lastPublished`, else the changelog time.
   */
  published: string;
  /** `created` of the threat's objects: the same time as `published`. */
  created: string;
  /** `modified`: `lastPublished`, but never earlier than `created`. */
  modified: string;
  /**
   * Indicators' `valid_from`: `lastPublished`, else the earlier choices.
   * An old first-publication date would let OpenCTI's decay expire an
   * indicator that was just imported.
   */
  validFrom: string;
}

/** Computes the times, or returns undefined when the threat has no date. */
export function threatTimes(
  threat: MalwareThreat,
  changelogTime?: number,
): ThreatTimes | undefined {
  // NOTE: a threat dated from its changelog entry gets a different report id
  // if Cofense later adds `firstPublished`, and so a second report.
  const published = threat.firstPublished ?? threat.lastPublished ??
    changelogTime;
  if (published === undefined) return undefined;

  const modified = Math.max(published, threat.lastPublished ?? published);
  const validFrom = threat.lastPublished ?? published;

  return {
    published: isoMillis(published),
    created: isoMillis(published),
    modified: isoMillis(modified),
    validFrom: isoMillis(validFrom),
  };
}
