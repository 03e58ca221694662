/**
 * STIX cyber-observables from drafts. STIX 2.1 forbids `created_by_ref`,
 * `labels`, `description` and `external_references` on observables, so they
 * carry OpenCTI's `x_opencti_*` forms of those properties.
 */
import { match } from "ts-pattern";
import type { Impact } from "../config/settings.ts";
import type { StixObject } from "../stix/types.ts";
import { AUTHOR_ID } from "./author.ts";
import { impactScore } from "./impact.ts";
import type { ObservableDraft } from "./observable_draft.ts";
import type { ObjectContext } from "./threat_context.ts";

/** Builds the properties every observable of the threat carries. */
function commonProperties(draft: ObservableDraft, context: ObjectContext) {
  const labels = draft.labels.toArray();
  return {
    spec_version: "2.1" as const,
    id: draft.id,
    object_marking_refs: [context.markingId],
    x_opencti_created_by_ref: AUTHOR_ID,
    ...(labels.length > 0 ? { x_opencti_labels: labels } : {}),
    ...(draft.description === undefined
      ? {}
      : { x_opencti_description: draft.description }),
    x_opencti_external_references: [context.reference],
  };
}

/** Returns the score of a judged observable; one not judged gets none. */
function score(impact: Impact | undefined) {
  return impact === undefined ? {} : { x_opencti_score: impactScore(impact) };
}

/** Builds the STIX observable of a draft. */
export function toObservable(
  draft: ObservableDraft,
  context: ObjectContext,
): StixObject {
  const common = commonProperties(draft, context);

  return match(draft)
    .with({ kind: "url" }, (url) => ({
      type: "url" as const,
      ...common,
      value: url.value,
      ...score(url.impact),
    }))
    .with({ kind: "domain-name" }, (domain) => ({
      type: "domain-name" as const,
      ...common,
      value: domain.value,
      ...score(domain.impact),
    }))
    .with({ kind: "ipv4-addr" }, (address) => ({
      type: "ipv4-addr" as const,
      ...common,
      value: address.value,
      ...score(address.impact),
    }))
    .with({ kind: "email-addr" }, (address) => ({
      type: "email-addr" as const,
      ...common,
      value: address.value,
      ...score(address.impact),
    }))
    .with({ kind: "file" }, (file) => ({
      type: "file" as const,
      ...common,
      ...(file.hashes === undefined ? {} : { hashes: file.hashes }),
      ...(file.name === undefined ? {} : { name: file.name }),
      ...score(file.impact),
    }))
    // A subject line has no impact in ThreatHQ, so it gets no score.
    .with({ kind: "email-message" }, (message) => ({
      type: "email-message" as const,
      ...common,
      is_multipart: false,
      subject: message.subject,
    }))
    .exhaustive();
}
