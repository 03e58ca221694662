import { suite } from "uvu";
import * as assert from "uvu/assert";
import { identityId, scoId } from "../../src/stix/ids.ts";
import {
  findOne,
  loadFixture,
  mapOk,
  ofType,
  valuesOf,
} from "./mapping_helpers.ts";

const t = suite("mapper: observables");

const AUTHOR_ID = identityId("Cofense ThreatHQ", "organization");

const THREAT_REFERENCE = {
  source_name: "Cofense ThreatHQ",
  external_id: "900001",
  url: "https://www.threathq.com/p42/search/default?m=900001",
  description: "Invoice - ExampleLoader",
};

t("every block type becomes its observable", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  const scored = (type: "url" | "domain-name" | "ipv4-addr" | "email-addr") =>
    ofType(objects, type)
      .filter((object) => object.x_opencti_score !== undefined)
      .map((object) => object.value);

  assert.equal(scored("url"), [
    "http://payload.example.com/files/inv.bin?id=7",
    'https://docs.example.net/view/it\'s-"here"',
  ]);
  assert.equal(scored("domain-name"), ["c2.example.org"]);
  assert.equal(scored("ipv4-addr"), ["198.51.100.23"]);
  assert.equal(scored("email-addr"), ["drop@example.com"]);
});

t("IP lookup adds unscored host and address", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  const host = findOne(
    objects,
    "domain-name",
    (domain) => domain.value === "payload.example.com",
  );
  const address = findOne(
    objects,
    "ipv4-addr",
    (ip) => ip.value === "192.0.2.10",
  );

  assert.is(host.x_opencti_score, undefined);
  assert.is(address.x_opencti_score, undefined);
  assert.equal(valuesOf(objects, "domain-name"), [
    "payload.example.com",
    "c2.example.org",
  ]);
});

t("url observable in full", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  const url = findOne(
    objects,
    "url",
    (object) => object.value.startsWith("http://payload"),
  );

  assert.equal(url, {
    type: "url",
    spec_version: "2.1",
    id: scoId("url", { value: url.value }),
    object_marking_refs: [
      "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
    ],
    x_opencti_created_by_ref: AUTHOR_ID,
    x_opencti_labels: ["ExampleLoader", "Payload"],
    x_opencti_description: "Location from which a payload is obtained",
    x_opencti_external_references: [THREAT_REFERENCE],
    value: "http://payload.example.com/files/inv.bin?id=7",
    x_opencti_score: 100,
  });
});

t("url from data_1.url, else data", () => {
  const { objects } = mapOk(loadFixture("odd-shapes"));
  const urls = valuesOf(objects, "url");

  assert.ok(urls.includes("http://gate.example.com/panel/gate.php"));
  assert.ok(
    urls.includes("http://gate.example.com/panel/login.php?next=%2Fhome"),
  );
  assert.not.ok(urls.includes("http://gate.example.com/short"));
});

t("object data_1 on a Domain block", () => {
  const { objects } = mapOk(loadFixture("odd-shapes"));

  assert.ok(valuesOf(objects, "domain-name").includes("panel.example.com"));
});

t("domain from data_1 parts without data", () => {
  const { objects } = mapOk({
    id: 1,
    firstPublished: 1700000000000,
    blockSet: [{
      blockType: "Domain Name",
      impact: "Major",
      data_1: { domain: "example.com", host: "cdn.example.com" },
    }],
  });

  assert.equal(valuesOf(objects, "domain-name"), ["cdn.example.com"]);
});

t("scores follow the impact", () => {
  const { objects } = mapOk(loadFixture("impacts"));
  const score = (value: string) =>
    findOne(objects, "domain-name", (domain) => domain.value === value)
      .x_opencti_score;

  assert.is(score("major.example.com"), 100);
  assert.is(score("moderate.example.com"), 70);
  assert.is(score("minor.example.com"), 40);
  assert.is(score("connectivity-check.example.net"), 0);
  assert.is(score("no-impact.example.com"), 100);
  assert.is(score("unknown-impact.example.com"), 100);
});

t("labels per block: family, mechanism, role", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  const infection = findOne(
    objects,
    "url",
    (url) => url.value.startsWith("https://docs"),
  );
  const email = findOne(objects, "email-addr");

  assert.equal(infection.x_opencti_labels, ["OfficeMacro", "InfURL"]);
  assert.equal(email.x_opencti_labels, ["SampleStealer", "IDinfo"]);
});

t("the same value twice merges", () => {
  const { objects } = mapOk(loadFixture("odd-shapes"));
  const domain = findOne(
    objects,
    "domain-name",
    (object) => object.value === "example.com",
  );

  assert.equal(domain.x_opencti_labels, ["C2", "SampleStealer"]);
  assert.is(domain.x_opencti_score, 100);
  assert.is(domain.x_opencti_description, "Second-level domain of the panel");
});

