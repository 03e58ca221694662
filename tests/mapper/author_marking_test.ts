import { suite } from "uvu";
import * as assert from "uvu/assert";
import { TLP_LEVELS } from "../../src/config/settings.ts";
import { identityId } from "../../src/stix/ids.ts";
import { TLP_MARKING_IDS } from "../../src/stix/tlp.ts";
import { findOne, loadFixture, mapOk } from "./mapping_helpers.ts";

const t = suite("mapper: author and marking");

t("author is Cofense ThreatHQ, a vendor", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  const author = findOne(
    objects,
    "identity",
    (identity) => identity.identity_class === "organization",
  );

  assert.is(author.id, identityId("Cofense ThreatHQ", "organization"));
  assert.is(author.id, "identity--d642e74a-162c-5407-be91-0e45a7d2c604");
  assert.is(author.name, "Cofense ThreatHQ");
  assert.is(author.x_opencti_organization_type, "vendor");
  assert.ok((author.description ?? "").length > 20);
  assert.is(author.external_references?.[0].source_name, "Cofense ThreatHQ");
  assert.is(
    author.external_references?.[0].url,
    "https://www.threathq.com/",
  );
});

t("every level marks every object", () => {
  for (const tlp of TLP_LEVELS) {
    const { objects } = mapOk(loadFixture("full-malware"), { tlp });
    const marking = findOne(objects, "marking-definition");

    assert.is(marking.id, TLP_MARKING_IDS[tlp], tlp);
    for (const object of objects) {
      if (object.type === "marking-definition") continue;
      assert.equal(object.object_marking_refs, [marking.id], object.id);
    }
  }
});

t("amber+strict as OpenCTI writes it", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  const marking = findOne(objects, "marking-definition");

  assert.is(
    marking.id,
    "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
  );
  assert.is(marking.definition_type, "statement");
  assert.equal(marking.definition, { statement: "custom" });
  assert.is(marking.x_opencti_definition_type, "TLP");
  assert.is(marking.x_opencti_definition, "TLP:AMBER+STRICT");
});

t("author on every object that allows it", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  const authorId = identityId("Cofense ThreatHQ", "organization");

  for (const object of objects) {
    const properties = object as Record<string, unknown>;
    if (object.type === "marking-definition" || object.id === authorId) {
      continue;
    }
    const author = properties.created_by_ref ??
      properties.x_opencti_created_by_ref;
    assert.is(author, authorId, object.id);
    assert.not.ok("x_opencti_created_by" in properties, object.id);
  }
});

t.run();
