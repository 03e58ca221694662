import { suite } from "uvu";
import * as assert from "uvu/assert";
import { AUTHOR_ID } from "../../src/mapper/author.ts";
import { findCveIds } from "../../src/mapper/vulnerabilities.ts";
import { malwareId, vulnerabilityId } from "../../src/stix/ids.ts";
import type { StixObject } from "../../src/stix/types.ts";
import {
  findOne,
  loadFixture,
  mapOk,
  ofType,
  reportOf,
} from "./mapping_helpers.ts";

const t = suite("mapper: vulnerabilities");

const LOADER_ID = malwareId("ExampleLoader");

const BASE = {
  id: 940000,
  threatType: "MALWARE",
  firstPublished: 1718400000000,
};

function names(objects: readonly StixObject[]): string[] {
  return ofType(objects, "vulnerability").map((object) => object.name);
}

function exploited(objects: readonly StixObject[]): string[] {
  return ofType(objects, "relationship")
    .filter((relationship) => relationship.relationship_type === "exploits")
    .map((relationship) => {
      assert.is(relationship.source_ref, LOADER_ID);
      return findOne(
        objects,
        "vulnerability",
        (object) => object.id === relationship.target_ref,
      ).name;
    });
}

t("valid forms in any case", () => {
  assert.equal(findCveIds("see cve-2017-11882 and CVE-2021-44228."), [
    "CVE-2017-11882",
    "CVE-2021-44228",
  ]);
  assert.equal(findCveIds("Cve-1999-0001 (first year)"), ["CVE-1999-0001"]);
  assert.equal(findCveIds("CVE-2024-1234567"), ["CVE-2024-1234567"]);
  assert.equal(findCveIds("(CVE-2020-0796),CVE-2020-0796"), [
    "CVE-2020-0796",
  ]);
  assert.equal(findCveIds("tab\tCVE-2019-0708\r\n"), ["CVE-2019-0708"]);
});

t("invalid forms ignored", () => {
  const invalid = [
    "CVE-1998-0001",
    "CVE-2021-123",
    "XCVE-2020-1234",
    "CVE-2020-12345a",
    "CVE-20210-1234",
    "CVE 2020 1234",
    "CVE_2020_1234",
    "CVE-2020-",
    "",
  ];

  for (const text of invalid) {
    assert.equal(findCveIds(text), [], text);
  }
  assert.equal(findCveIds(undefined), []);
});

t("every source field is read", () => {
  const { objects } = mapOk(loadFixture("vulnerabilities"));

  assert.equal(names(objects), [
    "CVE-2017-11882",
    "CVE-2018-0802",
    "CVE-2021-40444",
    "CVE-2024-21412",
    "CVE-2022-30190",
    "CVE-2019-0708",
    "CVE-2020-0796",
    "CVE-2023-36884",
  ]);
});

t("each source alone", () => {
  const sources: Array<[string, Record<string, unknown>]> = [
    ["label", { label: "CVE-2001-0001" }],
    ["summary", { executiveSummary: "CVE-2001-0001" }],
    ["family", {
      malwareFamilySet: [{ familyName: "X", description: "CVE-2001-0001" }],
    }],
    ["mechanism", {
      deliveryMechanisms: [{
        mechanismName: "M",
        description: "CVE-2001-0001",
      }],
    }],
    ["role", {
      blockSet: [{ blockType: "Email", roleDescription: "CVE-2001-0001" }],
    }],
    ["subtype", {
      executableSet: [{
        fileName: "a.doc",
        executableSubtype: { description: "CVE-2001-0001" },
      }],
    }],
    ["string", { extractedStringSet: [{ data: "CVE-2001-0001" }] }],
  ];

  for (const [source, fields] of sources) {
    const { objects } = mapOk({ ...BASE, ...fields });
    assert.equal(names(objects), ["CVE-2001-0001"], source);
  }
});

t("vulnerability in full", () => {
  const { objects } = mapOk(loadFixture("vulnerabilities"));
  const vulnerability = findOne(
    objects,
    "vulnerability",
    (object) => object.name === "CVE-2017-11882",
  );

  assert.equal(vulnerability, {
    type: "vulnerability",
    spec_version: "2.1",
    id: vulnerabilityId("CVE-2017-11882"),
    created: "2020-01-01T00:00:00.000Z",
    modified: "2020-01-01T00:00:00.000Z",
    name: "CVE-2017-11882",
    created_by_ref: AUTHOR_ID,
    object_marking_refs: [
      "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
    ],
    external_references: [{
      source_name: "cve",
      external_id: "CVE-2017-11882",
      url: "https://www.cve.org/CVERecord?id=CVE-2017-11882",
    }],
  });
});

t("exploits only where one item names both", () => {
  const { objects } = mapOk(loadFixture("vulnerabilities"));

  // The summary's, the label's and the file without a family's CVEs are
  // not tied to a family by one block or file.
  assert.equal(exploited(objects), [
    "CVE-2022-30190",
    "CVE-2021-40444",
    "CVE-2020-0796",
    "CVE-2023-36884",
  ]);
});

t("only family does not stand in for exploits", () => {
  const { objects } = mapOk({
    ...BASE,
    malwareFamilySet: [{ familyName: "ExampleLoader" }],
    blockSet: [{
      blockType: "Domain Name",
      data: "c2.example.com",
      roleDescription: "Reached through CVE-2019-0708",
    }],
  });

  assert.equal(names(objects), ["CVE-2019-0708"]);
  assert.equal(exploited(objects), []);
});

t("excluded items add nothing", () => {
  const { objects } = mapOk(loadFixture("vulnerabilities"), {
    impactToExclude: ["Minor"],
  });

  assert.not.ok(names(objects).includes("CVE-2020-0796"));
  assert.not.ok(exploited(objects).includes("CVE-2020-0796"));
});

t("report references vulnerabilities", () => {
  const mapped = mapOk(loadFixture("vulnerabilities"));
  const refs = new Set(reportOf(mapped).object_refs);

  for (const object of ofType(mapped.objects, "vulnerability")) {
    assert.ok(refs.has(object.id), object.name);
  }
});

t.run();
