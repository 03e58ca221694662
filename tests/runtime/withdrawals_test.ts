import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { AUTHOR_ID, authorIdentity } from "../../src/mapper/author.ts";
import { stableReportName } from "../../src/mapper/report.ts";
import { GraphqlError } from "../../src/opencti/errors.ts";
import { createGraphqlClient } from "../../src/opencti/graphql_client.ts";
import {
  createPlatformApi,
  type KnowledgeApi,
} from "../../src/opencti/platform_api.ts";
import {
  createWithdrawalHandler,
  newestPerThreat,
  type PublishedThreat,
  type WithdrawalHandler,
  WITHDRAWN_LABEL,
} from "../../src/runtime/withdrawals.ts";
import {
  identityId,
  indicatorId,
  reportId,
  TLP_DEFINITION_IDS,
} from "../../src/stix/ids.ts";
import type { SyncDeletion } from "../../src/threathq/sync.ts";
import type { ThreatType } from "../../src/threathq/api.ts";
import {
  createPlatformStandin,
  type PlatformStandin,
} from "../support/platform_standin.ts";

const t = suite("runtime: withdrawals");

const MARKING_ID = TLP_DEFINITION_IDS["TLP:AMBER"];
const PUBLISHED = "2024-01-15T10:30:00.000Z";
const OTHER_AUTHOR = {
  type: "identity",
  spec_version: "2.1",
  id: identityId("Other Vendor", "organization"),
  name: "Other Vendor",
  identity_class: "organization",
};

let standin: PlatformStandin;
let api: KnowledgeApi;
let logger: ReturnType<typeof createMemoryLogger>;
let handler: WithdrawalHandler;

t.before.each(async () => {
  standin = await createPlatformStandin();
  api = createPlatformApi(createGraphqlClient({
    url: standin.url,
    token: "standin-token",
    logger: createMemoryLogger(),
  }));
  logger = createMemoryLogger();
  handler = createWithdrawalHandler({
    platform: api,
    logger,
    authorId: AUTHOR_ID,
    connectorName: "Cofense ThreatHQ",
  });
});

t.after.each(async () => {
  await standin.stop();
});

function pattern(value: string): string {
  return `[domain-name:value = '${value}']`;
}

interface ThreatSpec {
  threatType?: ThreatType;
  threatId: number;
  /** Domain names, each an indicator of the threat. */
  domains: string[];
  /** Indicators of another author the report contains. */
  foreignDomains?: string[];
  published?: string;
}

/** Builds the objects the connector sends for a threat, as STIX. */
function threatObjects(spec: ThreatSpec): PublishedThreat {
  const threatType = spec.threatType ?? "malware";
  const published = spec.published ?? PUBLISHED;
  const stableName = stableReportName(threatType, spec.threatId);
  const reference = {
    source_name: "Cofense ThreatHQ",
    external_id: String(spec.threatId),
    url: `https://www.threathq.com/${threatType}/${spec.threatId}`,
  };
  const indicator = (domain: string, authorId: string) => ({
    type: "indicator",
    spec_version: "2.1",
    id: indicatorId(pattern(domain)),
    created: published,
    modified: published,
    name: domain,
    pattern: pattern(domain),
    pattern_type: "stix",
    valid_from: published,
    created_by_ref: authorId,
    object_marking_refs: [MARKING_ID],
    external_references: [reference],
  });
  const indicators = [
    ...spec.domains.map((domain) => indicator(domain, AUTHOR_ID)),
    ...(spec.foreignDomains ?? []).map((domain) =>
      indicator(domain, OTHER_AUTHOR.id)
    ),
  ];
  const report = {
    type: "report",
    spec_version: "2.1",
    id: reportId(stableName, published),
    created: published,
    modified: published,
    name: `${spec.threatId} - Example campaign`,
    published,
    report_types: ["Malware Campaign"],
    object_refs: indicators.map((object) => object.id),
    created_by_ref: AUTHOR_ID,
    object_marking_refs: [MARKING_ID],
    external_references: [reference],
  };
  return {
    threatType,
    threatId: spec.threatId,
    reportId: report.id,
    objects: [authorIdentity(MARKING_ID), OTHER_AUTHOR, ...indicators, report],
  };
}

/** Imports a threat into the stand-in, as the worker would. */
function seed(spec: ThreatSpec): PublishedThreat {
  const threat = threatObjects(spec);
  standin.knowledge.importObjects(threat.objects);
  return threat;
}

function deletion(
  threatId: number,
  threatType: ThreatType = "malware",
  occurredOn = Date.UTC(2024, 1, 1),
): SyncDeletion {
  return { threatType, threatId, occurredOn };
}

