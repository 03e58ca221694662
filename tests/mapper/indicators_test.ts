import { suite } from "uvu";
import * as assert from "uvu/assert";
import { identityId, indicatorId, relationshipId } from "../../src/stix/ids.ts";
import { findOne, loadFixture, mapOk, ofType } from "./mapping_helpers.ts";

const t = suite("mapper: indicators");

t("one per observable except subjects", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  const indicators = ofType(objects, "indicator");

  assert.is(indicators.length, 7);
  assert.not.ok(
    indicators.some((indicator) => indicator.pattern.includes("email-message")),
  );
});

t("impact None never becomes an indicator", () => {
  const { objects } = mapOk(loadFixture("impacts"));
  const names = ofType(objects, "indicator").map((indicator) => indicator.name);

  assert.not.ok(names.includes("connectivity-check.example.net"));
  assert.not.ok(names.includes("203.0.113.8"));
  assert.not.ok(names.includes("none.dll"));
  assert.ok(names.includes("minor.example.com"));
});

t("missing impact counts as Major", () => {
  const { objects } = mapOk(loadFixture("impacts"));
  const noImpact = findOne(
    objects,
    "indicator",
    (indicator) => indicator.name === "no-impact.example.com",
  );
  const noSeverity = findOne(
    objects,
    "indicator",
    (indicator) => indicator.name === "no-severity.js",
  );

  assert.is(noImpact.x_opencti_score, 100);
  assert.is(noSeverity.x_opencti_score, 100);
});

t("url indicator in full", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  const pattern =
    "[url:value = 'http://payload.example.com/files/inv.bin?id=7']";
  const indicator = findOne(
    objects,
    "indicator",
    (object) => object.pattern === pattern,
  );

  assert.equal(indicator, {
    type: "indicator",
    spec_version: "2.1",
    id: indicatorId(pattern),
    created: "2024-05-01T12:51:30.123Z",
    modified: "2024-05-02T12:51:30.456Z",
    name: "http://payload.example.com/files/inv.bin?id=7",
    description: "Location from which a payload is obtained",
    pattern,
    pattern_type: "stix",
    valid_from: "2024-05-02T12:51:30.456Z",
    labels: ["ExampleLoader", "Payload"],
    created_by_ref: identityId("Cofense ThreatHQ", "organization"),
    object_marking_refs: [
      "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
    ],
    external_references: [{
      source_name: "Cofense ThreatHQ",
      external_id: "900001",
      url: "https://www.threathq.com/p42/search/default?m=900001",
      description: "Invoice - ExampleLoader",
    }],
    x_opencti_main_observable_type: "Url",
    x_opencti_score: 100,
  });
});

t("patterns escape quotes and backslashes", () => {
  const { objects } = mapOk({
    ...loadFixture("full-malware"),
    blockSet: [{
      blockType: "URL",
      impact: "Major",
      data: "http://example.com/a\\b'c",
    }],
    executableSet: [{ fileName: "it's.exe", severityLevel: "Major" }],
  });
  const patterns = ofType(objects, "indicator").map((object) => object.pattern);

  assert.equal(patterns, [
    "[url:value = 'http://example.com/a\\\\b\\'c']",
    "[file:name = 'it\\'s.exe']",
  ]);
  assert.is(
    indicatorId(patterns[1]),
    "indicator--f69ac75c-06aa-5415-9a90-9dab40101ebc",
  );
});

t("main observable type per kind", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  const types = ofType(objects, "indicator")
    .map((indicator) => indicator.x_opencti_main_observable_type);

  assert.equal(types, [
    "Url",
    "Url",
    "Domain-Name",
    "IPv4-Addr",
    "Email-Addr",
    "StixFile",
    "StixFile",
  ]);
});

t("file indicator matches its hashes", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  const indicator = findOne(
    objects,
    "indicator",
    (object) => object.name === "loader.exe",
  );

  assert.is(
    indicator.pattern,
    "[file:hashes.'SHA-256' = 'FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210' OR file:hashes.'MD5' = 'fedcba9876543210fedcba9876543210']",
  );
});

t("valid_from is lastPublished", () => {
  const { objects } = mapOk(loadFixture("full-malware"));

  for (const indicator of ofType(objects, "indicator")) {
    assert.is(indicator.valid_from, "2024-05-02T12:51:30.456Z");
  }
});

t("valid_from falls back to firstPublished", () => {
  const { objects } = mapOk(loadFixture("credential-phishing"));
  const indicator = findOne(objects, "indicator");

  assert.is(indicator.valid_from, "2024-06-01T00:00:00.000Z");
});

/** Lists the `based-on` relationships among the objects. */
function basedOnLinks(objects: ReturnType<typeof mapOk>["objects"]) {
  return ofType(objects, "relationship").filter((relationship) =>
    relationship.relationship_type === "based-on"
  );
}

t("based-on links indicator to observable", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  const ids = new Set(objects.map((object) => object.id));
  const relationships = basedOnLinks(objects);

  assert.is(relationships.length, ofType(objects, "indicator").length);
  for (const relationship of relationships) {
    assert.is(relationship.relationship_type, "based-on");
    assert.ok(relationship.source_ref.startsWith("indicator--"));
    assert.ok(ids.has(relationship.target_ref), relationship.target_ref);
    assert.is(
      relationship.id,
      relationshipId(
        "based-on",
        relationship.source_ref,
        relationship.target_ref,
      ),
    );
  }
});

t("indicator labels are the observable's", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  for (const relationship of basedOnLinks(objects)) {
    const indicator = findOne(
      objects,
      "indicator",
      (object) => object.id === relationship.source_ref,
    );
    const observable = objects.find((object) =>
      object.id === relationship.target_ref
    ) as { x_opencti_labels?: string[]; x_opencti_score?: number };

    assert.equal(indicator.labels, observable.x_opencti_labels);
    assert.is(indicator.x_opencti_score, observable.x_opencti_score);
  }
});

t("promotion off makes no indicators", () => {
  const { objects } = mapOk(loadFixture("full-malware"), {
    promoteIndicators: false,
  });

  const types = ofType(objects, "relationship").map((relationship) =>
    relationship.relationship_type
  );

  assert.is(ofType(objects, "indicator").length, 0);
  assert.not.ok(types.includes("based-on"));
  assert.not.ok(types.includes("indicates"));
  assert.ok(types.includes("related-to"));
  assert.is(ofType(objects, "url").length, 2);
});

t.run();
