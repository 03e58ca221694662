/**
 * The counts of one run, added up result by result, and the summary the
 * run's work and log lines carry.
 */
import type { ResultCounts } from "../threathq/sync.ts";
import type { DeliveryResult } from "./page_delivery.ts";

export interface RunTotals {
  /** Sync results handled, one or more per changelog page. */
  results: number;
  /** Changelog pages whose position was saved. */
  pagesSaved: number;
  mapped: number;
  skipped: number;
  deleted: number;
  /** Mapped threats of a result whose delivery failed. */
  failed: number;
  /** Objects sent to the platform, or written when only a directory is on. */
  objectsSent: number;
  /** Messages published, or bundles pushed over the API. */
  messages: number;
  /** Objects by STIX type, counted as `objectsSent` is. */
  objectTypes: Record<string, number>;
  /** Bundle files written, in order. */
  files: string[];
}

export function emptyTotals(): RunTotals {
  return {
    results: 0,
    pagesSaved: 0,
    mapped: 0,
    skipped: 0,
    deleted: 0,
    failed: 0,
    objectsSent: 0,
    messages: 0,
    objectTypes: {},
    files: [],
  };
}

/** Adds one delivered result to the totals. */
export function addResult(
  totals: RunTotals,
  counts: ResultCounts,
  delivery: DeliveryResult,
): void {
  totals.results += 1;
  totals.mapped += counts.mapped;
  totals.skipped += counts.skipped;
  totals.deleted += counts.deletions;
  totals.objectsSent += delivery.objects;
  totals.messages += delivery.messages;
  if (delivery.file !== undefined) totals.files.push(delivery.file);
  for (const [type, count] of Object.entries(delivery.types)) {
    totals.objectTypes[type] = (totals.objectTypes[type] ?? 0) + count;
  }
}

/** Returns `12 threats mapped, 1 skipped, 0 deleted, 340 objects sent`. */
export function describeTotals(totals: RunTotals): string {
  return `${totals.mapped} threats mapped, ${totals.skipped} skipped, ${totals.deleted} deleted, ${totals.objectsSent} objects sent`;
}

/** Returns the totals as log attributes. */
export function totalsAttributes(totals: RunTotals): Record<string, number> {
  return {
    results: totals.results,
    pages_saved: totals.pagesSaved,
    threats_mapped: totals.mapped,
    threats_skipped: totals.skipped,
    threats_deleted: totals.deleted,
    threats_failed: totals.failed,
    objects_sent: totals.objectsSent,
    messages_sent: totals.messages,
    files_written: totals.files.length,
  };
}