function reportOf(threat: PublishedThreat) {
  const report = standin.knowledge.report(threat.reportId);
  assert.ok(report, `report of threat ${threat.threatId} in the store`);
  return report;
}

function indicatorOf(domain: string) {
  const indicator = standin.knowledge.indicator(indicatorId(pattern(domain)));
  assert.ok(indicator, `indicator ${domain} in the store`);
  return indicator;
}

function labelsOf(object: { labels: string[] }): string[] {
  return standin.knowledge.labelValues(object);
}

function messages(): string[] {
  return logger.records().map((record) => String(record.message));
}

t("indicator of a live threat stays valid", async () => {
  const withdrawn = seed({
    threatId: 1001,
    domains: ["only.example", "both.example"],
  });
  seed({ threatId: 1002, domains: ["both.example"] });

  const summary = await handler.handle([deletion(1001)]);

  assert.equal(labelsOf(reportOf(withdrawn)), [WITHDRAWN_LABEL]);
  assert.is(indicatorOf("both.example").revoked, false);
  assert.equal(labelsOf(indicatorOf("both.example")), []);
  assert.is(summary.indicatorsKept, 1);
});

t("indicators only it supports are revoked", async () => {
  seed({ threatId: 1001, domains: ["only.example", "both.example"] });
  seed({ threatId: 1002, domains: ["both.example"] });

  const summary = await handler.handle([deletion(1001)]);

  assert.is(indicatorOf("only.example").revoked, true);
  assert.equal(labelsOf(indicatorOf("only.example")), [WITHDRAWN_LABEL]);
  assert.is(summary.deletions, 1);
  assert.is(summary.reportsFound, 1);
  assert.is(summary.reportsLabelled, 1);
  assert.is(summary.indicatorsRevoked, 1);
  assert.is(summary.notReceived, 0);
});

t("other report's label is left alone", async () => {
  const live = seed({ threatId: 1002, domains: ["both.example"] });
  seed({ threatId: 1001, domains: ["both.example"] });

  await handler.handle([deletion(1001)]);

  assert.equal(labelsOf(reportOf(live)), []);
});

t("never received threat is counted", async () => {
  seed({ threatId: 1001, domains: ["only.example"] });

  const summary = await handler.handle([deletion(9999)]);

  assert.is(summary.notReceived, 1);
  assert.is(summary.reportsFound, 0);
  assert.ok(
    messages().includes(
      "Withdrawn threat is not in OpenCTI; nothing to change",
    ),
  );
  assert.is(standin.callsOf("LabelAdd").length, 0);
  assert.is(indicatorOf("only.example").revoked, false);
});

t("phish with the same number is not matched", async () => {
  const malware = seed({ threatId: 1001, domains: ["only.example"] });

  const summary = await handler.handle([deletion(1001, "phish")]);

  assert.is(summary.notReceived, 1);
  assert.equal(labelsOf(reportOf(malware)), []);
  assert.is(indicatorOf("only.example").revoked, false);
});

t("report of another source is not matched", async () => {
  const threat = threatObjects({ threatId: 1001, domains: ["only.example"] });
  // A report that cites the same ThreatHQ page under a name of its own.
  const foreign = threat.objects.map((object) =>
    object.type === "report"
      ? {
        ...object,
        id: reportId("Someone else's note", PUBLISHED),
        name: "Someone else's note",
      }
      : object
  );
  standin.knowledge.importObjects(foreign);

  const summary = await handler.handle([deletion(1001)]);

  assert.is(summary.notReceived, 1);
  assert.is(indicatorOf("only.example").revoked, false);
});

t("two withdrawals of one indicator revoke it", async () => {
  seed({ threatId: 1001, domains: ["both.example"] });
  seed({ threatId: 1002, domains: ["both.example"] });

  const summary = await handler.handle([deletion(1001), deletion(1002)]);

  assert.is(summary.reportsFound, 2);
  assert.is(indicatorOf("both.example").revoked, true);
});

t("withdrawal in a later page revokes shared indicator", async () => {
  seed({ threatId: 1001, domains: ["both.example"] });
  seed({ threatId: 1002, domains: ["both.example"] });

  const first = await handler.handle([deletion(1001)]);
  const second = await handler.handle([deletion(1002)]);

  assert.is(first.indicatorsKept, 1);
  assert.is(second.indicatorsRevoked, 1);
  assert.is(indicatorOf("both.example").revoked, true);
});

