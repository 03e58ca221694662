import { suite } from "uvu";
import * as assert from "uvu/assert";
import { mergeObjects } from "../../src/mapper/merge_objects.ts";
import { bundleSchema } from "../../src/stix/types.ts";
import { makeBundle } from "../../src/stix/bundle.ts";
import { findOne, loadFixture, mapOk, ofType } from "./mapping_helpers.ts";

const t = suite("mapper: merge objects");

t("shared objects appear once", () => {
  const first = mapOk(loadFixture("full-malware"));
  const second = mapOk(loadFixture("impacts"));
  const merged = mergeObjects([...first.objects, ...second.objects]);
  const ids = merged.map((object) => object.id);

  assert.is(new Set(ids).size, ids.length);
  assert.is(ofType(merged, "marking-definition").length, 1);
  assert.is(ofType(merged, "report").length, 2);
  assert.ok(bundleSchema.safeParse(makeBundle(merged)).success);
});

t("same threat twice gives one report", () => {
  const a = mapOk(loadFixture("full-malware"));
  const b = mapOk({
    ...loadFixture("full-malware"),
    blockSet: [{
      blockType: "Domain Name",
      impact: "Minor",
      role: "Extra",
      data: "extra.example.com",
    }],
  });
  const merged = mergeObjects([...a.objects, ...b.objects]);
  const report = findOne(merged, "report");

  assert.ok(report.object_refs.length > a.objects.length - 3);
  for (const object of ofType(merged, "domain-name")) {
    assert.ok(report.object_refs.includes(object.id), object.value);
  }
  assert.ok(report.labels?.includes("Extra"));
});

t("observable of two threats keeps both", () => {
  const value = "shared.example.com";
  const block = (impact: string, role: string) => ({
    blockType: "Domain Name",
    impact,
    role,
    data: value,
  });
  const a = mapOk({
    ...loadFixture("impacts"),
    blockSet: [block("Minor", "C2")],
  });
  const b = mapOk({
    ...loadFixture("full-malware"),
    blockSet: [block("Major", "Payload")],
  });
  const merged = mergeObjects([...a.objects, ...b.objects]);
  const domain = findOne(merged, "domain-name");

  assert.equal(domain.x_opencti_labels, ["C2", "Payload"]);
  assert.is(domain.x_opencti_score, 100);
  assert.equal(
    domain.x_opencti_external_references?.map((reference) =>
      reference.external_id
    ),
    ["900003", "900001"],
  );
});

t.run();
