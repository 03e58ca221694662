/**
 * Cofense's impact levels: how a block's `impact` or a file's
 * `severityLevel` becomes a score, an exclusion and an indicator decision.
 */
import { match } from "ts-pattern";
import type { Impact } from "../config/settings.ts";

/**
 * Returns the impact to act on for the score, the exclusion and the
 * indicator decision. A block or file without one counts as `Major`, as
 * Cofense's own Python SDK (cofense_intelligence 5.1.12) treats it.
 */
export function effectiveImpact(impact: Impact | undefined): Impact {
  return impact ?? "Major";
}

/**
 * Returns whether a block or file of this impact (Major when missing) is
 * left out by the `impact_to_exclude` setting.
 */
export function isExcluded(
  impact: Impact | undefined,
  impactToExclude: readonly Impact[],
): boolean {
  return impactToExclude.includes(effectiveImpact(impact));
}

/**
 * Converts an impact to an OpenCTI score (0 to 100), on the scale of Cofense's
 * CEF severities: Major 100, Moderate 70, Minor 40, None 0.
 */
export function impactScore(impact: Impact): number {
  return match(impact)
    .with("Major", () => 100)
    .with("Moderate", () => 70)
    .with("Minor", () => 40)
    .with("None", () => 0)
    .exhaustive();
}

/** Orders impacts from `None` (0) to `Major` (3), to keep the highest. */
export function impactRank(impact: Impact): number {
  return match(impact)
    .with("None", () => 0)
    .with("Minor", () => 1)
    .with("Moderate", () => 2)
    .with("Major", () => 3)
    .exhaustive();
}

/**
 * Returns whether an observable of this impact becomes an indicator.
 * Cofense marks benign infrastructure, such as connectivity checks, `None`,
 * and those must never become detections.
 */
export function impactDetects(impact: Impact): boolean {
  return match(impact)
    .with("None", () => false)
    .with("Minor", "Moderate", "Major", () => true)
    .exhaustive();
}
