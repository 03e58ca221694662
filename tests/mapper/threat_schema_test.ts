import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parseMalwareThreat } from "../../src/threathq/threat_schema.ts";

const t = suite("mapper: threat schema");

function parsed(raw: unknown) {
  const result = parseMalwareThreat(raw);
  if (!result.ok) {
    assert.unreachable(`rejected: ${JSON.stringify(result.issues)}`);
    throw new Error("unreachable");
  }
  return result;
}

t("rejects values that are not objects", () => {
  for (const raw of [null, 42, "threat", [{ id: 1 }]]) {
    const result = parseMalwareThreat(raw);
    assert.is(result.ok, false, JSON.stringify(raw));
    assert.is(result.issues[0].field, "threat");
  }
});

t("rejects threats without an integer id", () => {
  for (const id of [undefined, "threat-382064", "382064", 3.5, null]) {
    const result = parseMalwareThreat({ id, label: "x" });
    assert.is(result.ok, false, JSON.stringify(id));
    assert.is(result.issues[0].field, "id");
    assert.is(result.issues[0].value, id);
  }
});

t("missing sets become empty lists", () => {
  const { threat, issues } = parsed({ id: 7 });

  assert.equal(threat.blockSet, []);
  assert.equal(threat.executableSet, []);
  assert.equal(threat.subjectSet, []);
  assert.equal(threat.naicsCodes, []);
  assert.equal(threat.secureEmailGatewaySet, []);
  assert.equal(issues, []);
});

t("null fields count as absent", () => {
  const { threat, issues } = parsed({
    id: 7,
    label: null,
    blockSet: null,
    lastPublished: null,
  });

  assert.is(threat.label, undefined);
  assert.is(threat.lastPublished, undefined);
  assert.equal(threat.blockSet, []);
  assert.equal(issues, []);
});

t("data_1 as string, object and partial object", () => {
  const { threat, issues } = parsed({
    id: 7,
    blockSet: [
      { blockType: "Domain Name", data_1: "example.com" },
      { blockType: "URL", data_1: { url: "http://example.com/a", host: "h" } },
      { blockType: "URL", data_1: { domain: "example.com" } },
    ],
  });

  assert.is(threat.blockSet[0].data_1, "example.com");
  assert.equal(threat.blockSet[1].data_1, {
    url: "http://example.com/a",
    host: "h",
  });
  assert.equal(threat.blockSet[2].data_1, { domain: "example.com" });
  assert.equal(issues, []);
});

t("a field of the wrong type is dropped alone", () => {
  const { threat, issues } = parsed({
    id: 7,
    label: 12,
    blockSet: [{ blockType: "IPv4 Address", data: "192.0.2.1", data_1: 5 }],
  });

  assert.is(threat.label, undefined);
  assert.is(threat.blockSet[0].data, "192.0.2.1");
  assert.is(threat.blockSet[0].data_1, undefined);
  assert.is(issues.length, 2);
  assert.is(issues[0].field, "label");
  assert.is(issues[1].field, "blockSet[0].data_1");
  assert.is(issues[1].value, 5);
});

t("impacts are read in any case", () => {
  const { threat, issues } = parsed({
    id: 7,
    blockSet: [
      { impact: "major" },
      { impact: " None " },
      { impact: "High" },
    ],
    executableSet: [{ severityLevel: "MODERATE" }],
  });

  assert.is(threat.blockSet[0].impact, "Major");
  assert.is(threat.blockSet[1].impact, "None");
  assert.is(threat.blockSet[2].impact, undefined);
  assert.is(threat.executableSet[0].severityLevel, "Moderate");
  assert.is(issues.length, 1);
  assert.is(issues[0].field, "blockSet[2].impact");
  assert.match(issues[0].reason, "Major, Moderate, Minor, None");
});

t("singular family on blocks, list at threat level", () => {
  const { threat, issues } = parsed({
    id: 7,
    blockSet: [{ malwareFamily: { familyName: "ExampleLoader" } }],
    malwareFamilySet: [{ familyName: "ExampleLoader", description: "d" }],
  });

  assert.is(threat.blockSet[0].malwareFamily?.familyName, "ExampleLoader");
  assert.is(threat.malwareFamilySet[0].familyName, "ExampleLoader");
  assert.equal(issues, []);
});

t("bad items are left out, others kept", () => {
  const { threat, issues } = parsed({
    id: 7,
    blockSet: ["text", { blockType: "Email", data: "a@example.com" }],
    subjectSet: [{ totalCount: 1 }, { subject: "Hello" }],
    deliveryMechanisms: "OfficeMacro",
  });

  assert.is(threat.blockSet.length, 1);
  assert.equal(threat.subjectSet.map((entry) => entry.subject), ["Hello"]);
  assert.equal(threat.deliveryMechanisms, []);
  assert.equal(issues.map((issue) => issue.field), [
    "blockSet[0]",
    "subjectSet[0]",
    "deliveryMechanisms",
  ]);
});

t("times outside a Date's range are dropped", () => {
  const { threat, issues } = parsed({
    id: 7,
    firstPublished: -1,
    lastPublished: 1.5,
    blockSet: [],
    executableSet: [{ dateEntered: 8.7e15 }],
  });

  assert.is(threat.firstPublished, undefined);
  assert.is(threat.lastPublished, undefined);
  assert.is(threat.executableSet[0].dateEntered, undefined);
  assert.is(issues.length, 3);
});

t.run();
