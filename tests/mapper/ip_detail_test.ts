import { suite } from "uvu";
import * as assert from "uvu/assert";
import { AUTHOR_ID } from "../../src/mapper/author.ts";
import { isNonPublicIpv4 } from "../../src/mapper/ip_detail.ts";
import { locationId, scoId } from "../../src/stix/ids.ts";
import { danglingReferences } from "../../src/stix/references.ts";
import type { StixObject } from "../../src/stix/types.ts";
import {
  findOne,
  loadFixture,
  mapOk,
  ofType,
  valuesOf,
} from "./mapping_helpers.ts";

const t = suite("mapper: ip detail");

const MAPPED = mapOk(loadFixture("ip-details"));

const BASE = {
  id: 930000,
  threatType: "MALWARE",
  firstPublished: 1718000000000,
};

const ipId = (value: string) => scoId("ipv4-addr", { value });
const domainId = (value: string) => scoId("domain-name", { value });
const asId = (number: number) => scoId("autonomous-system", { number });

/** Returns whether a relationship of this type joins the two ids. */
function linked(
  objects: readonly StixObject[],
  source: string,
  type: string,
  target: string,
): boolean {
  return ofType(objects, "relationship").some((relationship) =>
    relationship.source_ref === source &&
    relationship.relationship_type === type &&
    relationship.target_ref === target
  );
}

function problemsAt(field: string) {
  return MAPPED.problems.filter((problem) => problem.field === field);
}

t("autonomous system in full", () => {
  const system = findOne(
    MAPPED.objects,
    "autonomous-system",
    (object) => object.number === 64501,
  );

  assert.equal(system, {
    type: "autonomous-system",
    spec_version: "2.1",
    id: asId(64501),
    number: 64501,
    name: "Example Transit",
    object_marking_refs: [
      "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
    ],
    x_opencti_created_by_ref: AUTHOR_ID,
  });
});

t("country in full", () => {
  const country = findOne(
    MAPPED.objects,
    "location",
    (object) => object.name === "Germany",
  );

  assert.equal(country, {
    type: "location",
    spec_version: "2.1",
    id: locationId("Germany", "Country"),
    created: "2020-01-01T00:00:00.000Z",
    modified: "2020-01-01T00:00:00.000Z",
    name: "Germany",
    country: "DE",
    x_opencti_location_type: "Country",
    created_by_ref: AUTHOR_ID,
    object_marking_refs: [
      "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
    ],
  });
});

t("IPv4 block: belongs-to and located-at", () => {
  const address = ipId("198.51.100.50");

  assert.ok(
    linked(MAPPED.objects, address, "belongs-to", asId(64503)),
  );
  assert.ok(
    linked(
      MAPPED.objects,
      address,
      "located-at",
      locationId("Netherlands", "Country"),
    ),
  );
});

t("blank organization: AS without name", () => {
  const system = findOne(
    MAPPED.objects,
    "autonomous-system",
    (object) => object.number === 64503,
  );

  assert.not.ok("name" in system);
});

t("domain resolves to the looked-up address", () => {
  assert.ok(
    linked(
      MAPPED.objects,
      domainId("cdn.example.net"),
      "resolves-to",
      ipId("203.0.113.20"),
    ),
  );
});

t("non-public resolved addresses are skipped", () => {
  const mapped = mapOk({
    ...BASE,
    blockSet: [{
      blockType: "Domain Name",
      impact: "Major",
      data_1: "lookup.example.net",
      ipDetail: {
        ip: "127.0.0.1",
        asn: 64500,
        countryIsoCode: "US",
        countryName: "United States",
      },
    }],
  });

  assert.is(ofType(mapped.objects, "ipv4-addr").length, 0);
  assert.is(ofType(mapped.objects, "autonomous-system").length, 0);
  assert.is(ofType(mapped.objects, "location").length, 0);
  const problem = mapped.problems.find((p) => p.field.endsWith("ipDetail.ip"));
  assert.ok(problem, "no problem names the skipped address");
  assert.match(problem.reason, "loopback, private or reserved");
});

t("non-public address ranges", () => {
  const nonPublic = [
    "0.0.0.0",
    "10.1.2.3",
    "100.64.0.1",
    "127.0.0.1",
    "169.254.1.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "224.0.0.1",
    "255.255.255.255",
  ];
  for (const ip of nonPublic) assert.ok(isNonPublicIpv4(ip), ip);

  const routable = ["8.8.8.8", "172.32.0.1", "100.128.0.1", "203.0.113.20"];
  for (const ip of routable) assert.not.ok(isNonPublicIpv4(ip), ip);
});

t("URL host resolves to the address", () => {
  const host = findOne(
    MAPPED.objects,
    "domain-name",
    (domain) => domain.value === "dl.example.com",
  );

  assert.ok(
    linked(MAPPED.objects, host.id, "resolves-to", ipId("203.0.113.20")),
  );
  assert.is(host.x_opencti_score, undefined);
});

t("URL with an IP host: related-to", () => {
  const url = scoId("url", { value: "http://198.51.100.40/gate.php" });

  assert.ok(
    linked(MAPPED.objects, url, "related-to", ipId("198.51.100.40")),
  );
  assert.not.ok(
    valuesOf(MAPPED.objects, "domain-name").includes(
      "198.51.100.40",
    ),
  );
});

t("AS number as a decimal string", () => {
  assert.ok(
    linked(
      MAPPED.objects,
      ipId("198.51.100.40"),
      "belongs-to",
      asId(64502),
    ),
  );
});

t("country code upper-cased", () => {
  const codes = ofType(MAPPED.objects, "location").map((location) =>
    location.country
  );

  assert.equal(codes, ["DE", "FR", "NL"]);
});

