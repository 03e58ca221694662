import { suite } from "uvu";
import * as assert from "uvu/assert";
import { mapMalwareThreat, mapThreat } from "../../src/mapper/map_threat.ts";
import { stixObjectSchema } from "../../src/stix/types.ts";
import {
  corrupt,
  DEFAULT_OPTIONS,
  loadFixture,
  mapOk,
  ofType,
  valuesOf,
} from "./mapping_helpers.ts";

const t = suite("mapper: invalid values");

function problemAt(field: string) {
  const { problems } = mapOk(loadFixture("invalid-values"));
  const found = problems.filter((problem) => problem.field === field);
  assert.is(found.length, 1, `expected one problem at ${field}`);
  return found[0];
}

t("truncated IPv4 skipped with a warning", () => {
  const problem = problemAt("blockSet[0].data_1");

  assert.is(problem.threatId, "900004");
  assert.is(problem.value, "203.0.113");
  assert.match(problem.reason, "not an IPv4 address");
});

t("out-of-range IPv4 skipped", () => {
  assert.is(problemAt("blockSet[1].data_1").value, "198.51.100.300");
});

t("email without @ skipped", () => {
  const problem = problemAt("blockSet[3].data_1");

  assert.is(problem.value, "no-at-sign.example.com");
  assert.match(problem.reason, "no '@'");
});

t("empty URL skipped", () => {
  const problem = problemAt("blockSet[5].data_1.url");

  assert.is(problem.value, "");
  assert.match(problem.reason, "empty URL");
});

t("URL with blanks skipped", () => {
  assert.is(problemAt("blockSet[6].data").value, "http://bad example.com/a b");
});

t("block without a value skipped", () => {
  assert.match(problemAt("blockSet[7]").reason, "no value");
});

t("wildcard and blank domains skipped", () => {
  assert.is(problemAt("blockSet[8].data_1").value, "*example.com");
  assert.match(problemAt("blockSet[9].data_1").reason, "empty domain name");
});

t("valid values beside bad ones survive", () => {
  const { objects } = mapOk(loadFixture("invalid-values"));

  assert.equal(valuesOf(objects, "ipv4-addr"), ["198.51.100.7"]);
  assert.equal(valuesOf(objects, "email-addr"), ["valid.sender@example.org"]);
  assert.equal(valuesOf(objects, "url"), ["http://padded.example.com/x"]);
  assert.equal(valuesOf(objects, "domain-name"), []);
});

t("values are trimmed", () => {
  const { objects } = mapOk(loadFixture("invalid-values"));

  assert.ok(valuesOf(objects, "url").includes("http://padded.example.com/x"));
});

t("empty subject skipped", () => {
  const problem = problemAt("subjectSet[0].subject");

  assert.is(problem.value, "");
});

t("schema problems carry the threat id", () => {
  const { problems } = mapOk(loadFixture("odd-shapes"));

  for (const problem of problems) assert.is(problem.threatId, "900002");
  assert.ok(problems.some((problem) => problem.field === "blockSet[3].data_1"));
  assert.ok(problems.some((problem) => problem.field === "deliveryMechanisms"));
});

t("unknown block type skipped", () => {
  const { problems } = mapOk(loadFixture("odd-shapes"));
  const problem = problems.find((item) =>
    item.field === "blockSet[6].blockType"
  );

  assert.is(problem?.value, "ASN");
  assert.match(problem?.reason ?? "", "unknown block type");
});

t("no object carries an invalid input", () => {
  const { objects } = mapOk(loadFixture("invalid-values"));
  const text = JSON.stringify(objects);

  for (
    const bad of ['"md5"', '"dummy"', '203.0.113"', "no-at-sign", "*example"]
  ) {
    assert.not.ok(text.includes(bad), bad);
  }
});

t("not an object or no id fails", () => {
  for (const raw of [null, "text", 5, [], { label: "no id" }]) {
    const result = mapMalwareThreat(raw, DEFAULT_OPTIONS);
    assert.is(result.ok, false, JSON.stringify(raw));
    if (!result.ok) assert.ok(result.problems.length > 0);
  }
});

t("mapMalwareThreat refuses phish", () => {
  const direct = mapMalwareThreat(
    { id: 5, threatType: "PHISH", firstPublished: 1700000000000 },
    DEFAULT_OPTIONS,
  );

  assert.is(direct.ok, false);
  if (!direct.ok) assert.is(direct.problems[0].field, "threatType");
});

t("mapThreat routes phish and rejects others", () => {
  const phish = mapThreat(
    { id: 5, threatType: "PHISH", firstDate: 1700000000000 },
    DEFAULT_OPTIONS,
  );
  const other = mapThreat({ id: 5, threatType: "SPAM" }, DEFAULT_OPTIONS);

  assert.ok(phish.ok);
  if (phish.ok) assert.is(phish.threat.threatType, "phish");
  assert.is(other.ok, false);
  if (!other.ok) {
    assert.is(other.problems[0].field, "threatType");
    assert.match(other.problems[0].reason, "expected MALWARE or PHISH");
  }
});

t("mapThreat maps malware and untyped", () => {
  const typed = mapThreat(loadFixture("full-malware"), DEFAULT_OPTIONS);
  const untyped = mapThreat(
    { ...loadFixture("full-malware"), threatType: undefined },
    DEFAULT_OPTIONS,
  );
  const lower = mapThreat(
    { ...loadFixture("full-malware"), threatType: "malware" },
    DEFAULT_OPTIONS,
  );

  assert.ok(typed.ok);
  assert.ok(untyped.ok);
  assert.ok(lower.ok);
});

t("never throws on corrupted threats", () => {
  const junkValues = [
    null,
    0,
    -1,
    1.5,
    "",
    "x",
    [],
    {},
    [null],
    { a: 1 },
    true,
  ];
  const fixtures = ["full-malware", "odd-shapes", "invalid-values", "impacts"];
  let mapped = 0;

  for (const name of fixtures) {
    const fixture = loadFixture(name);
    for (let seed = 0; seed < 150; seed++) {
      const junk = junkValues[seed % junkValues.length];
      const raw = corrupt(fixture, junk, seed * 7919);
      const result = mapMalwareThreat(raw, DEFAULT_OPTIONS);
      if (!result.ok) continue;

      mapped += 1;
      for (const object of result.threat.objects) {
        const parsed = stixObjectSchema.safeParse(object);
        assert.ok(parsed.success, `${name} seed ${seed}: ${object.id}`);
      }
    }
  }
  assert.ok(mapped > 500, `only ${mapped} corrupted threats mapped`);
});

t("dates beyond a Date's range do not throw", () => {
  const result = mapMalwareThreat({
    ...loadFixture("full-malware"),
    firstPublished: 8.7e15,
    lastPublished: Number.MAX_SAFE_INTEGER,
  }, DEFAULT_OPTIONS);

  assert.is(result.ok, false);
  if (!result.ok) {
    const fields = result.problems.map((problem) => problem.field);
    assert.equal(fields, ["firstPublished", "lastPublished", "firstPublished"]);
    assert.match(result.problems[2].reason, "published date");
  }
});

t("one bad threat leaves others intact", () => {
  const results = [
    loadFixture("full-malware"),
    { id: "broken" },
    loadFixture("impacts"),
  ].map((raw) => mapThreat(raw, DEFAULT_OPTIONS));

  assert.equal(results.map((result) => result.ok), [true, false, true]);
  if (results[2].ok) {
    assert.ok(ofType(results[2].threat.objects, "report").length === 1);
  }
});

t.run();
