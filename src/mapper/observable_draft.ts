/**
 * Observables before they become STIX objects: the value and the threat's
 * context for it. Blocks, files and IP lookups that name the same
 * observable merge into one draft.
 */
import type { Impact } from "../config/settings.ts";
import type { HashAlgorithm } from "../stix/ids.ts";
import { impactRank } from "./impact.ts";
import type { LabelSet } from "./labels.ts";

/** The observable types a network block can become. */
export type NetworkKind = "url" | "domain-name" | "ipv4-addr" | "email-addr";

interface DraftBase {
  id: string;
  labels: LabelSet;
  /** The role description of the block or file, when Cofense gives one. */
  description?: string;
  /** Ids of the malware the block or file names, for `indicates` links. */
  malwareRefs: Set<string>;
}

/**
 * A network observable. `impact` is undefined for context that Cofense did
 * not judge, such as the address a domain resolved to: such a draft gets no
 * score and never becomes an indicator.
 */
export interface NetworkDraft extends DraftBase {
  kind: NetworkKind;
  value: string;
  impact: Impact | undefined;
}

/** A file. `impact` is undefined for files Cofense did not judge. */
export interface FileDraft extends DraftBase {
  kind: "file";
  name?: string;
  hashes?: Partial<Record<HashAlgorithm, string>>;
  impact: Impact | undefined;
}

/** An email subject line. Cofense gives no impact for it. */
export interface SubjectDraft extends DraftBase {
  kind: "email-message";
  subject: string;
}

export type ObservableDraft = NetworkDraft | FileDraft | SubjectDraft;

/** Returns the higher of two impacts; an undefined impact ranks lowest. */
function higherImpact(
  first: Impact | undefined,
  second: Impact | undefined,
): Impact | undefined {
  if (first === undefined) return second;
  if (second === undefined) return first;
  return impactRank(second) > impactRank(first) ? second : first;
}

/** Drafts in first-seen order, merged by id. */
export class DraftCollection {
  readonly #drafts = new Map<string, ObservableDraft>();

  /**
   * Adds a draft, or merges it into the one with the same id: labels and
   * malware are combined, the higher impact wins and the first description
   * is kept.
   */
  add(draft: ObservableDraft): void {
    const existing = this.#drafts.get(draft.id);
    if (existing === undefined) {
      this.#drafts.set(draft.id, draft);
      return;
    }

    existing.labels.addAll(draft.labels.toArray());
    existing.description ??= draft.description;
    for (const ref of draft.malwareRefs) existing.malwareRefs.add(ref);
    if ("impact" in existing && "impact" in draft) {
      existing.impact = higherImpact(existing.impact, draft.impact);
    }
  }

  toArray(): ObservableDraft[] {
    return [...this.#drafts.values()];
  }
}