t("resolved addresses never scored nor promoted", () => {
  const unjudged = ["203.0.113.99", "203.0.113.60"];
  const indicators = ofType(MAPPED.objects, "indicator").map((indicator) =>
    indicator.name
  );

  for (const value of unjudged) {
    const address = findOne(
      MAPPED.objects,
      "ipv4-addr",
      (ip) => ip.value === value,
    );
    assert.is(address.x_opencti_score, undefined, value);
    assert.not.ok(indicators.includes(value), value);
  }
  assert.not.ok(indicators.includes("dl.example.com"));
  assert.not.ok(indicators.includes("connectivity.example.com"));
});

t("resolved address that is a block keeps its score", () => {
  const address = findOne(
    MAPPED.objects,
    "ipv4-addr",
    (ip) => ip.value === "203.0.113.20",
  );
  const indicator = findOne(
    MAPPED.objects,
    "indicator",
    (object) => object.name === "203.0.113.20",
  );

  assert.is(address.x_opencti_score, 40);
  assert.is(indicator.x_opencti_score, 40);
});

t("repeated AS and country appear once", () => {
  const systems = ofType(MAPPED.objects, "autonomous-system")
    .filter((system) => system.number === 64501);
  const germany = ofType(MAPPED.objects, "location")
    .filter((location) => location.name === "Germany");

  assert.is(systems.length, 1);
  assert.is(germany.length, 1);
});

t("invalid AS number skipped with a problem", () => {
  const [problem] = problemsAt("blockSet[5].ipDetail.asn");

  assert.is(problem.value, -5);
  assert.match(problem.reason, "not an AS number");
  assert.not.ok(
    ofType(MAPPED.objects, "relationship").some((relationship) =>
      relationship.source_ref === ipId("203.0.113.99") &&
      relationship.relationship_type === "belongs-to"
    ),
  );
});

t("invalid country code skipped with a problem", () => {
  const [problem] = problemsAt("blockSet[5].ipDetail.countryIsoCode");

  assert.is(problem.value, "USA");
  assert.match(problem.reason, "ISO 3166-1 alpha-2");
  assert.not.ok(
    ofType(MAPPED.objects, "location").some((location) =>
      location.name === "United States"
    ),
  );
});

t("invalid address skips the lookup", () => {
  const [problem] = problemsAt("blockSet[6].ipDetail.ip");

  assert.is(problem.value, "203.0.113.300");
  assert.match(problem.reason, "not an IPv4 address");
  assert.not.ok(
    ofType(MAPPED.objects, "autonomous-system").some((system) =>
      system.number === 64504
    ),
  );
});

t("lookup without address skipped", () => {
  const [problem] = problemsAt("blockSet[7].ipDetail.ip");

  assert.match(problem.reason, "no resolved address");
  assert.not.ok(
    ofType(MAPPED.objects, "autonomous-system").some((system) =>
      system.number === 64505
    ),
  );
});

t("other address on an IPv4 block skipped", () => {
  const [problem] = problemsAt("blockSet[8].ipDetail.ip");

  assert.is(problem.value, "192.0.2.78");
  assert.match(problem.reason, "differs from the block's address");
  assert.not.ok(valuesOf(MAPPED.objects, "ipv4-addr").includes("192.0.2.78"));
});

t("fields of the wrong type dropped", () => {
  assert.is(problemsAt("blockSet[9].ipDetail.ip")[0].value, 12345);
  assert.is(problemsAt("blockSet[9].ipDetail.countryIsoCode")[0].value, 44);
  assert.is(problemsAt("blockSet[12].ipDetail")[0].value, "203.0.113.1");
});

t("non-integer AS number skipped", () => {
  const { objects, problems } = mapOk({
    ...BASE,
    blockSet: [{
      blockType: "IPv4 Address",
      data: "198.51.100.1",
      ipDetail: { asn: 1.5 },
    }, {
      blockType: "IPv4 Address",
      data: "198.51.100.2",
      ipDetail: { asn: "AS64500" },
    }, {
      blockType: "IPv4 Address",
      data: "198.51.100.3",
      ipDetail: { asn: 4294967296 },
    }, {
      blockType: "IPv4 Address",
      data: "198.51.100.4",
      ipDetail: { asn: 0 },
    }],
  });

  assert.is(ofType(objects, "autonomous-system").length, 0);
  assert.equal(problems.map((problem) => problem.value), [
    1.5,
    "AS64500",
    4294967296,
    0,
  ]);
});

t("country needs both code and name", () => {
  const { objects, problems } = mapOk({
    ...BASE,
    blockSet: [{
      blockType: "IPv4 Address",
      data: "198.51.100.1",
      ipDetail: { countryIsoCode: "US" },
    }, {
      blockType: "IPv4 Address",
      data: "198.51.100.2",
      ipDetail: { countryName: "Spain" },
    }],
  });

  assert.is(ofType(objects, "location").length, 0);
  assert.equal(problems, []);
});

t("email blocks have no lookup", () => {
  assert.not.ok(valuesOf(MAPPED.objects, "ipv4-addr").includes("203.0.113.5"));
  assert.not.ok(
    ofType(MAPPED.objects, "autonomous-system").some((system) =>
      system.number === 64508
    ),
  );
});

t("excluded block: no lookup", () => {
  const { objects } = mapOk({
    ...BASE,
    blockSet: [{
      blockType: "Domain Name",
      impact: "Minor",
      data: "c2.example.com",
      ipDetail: { ip: "203.0.113.7", asn: 64520 },
    }],
  }, { impactToExclude: ["Minor"] });

  assert.is(ofType(objects, "ipv4-addr").length, 0);
  assert.is(ofType(objects, "autonomous-system").length, 0);
});

t("every reference resolves", () => {
  assert.equal(danglingReferences(MAPPED.objects), []);
});

t.run();
