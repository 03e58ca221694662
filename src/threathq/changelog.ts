/**
 * Turns one changelog page into work: the changelog is a log of events, so
 * the same threat can appear several times on a page. Only its newest event
 * counts; a threat whose newest event is `deleted: true` becomes a deletion
 * and is not fetched.
 */
import type { ChangelogEntry, ThreatKey, ThreatType } from "./api.ts";

export interface ThreatEvent extends ThreatKey {
  /** Epoch milliseconds of the newest event for this threat. */
  occurredOn: number;
}

export interface PlannedPage {
  /** Threats to fetch, oldest event first. */
  updates: ThreatEvent[];
  deletions: ThreatEvent[];
  /** Entries dropped because a newer one names the same threat. */
  duplicates: number;
}

export function threatKeyText(
  threatType: ThreatType,
  threatId: number,
): string {
  return `${threatType}:${threatId}`;
}

/** Deduplicates by (threatType, threatId), keeping the newest `occurredOn`. */
export function planPage(entries: readonly ChangelogEntry[]): PlannedPage {
  const newest = new Map<string, ChangelogEntry>();
  for (const entry of entries) {
    const key = threatKeyText(entry.threatType, entry.threatId);
    const seen = newest.get(key);
    // On equal times the later entry wins, as a later write would.
    if (seen === undefined || entry.occurredOn >= seen.occurredOn) {
      newest.set(key, entry);
    }
  }

  const newestEntries = [...newest.values()].sort((a, b) =>
    a.occurredOn - b.occurredOn
  );
  const toEvent = (entry: ChangelogEntry): ThreatEvent => ({
    threatType: entry.threatType,
    threatId: entry.threatId,
    occurredOn: entry.occurredOn,
  });
  return {
    updates: newestEntries.filter((entry) => !entry.deleted).map(toEvent),
    deletions: newestEntries.filter((entry) => entry.deleted).map(toEvent),
    duplicates: entries.length - newestEntries.length,
  };
}
