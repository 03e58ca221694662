/**
 * Indicators promoted from observables, each with a `based-on` relationship
 * to its observable and an `indicates` relationship to each malware its
 * block or file names. Email subjects never become indicators, because a
 * subject line alone is too generic to detect on, and neither do observables
 * of impact `None` or observables Cofense did not judge.
 */
import { match } from "ts-pattern";
import type { Impact } from "../config/settings.ts";
import { indicatorId } from "../stix/ids.ts";
import { equalityPattern, filePattern } from "../stix/pattern.ts";
import type { Indicator, Relationship } from "../stix/types.ts";
import { AUTHOR_ID } from "./author.ts";
import { impactDetects, impactScore } from "./impact.ts";
import type {
  FileDraft,
  NetworkDraft,
  ObservableDraft,
} from "./observable_draft.ts";
import { makeRelationship } from "./relationships.ts";
import type { ObjectContext } from "./threat_context.ts";

type DetectableDraft = NetworkDraft | FileDraft;

/** The parts of an indicator that come from its observable. */
interface IndicatorSubject {
  name: string;
  pattern: string;
  /** OpenCTI's entity type of the observable, such as `StixFile`. */
  mainObservableType: string;
}

function fileSubject(file: FileDraft): IndicatorSubject {
  const hashes = file.hashes ?? {};
  const pattern = Object.keys(hashes).length > 0
    ? filePattern(hashes)
    : equalityPattern("file:name", file.name ?? "");
  const name = file.name ?? Object.values(hashes)[0] ?? "";
  return { name, pattern, mainObservableType: "StixFile" };
}

function indicatorSubject(draft: DetectableDraft): IndicatorSubject {
  return match(draft)
    .with({ kind: "url" }, (url) => ({
      name: url.value,
      pattern: equalityPattern("url:value", url.value),
      mainObservableType: "Url",
    }))
    .with({ kind: "domain-name" }, (domain) => ({
      name: domain.value,
      pattern: equalityPattern("domain-name:value", domain.value),
      mainObservableType: "Domain-Name",
    }))
    .with({ kind: "ipv4-addr" }, (address) => ({
      name: address.value,
      pattern: equalityPattern("ipv4-addr:value", address.value),
      mainObservableType: "IPv4-Addr",
    }))
    .with({ kind: "email-addr" }, (address) => ({
      name: address.value,
      pattern: equalityPattern("email-addr:value", address.value),
      mainObservableType: "Email-Addr",
    }))
    .with({ kind: "file" }, fileSubject)
    .exhaustive();
}

/** A draft that may become an indicator: judged, not a subject line. */
type Detectable = DetectableDraft & { impact: Impact };

/** Returns the draft when it may become an indicator, else undefined. */
function detectable(draft: ObservableDraft): Detectable | undefined {
  if (draft.kind === "email-message") return undefined;

  const { impact } = draft;
  if (impact === undefined || !impactDetects(impact)) return undefined;
  return { ...draft, impact };
}

function makeIndicator(
  draft: Detectable,
  context: ObjectContext,
): Indicator {
  const subject = indicatorSubject(draft);
  const labels = draft.labels.toArray();
  return {
    type: "indicator",
    spec_version: "2.1",
    id: indicatorId(subject.pattern),
    created: context.times.created,
    modified: context.times.modified,
    name: subject.name,
    ...(draft.description === undefined
      ? {}
      : { description: draft.description }),
    pattern: subject.pattern,
    pattern_type: "stix",
    valid_from: context.times.validFrom,
    ...(labels.length > 0 ? { labels } : {}),
    created_by_ref: AUTHOR_ID,
    object_marking_refs: [context.markingId],
    external_references: [context.reference],
    x_opencti_main_observable_type: subject.mainObservableType,
    x_opencti_score: impactScore(draft.impact),
  };
}

/**
 * Builds the indicators and their `based-on` relationships, or nothing when
 * promotion is switched off.
 */
export function makeIndicators(
  drafts: readonly ObservableDraft[],
  context: ObjectContext,
): Array<Indicator | Relationship> {
  if (!context.options.promoteIndicators) return [];

  const objects: Array<Indicator | Relationship> = [];
  for (const draft of drafts) {
    const candidate = detectable(draft);
    if (candidate === undefined) continue;

    const indicator = makeIndicator(candidate, context);
    objects.push(
      indicator,
      makeRelationship("based-on", indicator.id, candidate.id, context),
    );
    for (const malwareRef of candidate.malwareRefs) {
      objects.push(
        makeRelationship("indicates", indicator.id, malwareRef, context),
      );
    }
  }
  return objects;
}
