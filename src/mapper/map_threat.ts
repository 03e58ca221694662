/**
 * Maps one ThreatHQ threat to the STIX 2.1 objects OpenCTI imports: the
 * author, the TLP marking, observables from blocks, files and subjects,
 * indicators, sectors and the report that contains them.
 *
 * Vendor data never makes the mapper throw. A value that cannot be read as
 * a threat at all gives `ok: false`. Every other defect skips or drops only
 * the value concerned and is listed in `problems`.
 */
import { match, P } from "ts-pattern";
import { tlpMarking } from "../stix/tlp.ts";
import type { StixObject } from "../stix/types.ts";
import {
  type MalwareThreat,
  parseMalwareThreat,
} from "../threathq/threat_schema.ts";
import { authorIdentity } from "./author.ts";
import { mapBlocks } from "./blocks.ts";
import { mapExecutables } from "./executables.ts";
import { makeIndicators } from "./indicators.ts";
import type {
  MappingContext,
  MappingOptions,
  MapResult,
} from "./mapping_types.ts";
import { DraftCollection } from "./observable_draft.ts";
import { toObservable } from "./observables.ts";
import { ProblemLog } from "./problem_log.ts";
import { makeReport, stableReportName } from "./report.ts";
import { makeSectors } from "./sectors.ts";
import { mapSubjects } from "./subjects.ts";
import {
  type ThreatContext,
  threatLabels,
  threatReference,
} from "./threat_context.ts";
import { threatTimes } from "./threat_times.ts";

export type {
  Attachment,
  MappedThreat,
  MappingContext,
  MappingOptions,
  MappingProblem,
  MapResult,
} from "./mapping_types.ts";

function rawThreatId(raw: unknown): string {
  if (typeof raw !== "object" || raw === null || !("id" in raw)) {
    return "unknown";
  }
  return String((raw as { id: unknown }).id);
}

function failure(
  threatId: string,
  field: string,
  value: unknown,
  reason: string,
): MapResult {
  return { ok: false, problems: [{ threatId, field, value, reason }] };
}

/** Makes the observables, indicators and sectors of a parsed threat. */
function mapContents(context: ThreatContext) {
  const drafts = new DraftCollection();
  mapBlocks(context, drafts);
  mapExecutables(context, drafts);
  mapSubjects(context, drafts);

  const draftList = drafts.toArray();
  const observables = draftList.map((draft) => toObservable(draft, context));
  const indicators = makeIndicators(draftList, context);
  const sectors = makeSectors(context);
  return { observables, indicators, sectors };
}

function threatContext(
  threat: MalwareThreat,
  options: MappingOptions,
  problems: ProblemLog,
  changelogTime: number | undefined,
): ThreatContext | undefined {
  const times = threatTimes(threat, changelogTime);
  if (times === undefined) return undefined;

  return {
    threat,
    options,
    markingId: tlpMarking(options.tlp).id,
    times,
    reference: threatReference(threat),
    reportLabels: threatLabels(threat),
    problems,
  };
}

/**
 * Maps a malware threat: the `data` of `GET threat/malware/{id}` or one
 * element of `data.threats[]` from `POST threat/search`.
 */
export function mapMalwareThreat(
  raw: unknown,
  options: MappingOptions,
  context: MappingContext = {},
): MapResult {
  const threatId = rawThreatId(raw);
  const parsed = parseMalwareThreat(raw);
  if (!parsed.ok) {
    const problems = new ProblemLog(threatId);
    problems.addIssues(parsed.issues);
    return { ok: false, problems: problems.problems };
  }

  const { threat } = parsed;
  const type = threat.threatType?.trim().toUpperCase() ?? "MALWARE";
  if (type !== "MALWARE") {
    return failure(
      threatId,
      "threatType",
      threat.threatType,
      "not a malware threat; expected threatType MALWARE",
    );
  }

  const problems = new ProblemLog(threatId);
  problems.addIssues(parsed.issues);
  const mapping = threatContext(
    threat,
    options,
    problems,
    context.changelogTime,
  );
  if (mapping === undefined) {
    problems.add(
      "firstPublished",
      threat.firstPublished,
      "no valid firstPublished, lastPublished or changelog time; a report needs a published date",
    );
    return { ok: false, problems: problems.problems };
  }

  const { observables, indicators, sectors } = mapContents(mapping);
  const contents: StixObject[] = [
    ...observables,
    ...indicators,
    ...sectors.identities,
  ];
  const stableName = stableReportName("malware", threat.id);
  const report = makeReport(mapping, {
    stableName,
    objectRefs: contents.map((object) => object.id),
    sectorNames: sectors.names,
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
      threatType: "malware",
      threatId: threat.id,
      reportId: report.id,
      stableName,
      objects,
      problems: problems.problems,
    },
  };
}

/**
 * Maps a threat of any type by its `threatType`. Only malware threats are
 * mapped; a threat without `threatType` counts as malware.
 */
export function mapThreat(
  raw: unknown,
  options: MappingOptions,
  context: MappingContext = {},
): MapResult {
  const threatType = typeof raw === "object" && raw !== null
    ? (raw as { threatType?: unknown }).threatType
    : undefined;
  const kind = typeof threatType === "string"
    ? threatType.trim().toLowerCase()
    : threatType;

  return match(kind)
    .with(
      P.union("malware", undefined, null),
      () => mapMalwareThreat(raw, options, context),
    )
    // TODO: map phish (Brand Intelligence) threats in a module of their own.
    .with("phish", () =>
      failure(
        rawThreatId(raw),
        "threatType",
        threatType,
        "phish threats are not mapped yet; only MALWARE threats are imported",
      ))
    .otherwise(() =>
      failure(
        rawThreatId(raw),
        "threatType",
        threatType,
        "unknown threat type; expected MALWARE",
      )
    );
}