t("indicator of another author is skipped", async () => {
  seed({
    threatId: 1001,
    domains: ["own.example"],
    foreignDomains: ["foreign.example"],
  });

  const summary = await handler.handle([deletion(1001)]);

  assert.is(indicatorOf("foreign.example").revoked, false);
  assert.equal(labelsOf(indicatorOf("foreign.example")), []);
  assert.is(indicatorOf("own.example").revoked, true);
  assert.is(summary.indicatorsSkipped, 1);
});

t("repeated withdrawal changes nothing", async () => {
  seed({ threatId: 1001, domains: ["only.example"] });

  await handler.handle([deletion(1001)]);
  const edits = standin.calls.filter((call) =>
    call.operationName.startsWith("StixDomainObject")
  ).length;
  const again = await handler.handle([deletion(1001)]);

  assert.is(again.reportsFound, 1);
  assert.is(again.reportsLabelled, 0);
  assert.is(again.indicatorsRevoked, 0);
  assert.is(
    standin.calls.filter((call) =>
      call.operationName.startsWith("StixDomainObject")
    ).length,
    edits,
  );
});

t("existing label is reused", async () => {
  const existing = standin.knowledge.labelNamed(WITHDRAWN_LABEL, "#000000");
  const threat = seed({ threatId: 1001, domains: ["only.example"] });

  await handler.handle([deletion(1001)]);

  assert.is(standin.callsOf("LabelAdd").length, 0);
  assert.equal(reportOf(threat).labels, [existing.id]);
});

t("delete then re-publish restores", async () => {
  const threat = seed({ threatId: 1001, domains: ["only.example"] });
  await handler.handle([deletion(1001)]);
  assert.is(indicatorOf("only.example").revoked, true);

  // The worker upserts the re-published objects: labels stay, and
  // `revoked` stays because the objects do not carry it.
  standin.knowledge.importObjects(threat.objects);
  assert.is(indicatorOf("only.example").revoked, true);
  const summary = await handler.handle([], undefined, [threat]);

  assert.equal(labelsOf(reportOf(threat)), []);
  assert.is(indicatorOf("only.example").revoked, false);
  assert.equal(labelsOf(indicatorOf("only.example")), []);
  assert.is(summary.reportsRestored, 1);
  assert.is(summary.indicatorsRestored, 1);
});

t("re-publish before the worker imports restores", async () => {
  const threat = seed({ threatId: 1001, domains: ["only.example"] });
  await handler.handle([deletion(1001)]);

  const summary = await handler.handle([], undefined, [threat]);

  assert.is(summary.reportsRestored, 1);
  assert.is(indicatorOf("only.example").revoked, false);
});

t("new threat revalidates a revoked indicator", async () => {
  seed({ threatId: 1001, domains: ["shared.example"] });
  await handler.handle([deletion(1001)]);
  assert.is(indicatorOf("shared.example").revoked, true);

  const newcomer = threatObjects({
    threatId: 2002,
    domains: ["shared.example"],
  });
  const summary = await handler.handle([], undefined, [newcomer]);

  assert.is(indicatorOf("shared.example").revoked, false);
  assert.is(summary.indicatorsRestored, 1);
  assert.is(summary.reportsRestored, 0);
});

t("withdrawal and re-publish in one page", async () => {
  seed({ threatId: 1001, domains: ["shared.example"] });
  const earlier = seed({ threatId: 1002, domains: ["other.example"] });
  await handler.handle([deletion(1002)]);

  // Threat 1002 comes back with the indicator of 1001, which goes away.
  const back = threatObjects({
    threatId: 1002,
    domains: ["other.example", "shared.example"],
  });
  await handler.handle([deletion(1001)], undefined, [back]);

  assert.is(indicatorOf("shared.example").revoked, false);
  assert.is(indicatorOf("other.example").revoked, false);
  assert.equal(labelsOf(reportOf(earlier)), []);
});

t("analyst's revocation survives re-publish", async () => {
  const threat = threatObjects({ threatId: 1001, domains: ["kept.example"] });
  standin.knowledge.importObjects(
    threat.objects.map((object) =>
      object.type === "indicator" ? { ...object, revoked: true } : object
    ),
  );

  const withdrawal = await handler.handle([deletion(1001)]);
  await handler.handle([], undefined, [threat]);

  assert.is(withdrawal.indicatorsSkipped, 1);
  assert.is(indicatorOf("kept.example").revoked, true);
  assert.equal(labelsOf(indicatorOf("kept.example")), []);
});

t("re-publish without the label sends one lookup", async () => {
  const threat = seed({ threatId: 1001, domains: ["only.example"] });
  const before = standin.calls.length;

  const summary = await handler.handle([], undefined, [threat]);

  assert.equal(
    standin.calls.slice(before).map((call) => call.operationName),
    ["Labels"],
  );
  assert.is(summary.reportsRestored, 0);
});

