/**
 * Maps a phish (Brand Intelligence) threat: a `Credential Phishing` report
 * with the phishing, reported and action URLs, what the IP lookup of the
 * phishing page adds, the kits and the addresses found in them, and one
 * organization identity per imitated brand.
 */
import { tlpMarking } from "../stix/tlp.ts";
import type { StixObject } from "../stix/types.ts";
import {
  parsePhishThreat,
  type PhishThreat,
} from "../threathq/phish_schema.ts";
import { authorIdentity } from "./author.ts";
import { brandIdentities, brandNames } from "./brands.ts";
import { isExcluded } from "./impact.ts";
import { makeIndicators } from "./indicators.ts";
import { mapIpDetail } from "./ip_detail.ts";
import { LabelSet } from "./labels.ts";
import { failure, rawThreatId } from "./malware_threat.ts";
import type {
  MappingContext,
  MappingOptions,
  MapResult,
} from "./mapping_types.ts";
import { mergeObjects } from "./merge_objects.ts";
import { DraftCollection } from "./observable_draft.ts";
import { urlProblem } from "./observable_values.ts";
import { toObservable } from "./observables.ts";
import { describePhish } from "./phish_description.ts";
import {
  mapKits,
  mapPhishUrls,
  type PhishContext,
  phishingUrl,
} from "./phish_observables.ts";
import { ProblemLog } from "./problem_log.ts";
import { makeReport, stableReportName } from "./report.ts";
import { makeThreatReference, nonBlank } from "./threat_context.ts";
import { timesFrom } from "./threat_times.ts";

export const PHISH_REPORT_TYPE = "Credential Phishing";

/**
 * Names the report like a malware report: the id and the page title, else
 * the id and the phishing URL when it is a valid URL.
 */
export function phishReportName(threat: PhishThreat): string {
  if (nonBlank(threat.title)) return `${threat.id} - ${threat.title.trim()}`;

  const url = phishingUrl(threat)?.value.trim() ?? "";
  if (urlProblem(url) === undefined) return `${threat.id} - ${url}`;
  return `Cofense ThreatHQ phish ${threat.id}`;
}

/** Maps the URLs, the IP lookup and the kits, unless Major is excluded. */
function mapIndicatorsOfCompromise(
  context: PhishContext,
  drafts: DraftCollection,
  related: StixObject[],
): void {
  // Phish values carry no impact and count as Major, like blocks without
  // one, so excluding Major leaves them all out.
  if (isExcluded(undefined, context.options.impactToExclude)) return;

  const subject = mapPhishUrls(context, drafts);
  mapKits(context, drafts);

  const { ipDetail } = context.threat;
  if (ipDetail === undefined) return;
  if (subject === undefined) {
    context.problems.add(
      "ipDetail",
      ipDetail,
      "no valid phishing URL for the IP lookup to describe; skipped",
    );
    return;
  }
  mapIpDetail(ipDetail, "ipDetail", subject, context, { drafts, related });
}

function mapContents(context: PhishContext, brands: readonly string[]) {
  const drafts = new DraftCollection();
  const related: StixObject[] = [];
  mapIndicatorsOfCompromise(context, drafts, related);

  const draftList = drafts.toArray();
  return mergeObjects([
    ...draftList.map((draft) => toObservable(draft, context)),
    ...makeIndicators(draftList, context),
    ...related,
    ...brandIdentities(brands, context),
  ]);
}

function phishContext(
  threat: PhishThreat,
  options: MappingOptions,
  problems: ProblemLog,
  changelogTime: number | undefined,
): PhishContext | undefined {
  const published = threat.confirmedDate ?? threat.firstDate ??
    threat.lastDate ?? changelogTime;
  const times = timesFrom(published, threat.lastDate);
  if (times === undefined) return undefined;

  return {
    threat,
    options,
    markingId: tlpMarking(options.tlp).id,
    times,
    reference: makeThreatReference(
      threat.id,
      threat.threatDetailURL,
      threat.title,
    ),
    reportLabels: new LabelSet(),
    problems,
  };
}

/**
 * Maps a phish threat: the `data` of `GET threat/phish/{id}` or one element
 * of `data.threats[]` from `POST threat/search`. A threat without
 * `threatType` counts as phish; any other type is rejected.
 */
export function mapPhishThreat(
  raw: unknown,
  options: MappingOptions,
  context: MappingContext = {},
): MapResult {
  const threatId = rawThreatId(raw);
  const problems = new ProblemLog(threatId);
  const parsed = parsePhishThreat(raw);
  problems.addIssues(parsed.issues);
  if (!parsed.ok) return { ok: false, problems: problems.problems };

  const { threat } = parsed;
  const type = threat.threatType?.trim().toUpperCase() ?? "PHISH";
  if (type !== "PHISH") {
    return failure(
      threatId,
      "threatType",
      threat.threatType,
      "not a phish threat; expected threatType PHISH",
    );
  }

  const mapping = phishContext(
    threat,
    options,
    problems,
    context.changelogTime,
  );
  if (mapping === undefined) {
    problems.add(
      "confirmedDate",
      threat.confirmedDate,
      "no valid confirmedDate, firstDate, lastDate or changelog time; a report needs a published date",
    );
    return { ok: false, problems: problems.problems };
  }

  const brands = brandNames(threat.brands);
  const contents = mapContents(mapping, brands);
  const stableName = stableReportName("phish", threat.id);
  const report = makeReport(mapping, {
    stableName,
    name: phishReportName(threat),
    description: describePhish(threat, phishingUrl(threat)?.value, brands),
    reportType: PHISH_REPORT_TYPE,
    objectRefs: contents.map((object) => object.id),
    attachments: context.attachments ?? [],
  });

  const objects: StixObject[] = [
    tlpMarking(options.tlp),
    authorIdentity(mapping.markingId),
    ...contents,
    report,
  ];
  return {
    ok: true,
    threat: {
      threatType: "phish",
      threatId: threat.id,
      reportId: report.id,
      stableName,
      objects,
      problems: problems.problems,
    },
  };
}
