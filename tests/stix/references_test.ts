import { suite } from "uvu";
import * as assert from "uvu/assert";
import { danglingReferences } from "../../src/stix/references.ts";
import {
  identityId,
  indicatorId,
  relationshipId,
  reportId,
  scoId,
} from "../../src/stix/ids.ts";
import { TLP_MARKING_IDS, tlpMarking } from "../../src/stix/tlp.ts";
import type {
  Identity,
  Indicator,
  Relationship,
  Report,
  StixObject,
  Url,
} from "../../src/stix/types.ts";

const t = suite("stix: references");

const CREATED = "2022-04-27T16:03:29.064Z";
const GREEN = TLP_MARKING_IDS.green;
const AMBER = TLP_MARKING_IDS.amber;
const MISSING_MALWARE = "malware--00000000-0000-4000-8000-000000000000";

const author: Identity = {
  type: "identity",
  spec_version: "2.1",
  id: identityId("Cofense ThreatHQ", "organization"),
  created: CREATED,
  modified: CREATED,
  name: "Cofense ThreatHQ",
  identity_class: "organization",
};

const url: Url = {
  type: "url",
  spec_version: "2.1",
  id: scoId("url", { value: "http://example.com" }),
  value: "http://example.com",
  object_marking_refs: [GREEN],
  x_opencti_created_by_ref: author.id,
};

const pattern = "[url:value = 'http://example.com']";
const indicator: Indicator = {
  type: "indicator",
  spec_version: "2.1",
  id: indicatorId(pattern),
  created: CREATED,
  modified: CREATED,
  created_by_ref: author.id,
  pattern,
  pattern_type: "stix",
  valid_from: CREATED,
  object_marking_refs: [GREEN],
};

const basedOn: Relationship = {
  type: "relationship",
  spec_version: "2.1",
  id: relationshipId("based-on", indicator.id, url.id),
  created: CREATED,
  modified: CREATED,
  relationship_type: "based-on",
  source_ref: indicator.id,
  target_ref: url.id,
  created_by_ref: author.id,
};

const report: Report = {
  type: "report",
  spec_version: "2.1",
  id: reportId("1 - Test", CREATED),
  created: CREATED,
  modified: CREATED,
  name: "1 - Test",
  published: CREATED,
  object_refs: [url.id, indicator.id, basedOn.id],
  created_by_ref: author.id,
  object_marking_refs: [GREEN],
  x_opencti_files: [
    {
      name: "Report-1.pdf",
      data: "JVBERg==",
      mime_type: "application/pdf",
      object_marking_refs: [GREEN],
      no_trigger_import: true,
    },
  ],
};

const consistent: StixObject[] = [
  author,
  tlpMarking("green"),
  url,
  indicator,
  basedOn,
  report,
];

t("consistent list has none", () => {
  assert.equal(danglingReferences(consistent), []);
});

t("empty list has none", () => {
  assert.equal(danglingReferences([]), []);
});

t("missing author and marking", () => {
  const dangling = danglingReferences([url, indicator]);

  assert.equal(dangling, [
    { from: url.id, property: "object_marking_refs", ref: GREEN },
    { from: url.id, property: "x_opencti_created_by_ref", ref: author.id },
    { from: indicator.id, property: "created_by_ref", ref: author.id },
    { from: indicator.id, property: "object_marking_refs", ref: GREEN },
  ]);
});

t("relationship source and target", () => {
  const toMalware = { ...basedOn, target_ref: MISSING_MALWARE };
  const dangling = danglingReferences([author, toMalware]);

  assert.equal(dangling, [
    { from: basedOn.id, property: "source_ref", ref: indicator.id },
    { from: basedOn.id, property: "target_ref", ref: MISSING_MALWARE },
  ]);
});

t("report object_refs", () => {
  const withMissing = { ...report, object_refs: [url.id, MISSING_MALWARE] };
  const dangling = danglingReferences([
    author,
    tlpMarking("green"),
    url,
    withMissing,
  ]);

  assert.equal(dangling, [
    { from: report.id, property: "object_refs", ref: MISSING_MALWARE },
  ]);
});

t("file markings inside x_opencti_files", () => {
  const [pdf] = report.x_opencti_files!;
  const amberFile = {
    ...report,
    x_opencti_files: [pdf, { ...pdf, object_marking_refs: [AMBER] }],
  };
  const dangling = danglingReferences([...consistent.slice(0, 5), amberFile]);

  assert.equal(dangling, [
    {
      from: report.id,
      property: "x_opencti_files[1].object_marking_refs",
      ref: AMBER,
    },
  ]);
});

t("references in external references", () => {
  const withReferenceFile: Report = {
    ...report,
    external_references: [
      {
        source_name: "Cofense ThreatHQ",
        url: "https://example.com/1",
        x_opencti_files: [{
          ...report.x_opencti_files![0],
          object_marking_refs: [AMBER],
        }],
      },
    ],
  };
  const dangling = danglingReferences([
    ...consistent.slice(0, 5),
    withReferenceFile,
  ]);

  assert.equal(dangling, [
    {
      from: report.id,
      property: "external_references[0].x_opencti_files[0].object_marking_refs",
      ref: AMBER,
    },
  ]);
});

t("each missing occurrence is listed", () => {
  const twice = { ...report, object_refs: [MISSING_MALWARE, MISSING_MALWARE] };
  const dangling = danglingReferences([author, tlpMarking("green"), twice]);

  assert.is(dangling.length, 2);
  assert.ok(dangling.every((entry) => entry.ref === MISSING_MALWARE));
});

t.run();
