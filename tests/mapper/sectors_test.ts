import { suite } from "uvu";
import * as assert from "uvu/assert";
import { splitSectorNames } from "../../src/mapper/sector_names.ts";
import { identityId } from "../../src/stix/ids.ts";
import { loadFixture, mapOk, ofType, reportOf } from "./mapping_helpers.ts";

const t = suite("mapper: sectors");

t("split on commas and ' and '", () => {
  assert.equal(splitSectorNames("Finance and Insurance"), [
    "Finance",
    "Insurance",
  ]);
  assert.equal(
    splitSectorNames("Agriculture, Forestry, Fishing and Hunting"),
    ["Agriculture", "Forestry", "Fishing", "Hunting"],
  );
});

t("parentheses keep a name whole", () => {
  assert.equal(splitSectorNames("Mining (except Oil and Gas)"), [
    "Mining (except Oil and Gas)",
  ]);
  assert.equal(
    splitSectorNames("Food (Bakeries, Tortillas and Pasta) and Retail"),
    ["Food (Bakeries, Tortillas and Pasta)", "Retail"],
  );
});

t("blank parts are dropped", () => {
  assert.equal(splitSectorNames(""), []);
  assert.equal(splitSectorNames(" , and "), []);
  assert.equal(splitSectorNames("Utilities,"), ["Utilities"]);
});

t("'and' inside a word is no separator", () => {
  assert.equal(splitSectorNames("Sandwich Shops"), ["Sandwich Shops"]);
  assert.equal(splitSectorNames("Land Surveying"), ["Land Surveying"]);
});

t("each sector is a class identity", () => {
  const mapped = mapOk(loadFixture("full-malware"));
  const sectors = ofType(mapped.objects, "identity")
    .filter((identity) => identity.identity_class === "class");

  assert.equal(sectors.map((sector) => sector.name), [
    "Mining (except Oil and Gas)",
    "Finance",
    "Insurance",
    "Agriculture",
    "Forestry",
    "Fishing",
    "Hunting",
  ]);
  for (const sector of sectors) {
    assert.is(sector.id, identityId(sector.name, "class"));
    assert.ok(reportOf(mapped).object_refs.includes(sector.id), sector.name);
  }
});

t("repeated sector made once", () => {
  const mapped = mapOk({
    ...loadFixture("full-malware"),
    naicsCodes: [{ label: "Finance" }, { label: "finance and Insurance" }],
  });
  const sectors = ofType(mapped.objects, "identity")
    .filter((identity) => identity.identity_class === "class");

  assert.equal(sectors.map((sector) => sector.name), ["Finance", "Insurance"]);
});

t.run();