t("sent but not imported threat warns", async () => {
  const threat = threatObjects({ threatId: 1001, domains: ["only.example"] });
  await handler.handle([], undefined, [threat]);

  const summary = await handler.handle([deletion(1001)]);

  assert.is(summary.notReceived, 1);
  const warning = logger.records().find((record) => record.level === "WARNING");
  assert.ok(warning, "a warning was logged");
  assert.equal(
    (warning.attributes as Record<string, unknown>).report_id,
    threat.reportId,
  );
});

t("imports are awaited before the lookup", async () => {
  seed({ threatId: 1001, domains: ["only.example"] });
  const lookupsAtWait: number[] = [];
  const waiting = createWithdrawalHandler({
    platform: api,
    logger,
    authorId: AUTHOR_ID,
    connectorName: "Cofense ThreatHQ",
    waitForImports: () => {
      lookupsAtWait.push(standin.callsOf("ExternalReferences").length);
      return Promise.resolve();
    },
  });

  await waiting.handle([deletion(1001)]);
  await waiting.handle([]);

  assert.equal(lookupsAtWait, [0]);
});

t("many deletions are looked up in chunks", async () => {
  const ids = Array.from({ length: 120 }, (_, index) => 5000 + index);
  for (const threatId of ids) {
    seed({ threatId, domains: [`d${threatId}.example`] });
  }

  const summary = await handler.handle(ids.map((id) => deletion(id)));

  assert.is(summary.reportsFound, 120);
  assert.is(summary.indicatorsRevoked, 120);
  assert.is(standin.callsOf("ExternalReferences").length, 2);
});

t("platform failure is thrown", async () => {
  seed({ threatId: 1001, domains: ["only.example"] });
  standin.failNext("StixDomainObjectAddRelation", {
    code: "FUNCTIONAL_ERROR",
    message: "Restricted",
  });

  let failure: unknown;
  try {
    await handler.handle([deletion(1001)]);
  } catch (error) {
    failure = error;
  }

  assert.instance(failure, GraphqlError);
});

t("failure between label and revoke is repaired", async () => {
  const threat = seed({ threatId: 1001, domains: ["only.example"] });
  standin.failNext("StixDomainObjectEdit", {
    code: "FUNCTIONAL_ERROR",
    message: "Lock timeout",
  });

  let failure: unknown;
  try {
    await handler.handle([deletion(1001)]);
  } catch (error) {
    failure = error;
  }
  assert.instance(failure, GraphqlError);
  assert.equal(labelsOf(indicatorOf("only.example")), [WITHDRAWN_LABEL]);
  assert.is(indicatorOf("only.example").revoked, false);

  await handler.handle([deletion(1001)]);
  assert.is(indicatorOf("only.example").revoked, true);

  await handler.handle([], undefined, [threat]);
  assert.is(indicatorOf("only.example").revoked, false);
  assert.equal(labelsOf(indicatorOf("only.example")), []);
});

t("aborted signal stops the handler", async () => {
  seed({ threatId: 1001, domains: ["only.example"] });
  const controller = new AbortController();
  controller.abort(new DOMException("stopping", "AbortError"));

  let failure: unknown;
  try {
    await handler.handle([deletion(1001)], controller.signal);
  } catch (error) {
    failure = error;
  }

  assert.instance(failure, DOMException);
  assert.is(indicatorOf("only.example").revoked, false);
});

t("newest entry per threat is kept", () => {
  const kept = newestPerThreat([
    deletion(1001, "malware", 10),
    deletion(1001, "malware", 30),
    deletion(1001, "phish", 20),
    deletion(1001, "malware", 25),
  ]);

  assert.equal(kept, [
    deletion(1001, "malware", 30),
    deletion(1001, "phish", 20),
  ]);
});

t("handler needs an output", () => {
  assert.throws(
    () =>
      createWithdrawalHandler({
        logger,
        authorId: AUTHOR_ID,
        connectorName: "Cofense ThreatHQ",
      }),
    /needs a platform, an output directory or both/,
  );
});

t("stand-in rejects an unknown filter key", async () => {
  let failure: unknown;
  try {
    await createGraphqlClient({
      url: standin.url,
      token: "standin-token",
      logger: createMemoryLogger(),
    }).request(
      "query Reports($filters: FilterGroup) { reports(filters: $filters) { edges { node { id } } } }",
      {
        filters: {
          mode: "and",
          filters: [{ key: ["nonsense"], values: ["x"] }],
          filterGroups: [],
        },
      },
    );
  } catch (error) {
    failure = error;
  }

  assert.instance(failure, GraphqlError);
  assert.match(String((failure as Error).message), /nonsense/);
});

t.run();
