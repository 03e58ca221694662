/**
 * Observables before they become STIX objects: the value and the threat's
 * context for it. Blocks and files that name the same observable merge into
 * one draft.
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
}

export interface NetworkDraft extends DraftBase {
  kind: NetworkKind;
  value: string;
  impact: Impact;
}

export interface FileDraft extends DraftBase {
  kind: "file";
  name?: string;
  hashes?: Partial<Record<HashAlgorithm, string>>;
  impact: Impact;
}

/** An email subject line. Cofense gives no impact for it. */
export interface SubjectDraft extends DraftBase {
  kind: "email-message";
  subject: string;
}

export type ObservableDraft = NetworkDraft | FileDraft | SubjectDraft;

/** Drafts in first-seen order, merged by id. */
export class DraftCollection {
  readonly #drafts = new Map<string, ObservableDraft>();

  /**
   * Adds a draft, or merges it into the one with the same id: labels are
   * combined, the higher impact wins and the first description is kept.
   */
  add(draft: ObservableDraft): void {
    const existing = this.#drafts.get(draft.id);
    if (existing === undefined) {
      this.#drafts.set(draft.id, draft);
      return;
    }

    existing.labels.addAll(draft.labels.toArray());
    existing.description ??= draft.description;
    if ("impact" in existing && "impact" in draft) {
      if (impactRank(draft.impact) > impactRank(existing.impact)) {
        existing.impact = draft.impact;
      }
    }
  }

  toArray(): ObservableDraft[] {
    return [...this.#drafts.values()];
  }
}
