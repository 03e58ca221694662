import { suite } from "uvu";
import * as assert from "uvu/assert";
import { TLP_LEVELS } from "../../src/config/settings.ts";
import { markingId } from "../../src/stix/ids.ts";
import { TLP_MARKING_IDS, tlpMarking } from "../../src/stix/tlp.ts";
import { markingDefinitionSchema } from "../../src/stix/types.ts";

const t = suite("stix: tlp");

t("ids are OpenCTI's fixed ids", () => {
  assert.is(
    TLP_MARKING_IDS.clear,
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
  );
  assert.is(TLP_MARKING_IDS.white, TLP_MARKING_IDS.clear);
  assert.is(
    TLP_MARKING_IDS.green,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
  );
  assert.is(
    TLP_MARKING_IDS.amber,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
  );
  assert.is(
    TLP_MARKING_IDS["amber+strict"],
    "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
  );
  assert.is(
    TLP_MARKING_IDS.red,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
  );
});

t("ids match markingId", () => {
  for (const level of TLP_LEVELS) {
    const definition = `TLP:${level.toUpperCase()}`;
    assert.is(TLP_MARKING_IDS[level], markingId("TLP", definition), level);
  }
});

t("every marking is valid STIX", () => {
  for (const level of TLP_LEVELS) {
    const result = markingDefinitionSchema.safeParse(tlpMarking(level));
    assert.ok(result.success, `${level}: ${result.error?.message}`);
  }
});

t("green is the STIX constant", () => {
  assert.equal(tlpMarking("green"), {
    type: "marking-definition",
    spec_version: "2.1",
    id: "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    created: "2017-01-20T00:00:00.000Z",
    name: "TLP:GREEN",
    definition_type: "tlp",
    definition: { tlp: "green" },
  });
});

t("amber and red use STIX definitions", () => {
  assert.equal(tlpMarking("amber").definition, { tlp: "amber" });
  assert.is(tlpMarking("amber").name, "TLP:AMBER");
  assert.equal(tlpMarking("red").definition, { tlp: "red" });
  assert.is(tlpMarking("red").name, "TLP:RED");
});

t("white is written as clear", () => {
  const clear = tlpMarking("clear");

  assert.equal(tlpMarking("white"), clear);
  assert.is(clear.name, "TLP:CLEAR");
  assert.equal(clear.definition, { tlp: "white" });
  assert.is(clear.x_opencti_definition_type, "TLP");
  assert.is(clear.x_opencti_definition, "TLP:CLEAR");
});

t("amber+strict uses the statement form", () => {
  const marking = tlpMarking("amber+strict");

  assert.is(marking.definition_type, "statement");
  assert.equal(marking.definition, { statement: "custom" });
  assert.is(marking.x_opencti_definition_type, "TLP");
  assert.is(marking.x_opencti_definition, "TLP:AMBER+STRICT");
});

t("each call returns a new object", () => {
  const first = tlpMarking("green");
  first.definition.tlp = "red";

  assert.equal(tlpMarking("green").definition, { tlp: "green" });
});

t.run();