t("observables never carry SDO properties", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  const observableTypes = [
    "url",
    "domain-name",
    "ipv4-addr",
    "email-addr",
    "file",
    "email-message",
  ];

  for (const object of objects) {
    if (!observableTypes.includes(object.type)) continue;
    for (const key of ["created_by_ref", "labels", "description"]) {
      assert.not.ok(key in object, `${object.id} has ${key}`);
    }
    assert.not.ok("external_references" in object, object.id);
    assert.not.ok("x_opencti_main_observable_type" in object, object.id);
  }
});

t("file with name and accepted hashes", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  const file = findOne(
    objects,
    "file",
    (object) => object.name === "invoice_2024.doc",
  );

  assert.equal(Object.keys(file.hashes ?? {}), [
    "MD5",
    "SHA-1",
    "SHA-256",
    "SHA-512",
  ]);
  assert.is(file.hashes?.MD5, "0123456789abcdef0123456789abcdef");
  assert.equal(file.x_opencti_labels, ["OfficeMacro", "Attachment"]);
  assert.is(file.x_opencti_score, 100);
  assert.is(
    file.id,
    scoId("file", { hashes: file.hashes, name: "invoice_2024.doc" }),
  );
});

t("placeholder hashes are dropped", () => {
  const mapped = mapOk(loadFixture("invalid-values"));
  const placeholder = findOne(
    mapped.objects,
    "file",
    (file) => file.name === "placeholder.zip",
  );
  const partly = findOne(
    mapped.objects,
    "file",
    (file) => file.name === "partly-valid.exe",
  );

  assert.not.ok("hashes" in placeholder);
  assert.equal(partly.hashes, {
    "SHA-256":
      "abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd",
  });
  const fields = mapped.problems.map((problem) => problem.field);
  assert.ok(fields.includes("executableSet[0].md5Hex"));
  assert.ok(fields.includes("executableSet[1].sha512Hex"));
});

t("file with neither hash nor name skipped", () => {
  const mapped = mapOk(loadFixture("invalid-values"));
  const files = ofType(mapped.objects, "file").map((file) => file.name);
  const skipped = mapped.problems.filter((problem) =>
    problem.reason.includes("neither a valid")
  );

  assert.equal(files, [
    "placeholder.zip",
    "partly-valid.exe",
    "uppercase-md5.bin",
  ]);
  assert.equal(skipped.map((problem) => problem.field), [
    "executableSet[2]",
    "executableSet[3]",
  ]);
});

t("subjects become email messages", () => {
  const { objects } = mapOk(loadFixture("full-malware"));
  const messages = ofType(objects, "email-message");

  assert.equal(messages.map((message) => message.subject), [
    'Invoice "Q2-2024" due \\ urgent',
    "Rechnung fällig – Zahlung überfällig 💶",
    "Payment it's 'overdue'",
  ]);
  for (const message of messages) {
    assert.is(message.is_multipart, false);
    assert.is(message.id, scoId("email-message", { subject: message.subject }));
    assert.equal(message.x_opencti_labels, [
      "ExampleLoader",
      "SampleStealer",
      "OfficeMacro",
      "JSDropper",
    ]);
    assert.not.ok("x_opencti_score" in message);
  }
});

t("repeated subject kept once", () => {
  const { objects } = mapOk(loadFixture("odd-shapes"));

  assert.is(ofType(objects, "email-message").length, 1);
});

t("excluded impacts leave blocks and files out", () => {
  const { objects } = mapOk(loadFixture("impacts"), {
    impactToExclude: ["None", "Minor"],
  });

  assert.equal(valuesOf(objects, "domain-name"), [
    "major.example.com",
    "moderate.example.com",
    "no-impact.example.com",
    "unknown-impact.example.com",
  ]);
  assert.equal(valuesOf(objects, "ipv4-addr"), []);
  assert.equal(valuesOf(objects, "url"), []);
  assert.equal(ofType(objects, "file").map((file) => file.name), [
    "major.exe",
    "no-severity.js",
  ]);
  assert.is(ofType(objects, "email-message").length, 1);
});

t("missing impact is excluded as Major", () => {
  const { objects } = mapOk(loadFixture("impacts"), {
    impactToExclude: ["Major"],
  });
  const domains = valuesOf(objects, "domain-name");

  assert.not.ok(domains.includes("no-impact.example.com"));
  assert.not.ok(
    ofType(objects, "file").some((file) => file.name === "no-severity.js"),
  );
  assert.ok(domains.includes("minor.example.com"));
});

t("excluded blocks add no report labels", () => {
  const { objects } = mapOk(loadFixture("impacts"), {
    impactToExclude: ["None"],
  });
  const report = findOne(objects, "report");

  assert.not.ok(report.labels?.includes("IPCheck"));
  assert.ok(report.labels?.includes("C2"));
});

t.run();
