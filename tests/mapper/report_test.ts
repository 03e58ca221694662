import { suite } from "uvu";
import * as assert from "uvu/assert";
import { identityId, isoMillis, reportId } from "../../src/stix/ids.ts";
import { loadFixture, mapOk, reportOf } from "./mapping_helpers.ts";

const t = suite("mapper: report");

const FIRST = 1714567890123;
const LAST = 1714654290456;

t("name is id and summary", () => {
  const report = reportOf(mapOk(loadFixture("full-malware")));

  assert.is(
    report.name,
    "900001 - Invoice-themed emails | deliver ExampleLoader\nthrough a macro document.",
  );
});

t("name falls back to the label", () => {
  const report = reportOf(mapOk(loadFixture("credential-phishing")));

  assert.is(report.name, "900006 - Mailbox Quota - CREDENTIAL phishing");
});

t("name without summary or label", () => {
  const report = reportOf(mapOk(loadFixture("sparse")));

  assert.is(report.name, "Cofense ThreatHQ threat 900007");
});

t("blank summary counts as missing", () => {
  const raw = { ...loadFixture("full-malware"), executiveSummary: "  \n" };

  assert.is(reportOf(mapOk(raw)).name, "900001 - Invoice - ExampleLoader");
});

t("id comes from the stable name", () => {
  const mapped = mapOk(loadFixture("full-malware"));
  const expected = reportId(
    "Cofense ThreatHQ malware 900001",
    isoMillis(FIRST),
  );

  assert.is(mapped.stableName, "Cofense ThreatHQ malware 900001");
  assert.is(mapped.reportId, expected);
  assert.is(reportOf(mapped).id, expected);
});

t("id survives an edited summary and label", () => {
  const original = mapOk(loadFixture("full-malware"));
  const edited = mapOk({
    ...loadFixture("full-malware"),
    executiveSummary: "Rewritten by an analyst.",
    label: "Invoice - ExampleLoader v2",
    lastPublished: LAST + 86_400_000,
  });

  assert.is.not(reportOf(edited).name, reportOf(original).name);
  assert.is(edited.reportId, original.reportId);
});

t("threat fields of the result", () => {
  const mapped = mapOk(loadFixture("full-malware"));

  assert.is(mapped.threatType, "malware");
  assert.is(mapped.threatId, 900001);
});

t("published is firstPublished", () => {
  const report = reportOf(mapOk(loadFixture("full-malware")));

  assert.is(report.published, "2024-05-01T12:51:30.123Z");
  assert.is(report.created, "2024-05-01T12:51:30.123Z");
  assert.is(report.modified, "2024-05-02T12:51:30.456Z");
});

t("published falls back to lastPublished", () => {
  const report = reportOf(mapOk(loadFixture("sparse")));

  assert.is(report.published, isoMillis(1719792000000));
  assert.is(report.created, report.published);
  assert.is(report.modified, report.published);
});

t("published falls back to the changelog time", () => {
  const changelogTime = 1720000000000;
  const mapped = mapOk(loadFixture("no-dates"), {}, { changelogTime });
  const report = reportOf(mapped);

  assert.is(report.published, isoMillis(changelogTime));
  assert.is(
    mapped.reportId,
    reportId("Cofense ThreatHQ malware 900008", isoMillis(changelogTime)),
  );
});

t("first and last beat the changelog time", () => {
  const report = reportOf(
    mapOk(loadFixture("full-malware"), {}, { changelogTime: 1 }),
  );

  assert.is(report.published, isoMillis(FIRST));
});

t("no date at all is rejected", async () => {
  const { mapMalwareThreat } = await import("../../src/mapper/map_threat.ts");
  const result = mapMalwareThreat(loadFixture("no-dates"), {
    tlp: "amber+strict",
    impactToExclude: [],
    promoteIndicators: true,
  });

  assert.is(result.ok, false);
  if (result.ok) return;
  assert.is(result.problems[0].threatId, "900008");
  assert.match(result.problems[0].reason, "published date");
});

t("modified never precedes created", () => {
  const noLast = reportOf(mapOk(loadFixture("credential-phishing")));
  assert.is(noLast.created, isoMillis(1717200000000));
  assert.is(noLast.modified, noLast.created);

  const earlierLast = reportOf(mapOk({
    ...loadFixture("full-malware"),
    lastPublished: FIRST - 1000,
  }));
  assert.is(earlierLast.created, isoMillis(FIRST));
  assert.is(earlierLast.modified, isoMillis(FIRST));
});

t("credential phishing in any case", () => {
  const phishing = reportOf(mapOk(loadFixture("credential-phishing")));
  const campaign = reportOf(mapOk(loadFixture("full-malware")));
  const titled = reportOf(mapOk({
    ...loadFixture("full-malware"),
    label: "Credential Phishing - Example Mail",
  }));

  assert.equal(phishing.report_types, ["Credential Phishing"]);
  assert.equal(titled.report_types, ["Credential Phishing"]);
  assert.equal(campaign.report_types, ["Malware Campaign"]);
});

t("labels deduplicated without regard to case", () => {
  const report = reportOf(mapOk(loadFixture("full-malware")));

  assert.equal(report.labels, [
    "ExampleLoader",
    "SampleStealer",
    "OfficeMacro",
    "JSDropper",
    "Payload",
    "InfURL",
    "C2",
    "IDinfo",
    "Attachment",
    "Download",
  ]);

  const odd = reportOf(mapOk(loadFixture("odd-shapes")));
  assert.equal(odd.labels, ["SampleStealer", "C2"]);
});

t("external reference to the threat page", () => {
  const report = reportOf(mapOk(loadFixture("full-malware")));

  assert.equal(report.external_references, [{
    source_name: "Cofense ThreatHQ",
    external_id: "900001",
    url: "https://www.threathq.com/p42/search/default?m=900001",
    description: "Invoice - ExampleLoader",
  }]);
});

t("object_refs lists every made object", () => {
  const mapped = mapOk(loadFixture("full-malware"));
  const report = reportOf(mapped);
  const made = mapped.objects
    .filter((object) =>
      object.type !== "marking-definition" && object.type !== "report" &&
      object.id !== identityId("Cofense ThreatHQ", "organization")
    )
    .map((object) => object.id);

  // 31 observables, indicators, relationships and sectors from the blocks,
  // files and subjects, plus 13 from families and the IP lookup.
  assert.equal([...report.object_refs].sort(), [...made].sort());
  assert.is(report.object_refs.length, 44);
});

t("empty threat cites the author", () => {
  const report = reportOf(mapOk(loadFixture("sparse")));

  assert.equal(report.object_refs, [
    identityId("Cofense ThreatHQ", "organization"),
  ]);
});

t("attachments become x_opencti_files", () => {
  const data = new TextEncoder().encode("%PDF-1.4 example\n");
  const report = reportOf(mapOk(loadFixture("full-malware"), {
    tlp: "green",
  }, {
    attachments: [{ name: "900001.pdf", mimeType: "application/pdf", data }],
  }));

  assert.equal(report.x_opencti_files, [{
    name: "900001.pdf",
    mime_type: "application/pdf",
    data: "JVBERi0xLjQgZXhhbXBsZQo=",
    object_marking_refs: [
      "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    ],
    no_trigger_import: false,
  }]);
});

t("no attachments, no x_opencti_files", () => {
  const report = reportOf(mapOk(loadFixture("full-malware")));

  assert.not.ok("x_opencti_files" in report);
});

t.run();
